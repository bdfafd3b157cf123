"""The app's responsiveness.

    python bench/bench_tui.py first-frame [--repeat 5]
    python bench/bench_tui.py keys-while-training [--presses 20]

`first-frame`: `workbench` started in a pseudo-terminal, seconds until its first frame (the
title) is on screen, against Textual's own minimal app (one Static) started the same way.
`keys-while-training`: the app (headless pilot) trains simple-cnn on the embedded sample in its
worker; each key press switches screens, timed from the press until the screen has changed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine

MINIMAL_APP = """
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("hello minimal")

Minimal().run()
"""


def time_to_text(command: list[str], marker: bytes, timeout: float = 30) -> float:
    """Start ``command`` on a pty (120x40) and return seconds until ``marker`` is printed."""
    main, child = pty.openpty()
    os.set_blocking(main, False)
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color"}
    start = time.perf_counter()
    process = subprocess.Popen(command, stdin=child, stdout=child, stderr=child, env=env,
                               close_fds=True)
    seen = b""
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([main], [], [], 0.01)
            if ready:
                try:
                    seen += os.read(main, 65536)
                except OSError:
                    break
                if marker in seen:
                    return time.perf_counter() - start
        raise RuntimeError(f"{command[0]} never showed {marker!r}")
    finally:
        process.kill()
        process.wait()
        os.close(main)
        os.close(child)


def first_frame(args) -> None:
    engine = str(Path(sys.executable).with_name("workbench"))
    ours, minimal = [], []
    for _ in range(args.repeat):
        minimal.append(time_to_text([sys.executable, "-c", MINIMAL_APP], b"hello minimal"))
        ours.append(time_to_text([engine], b"Digit Workbench"))
    m, o = statistics.median(minimal), statistics.median(ours)
    print(f"machine: {machine()}; median of {args.repeat}, each a new process on a pty")
    print(f"| Textual minimal app (one Static) | {m:.3f} s |")
    print(f"| workbench (Data screen, data loading in a worker) | {o:.3f} s |")
    print(f"ratio: {o / m:.2f}x; runs: minimal {[round(t, 3) for t in minimal]}, "
          f"workbench {[round(t, 3) for t in ours]}")


async def keys_while_training(presses: int) -> list[float]:
    from textual import events
    from textual.widgets import Input, Select

    from workbench.engine.events import BatchEnded
    from workbench.tui.app import WorkbenchApp
    from workbench.tui.messages import TrainingEvent

    app = WorkbenchApp()
    latencies = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.press("t")
        app.screen.query_one("#model", Select).value = "simple-cnn"
        app.screen.query_one("#epochs", Input).value = "30"
        batches = []
        original = type(app.screen).on_training_event

        def count(screen, message: TrainingEvent):
            if isinstance(message.event, BatchEnded):
                batches.append(message.event)
            original(screen, message)

        type(app.screen).on_training_event = count
        await pilot.press("g")
        while not batches:
            await asyncio.sleep(0.05)
        for _ in range(presses):
            target = "data" if app.current_mode == "train" else "train"
            key = "d" if target == "data" else "t"
            start = time.perf_counter()
            app.post_message(events.Key(key, key))
            while app.current_mode != target:
                await asyncio.sleep(0.001)
            latencies.append(time.perf_counter() - start)
            await asyncio.sleep(0.2)
        trained = len(batches)
        app.training_stop.set()
        await pilot.app.workers.wait_for_complete()
    print(f"batch events during the presses: {trained}")
    return latencies


def keys(args) -> None:
    with tempfile.TemporaryDirectory() as work:
        os.chdir(work)
        latencies = asyncio.run(keys_while_training(args.presses))
    latencies_ms = sorted(1000 * t for t in latencies)
    print(f"machine: {machine()}; {len(latencies_ms)} screen switches while simple-cnn trains")
    print(f"| key -> screen switched, median | {statistics.median(latencies_ms):.0f} ms |")
    print(f"| 90th percentile | {latencies_ms[int(0.9 * len(latencies_ms)) - 1]:.0f} ms |")
    print(f"| max | {latencies_ms[-1]:.0f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="bench", required=True)
    p = sub.add_parser("first-frame")
    p.add_argument("--repeat", type=int, default=5)
    p = sub.add_parser("keys-while-training")
    p.add_argument("--presses", type=int, default=20)
    args = parser.parse_args()
    {"first-frame": first_frame, "keys-while-training": keys}[args.bench](args)


if __name__ == "__main__":
    main()
