"""Helpers for the benchmarks: the Kaggle zip, medians, machine facts."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

KAGGLE_ZIP = Path(os.environ.get(
    "WORKBENCH_BENCH_ZIP",
    Path(__file__).resolve().parents[1] / "../shared/digit-recognizer/digit-recognizer.zip"))


def require_zip() -> Path:
    if not KAGGLE_ZIP.exists():
        sys.exit(f"benchmark needs Kaggle's digit-recognizer.zip at {KAGGLE_ZIP} "
                 "(or set WORKBENCH_BENCH_ZIP)")
    return KAGGLE_ZIP.resolve()


def median_time(run: Callable[[], object], repeat: int, setup: Callable[[], object] = lambda: None
                ) -> float:
    """Median wall time of ``run`` over ``repeat`` calls, ``setup`` untimed before each."""
    times = []
    for _ in range(repeat):
        setup()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
