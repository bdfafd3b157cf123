"""`workbench-engine data export-png` on all 70,000 images, then the resume (nothing to do).

    python bench/bench_export.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import machine, median_time, require_zip

ENGINE = Path(sys.executable).with_name("workbench-engine")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    kaggle_zip = require_zip()
    out = Path(tempfile.mkdtemp(prefix="wb-export-")) / "png"
    export = [str(ENGINE), "data", "export-png", str(out), "--data", str(kaggle_zip)]
    subprocess.run(export[:2] + ["info", "--data", str(kaggle_zip)], check=True,
                   capture_output=True)  # warm the array cache: time the export, not the parse
    run = lambda: subprocess.run(export, check=True, capture_output=True)  # noqa: E731
    full = median_time(run, args.repeat, setup=lambda: shutil.rmtree(out, ignore_errors=True))
    count = sum(1 for _ in out.rglob("*.png"))
    resume = median_time(run, args.repeat)
    shutil.rmtree(out.parent)
    print(f"machine: {machine()}; median of {args.repeat}")
    print(f"| export-png, all {count:,} PNGs | {full:.1f} s | {count / full:,.0f} files/s |")
    print(f"| export-png again (all present, resume) | {resume:.1f} s | |")


if __name__ == "__main__":
    main()
