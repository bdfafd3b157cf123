"""Loading train.csv (42,000 rows): parse + validate, the cache, and the libraries' own readers.

    python bench/bench_load.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from common import machine, median_time, require_zip

from workbench.engine.data.competition import load_competition
from workbench.engine.data.csvformat import parse_csv


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    kaggle_zip = require_zip()
    work = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    cache = work / "cache"
    os.environ["WORKBENCH_CACHE_DIR"] = str(cache)
    with zipfile.ZipFile(kaggle_zip) as archive:
        data = archive.read("train.csv")
    train_csv = work / "train.csv"
    train_csv.write_bytes(data)
    clear = lambda: shutil.rmtree(cache, ignore_errors=True)  # noqa: E731
    r = args.repeat
    rows = {
        "numpy.loadtxt(dtype=uint8), bytes in memory": median_time(
            lambda: np.loadtxt(io.BytesIO(data), delimiter=",", dtype=np.uint8, skiprows=1), r),
        "pandas.read_csv(dtype=uint8), bytes in memory": median_time(
            lambda: pd.read_csv(io.BytesIO(data), dtype=np.uint8).to_numpy(), r),
        "workbench parse_csv (parse + validate), bytes in memory": median_time(
            lambda: parse_csv(data, "train.csv", True), r),
        "workbench load train.csv file, no cache": median_time(
            lambda: load_competition(train_csv), r, setup=clear),
        "workbench load train.csv file, cached": median_time(
            lambda: load_competition(train_csv), r),
        "workbench load Kaggle zip (train + test), no cache": median_time(
            lambda: load_competition(kaggle_zip), r, setup=clear),
        "workbench load Kaggle zip (train + test), cached": median_time(
            lambda: load_competition(kaggle_zip), r),
    }
    shutil.rmtree(work)
    print(f"machine: {machine()}; median of {r}")
    print("| what | seconds |\n|---|---|")
    for name, seconds in rows.items():
        print(f"| {name} | {seconds:.3f} |")
    file_ratio = rows["workbench load train.csv file, no cache"] / rows[
        "workbench load train.csv file, cached"]
    zip_ratio = rows["workbench load Kaggle zip (train + test), no cache"] / rows[
        "workbench load Kaggle zip (train + test), cached"]
    print(f"\ncache speed-up: train.csv {file_ratio:.0f}x, Kaggle zip {zip_ratio:.0f}x")


if __name__ == "__main__":
    main()
