"""The test suite's wall time and the CPU every process of it used, quiet or beside busy ones.

    python bench/bench_suite.py [--busy 2] [--runs 1] [-- PYTEST_ARGS]

``/usr/bin/time`` counts only the processes that the suite waits for: Ray's daemons and its
workers (re-parented away from the suite) and the warm fork server's children escape it, about
two fifths of the CPU. This samples every process in /proc three times a second instead and
sums each one's CPU by role (the pytest workers, the warm forks, Ray's workers, ...). Linux only.
``--busy N`` runs N ``while :; do :; done`` shells beside the suite throughout, as the suite's
"loaded" figure does.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from common import machine

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
ROLES = (  # the first whose part is in a process's command line names it
    ("exec(eval(sys.stdin", "pytest workers (in-process tests)"),
    ("forkserver", "warm forks (CLI commands, app children)"),
    ("ray/_private/workers", "Ray workers"),
    ("ray::", "Ray workers"),  # a worker titled by its task
    ("training.child", "real app children"),
    ("mypy", "mypy"),
    ("ray", "Ray services"),
    ("workbench", "real CLI and app processes"),
    ("pytest", "pytest (the main process)"),
)


def role(command: str) -> str:
    return next((name for part, name in ROLES if part in command), "other")


NOT_SUITE = ("busy", "running before")


class Sampler(threading.Thread):
    """CPU seconds of every process while it samples, summed by role: those started after it
    by what they run, those alive at its start as 'busy' (the shells) or 'running before'."""

    def __init__(self, busy: set[int]) -> None:
        super().__init__(daemon=True)
        self.busy, self.done = busy, threading.Event()
        self.seen: dict[tuple[str, str], int] = {}
        self.roles: dict[tuple[str, str], str] = {}
        self.seconds: collections.Counter[str] = collections.Counter()

    def sweep(self, first: bool = False) -> None:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                ticks, key = int(fields[11]) + int(fields[12]), (pid, fields[19])
                if key not in self.roles:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                    self.roles[key] = ("busy" if int(pid) in self.busy else "running before"
                                       if first else role(command.decode(errors="replace")))
            except (OSError, IndexError, ValueError):
                continue  # gone between the listing and the read
            if not first:
                self.seconds[self.roles[key]] += (ticks - self.seen.get(key, 0)) / TICKS
            self.seen[key] = ticks

    def run(self) -> None:
        self.sweep(first=True)
        while not self.done.wait(0.3):
            self.sweep()
        self.sweep()


def one_run(pytest_args: list[str], busy: int) -> tuple[float, int, str, collections.Counter]:
    shells = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(busy)]
    sampler = Sampler({shell.pid for shell in shells})
    sampler.start()
    start = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               *pytest_args], cwd=ROOT, capture_output=True, text=True)
    finally:
        wall = time.monotonic() - start
        for shell in shells:
            shell.kill()
        sampler.done.set()
        sampler.join()
    summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    return wall, done.returncode, summary, sampler.seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--busy", type=int, default=0, help="busy-loop shells beside the suite")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    print(f"{machine()}; {args.busy} busy processes beside the suite")
    walls = []
    for number in range(1, args.runs + 1):
        wall, code, summary, seconds = one_run(args.pytest_args, args.busy)
        walls.append(wall)
        suite = sum(value for name, value in seconds.items() if name not in NOT_SUITE)
        print(f"\nrun {number}: {wall:.0f} s wall, exit {code}: {summary}")
        print(f"  {suite:7.1f} s CPU, every process of the suite ({suite / wall:.2f} cores)")
        for name, value in seconds.most_common():
            print(f"  {value:7.1f}  {name}")
    if args.runs > 1:
        print(f"\nwall: median {statistics.median(walls):.0f} s of "
              f"{', '.join(f'{w:.0f}' for w in walls)}")


if __name__ == "__main__":
    main()
