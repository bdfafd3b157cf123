"""The app's responsiveness.

    python bench/bench_tui.py first-frame [--repeat 5]
    python bench/bench_tui.py keys-while-training [--presses 20]
                              [--trainers app process niced idle]

`first-frame`: `workbench` started in a pseudo-terminal, seconds until its first frame (the
title) is on screen, against Textual's own minimal app (one Static) started the same way.
`keys-while-training`: the app (headless pilot) while simple-cnn trains on the embedded sample,
started by the app (g) or as another process the app follows (--trainers); each key press
switches screens, timed from the press until the screen has changed. Before/after:
`bench/compare.py --base REV -- bench/bench_tui.py keys-while-training`.
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


TRAINERS = {
    "app": "the app itself (pressing g)",
    "process": "another process (workbench-engine train), the Train screen following its log",
    "niced": "another process at nice 10, the Train screen following its log",
    "idle": "nothing: the app's own cost of switching",
}


async def keys_while_training(presses: int, trainer: str) -> tuple[list[float], int, float]:
    """Screen switches (d, t, d, ...) while simple-cnn trains 30 epochs on the embedded sample
    as ``trainer`` says; each timed from the key event until the app's mode has changed. Also
    the app's CPU seconds per switch (the switch, and the 0.2 s after it in which the screen is
    drawn): on a loaded machine this moves far less than the latency does."""
    from textual import events
    from textual.widgets import Input, Select

    from workbench.engine.events import BatchEnded
    from workbench.tui.app import WorkbenchApp

    app = WorkbenchApp()
    latencies, batches, child = [], [], None
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.press("t")
        screen = app.screen
        screen.query_one("#model", Select).value = "simple-cnn"
        screen.query_one("#epochs", Input).value = "30"
        show = screen.show

        def count(event):
            if isinstance(event, BatchEnded):
                batches.append(event)
            show(event)

        screen.show = count
        if trainer == "app":
            await pilot.press("g")
        elif trainer in ("process", "niced"):
            engine = str(Path(sys.executable).with_name("workbench-engine"))
            child = subprocess.Popen(
                [engine, "train", "--model", "simple-cnn", "--epochs", "30"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=(lambda: os.nice(10)) if trainer == "niced" else None)
        while not batches and trainer != "idle":
            await asyncio.sleep(0.05)
        cpu = time.process_time()
        for _ in range(presses):
            target = "data" if app.current_mode == "train" else "train"
            key = "d" if target == "data" else "t"
            start = time.perf_counter()
            app.post_message(events.Key(key, key))
            while app.current_mode != target:
                await asyncio.sleep(0.001)
            latencies.append(time.perf_counter() - start)
            await asyncio.sleep(0.2)
        cpu = (time.process_time() - cpu) / presses
        trained = len(batches)
        app.training_stop.set()
        if child is not None:
            child.terminate()
            child.wait()
        await pilot.app.workers.wait_for_complete()
    return latencies, trained, cpu


def keys(args) -> None:
    print(f"machine: {machine()}; {args.presses} screen switches (d/t) while simple-cnn trains "
          "30 epochs on the embedded sample; ms from the key event to the switched screen")
    print("| simple-cnn trained by | median | 90th percentile | max | app CPU a switch | "
          "batch events seen |")
    print("|---|---|---|---|---|---|")
    for trainer in args.trainers:
        with tempfile.TemporaryDirectory() as work:
            os.chdir(work)
            latencies, trained, cpu = asyncio.run(keys_while_training(args.presses, trainer))
        ms = sorted(1000 * t for t in latencies)
        print(f"| {TRAINERS[trainer]} | {statistics.median(ms):.0f} ms | "
              f"{ms[int(0.9 * len(ms)) - 1]:.0f} ms | {ms[-1]:.0f} ms | {1000 * cpu:.0f} ms | "
              f"{trained} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="bench", required=True)
    p = sub.add_parser("first-frame")
    p.add_argument("--repeat", type=int, default=5)
    p = sub.add_parser("keys-while-training")
    p.add_argument("--presses", type=int, default=20)
    p.add_argument("--trainers", nargs="+", choices=TRAINERS, default=["app"])
    args = parser.parse_args()
    {"first-frame": first_frame, "keys-while-training": keys}[args.bench](args)


if __name__ == "__main__":
    main()
