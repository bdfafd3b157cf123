"""What training members at once on Ray costs and gains: a whole `workbench-engine cv` command
(start to exit) with --parallel 1 (in process, no Ray) against --parallel N (a Ray of this
machine, started and stopped by the command), and Ray's own start and stop.

    python bench/bench_scaleout.py [--parallel 1 2 3] [--repeat 3] [--data ZIP]
        [--flags "--model linear --epochs 2 --folds 3"]

On a CPU, with the default tiny CV, it measures the overhead (Ray's start, a worker process and
a Keras import per member); on a GPU machine, with a real recipe (e.g. --flags "--preset
kaggle-best --epochs 3" --parallel 1 5 10 --data the zip), what packing folds on the GPU gains.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

ENGINE = [sys.executable, "-m", "workbench.cli"]


def timed_cv(flags: list[str], parallel: int) -> float:
    """Seconds of one cv command in a fresh folder (its runs and submissions there)."""
    with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as folder:
        start = time.perf_counter()
        done = subprocess.run([*ENGINE, "cv", *flags, "--parallel", str(parallel),
                               "--name", "bench"], cwd=folder, capture_output=True, text=True,
                              env={**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})
        seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"cv --parallel {parallel} failed: {done.stderr.strip()[-400:]}")
    return seconds


RAY_START = """
import os, time
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
start = time.perf_counter()
import ray
imported = time.perf_counter()
ray.init(num_cpus=os.cpu_count(), object_store_memory=512 << 20, include_dashboard=False,
         log_to_driver=False, logging_level="ERROR")
started = time.perf_counter()
ray.shutdown()
print(imported - start, started - imported, time.perf_counter() - started)
"""


def ray_start() -> tuple[float, float, float]:
    """Seconds to import Ray, start a Ray of this machine, and stop it (a fresh process)."""
    done = subprocess.run([sys.executable, "-c", RAY_START], capture_output=True, text=True,
                          check=True)
    imported, started, stopped = map(float, done.stdout.split()[-3:])
    return imported, started, stopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", help="default: the embedded sample")
    parser.add_argument("--flags", default="--model linear --epochs 2 --folds 3")
    args = parser.parse_args()
    data = str(Path(args.data).resolve()) if args.data else None  # each run has its own folder
    flags = shlex.split(args.flags) + (["--data", data] if data else [])
    print(f"# cv {args.flags} ({args.data or 'the embedded sample'}); {machine()}; "
          f"median of {args.repeat}, {time.strftime('%Y-%m-%d')}")
    starts = [ray_start() for _ in range(args.repeat)]
    print("Ray alone: import {:.2f} s, start {:.2f} s, stop {:.2f} s".format(
        *(statistics.median(part) for part in zip(*starts))))
    print("\n| --parallel | whole command (s) | against --parallel 1 |\n|---|---|---|")
    medians: dict[int, float] = {}
    for parallel in args.parallel:
        medians[parallel] = statistics.median(timed_cv(flags, parallel)
                                              for _ in range(args.repeat))
        base = medians.get(1)
        ratio = f"{medians[parallel] / base:.2f}x the time" if base else "-"
        print(f"| {parallel} | {medians[parallel]:.1f} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
