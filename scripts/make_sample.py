"""Make the embedded sample: 5,000 labelled + 1,000 unlabelled real rows from Kaggle's zip.

    python scripts/make_sample.py ../shared/digit-recognizer/digit-recognizer.zip

Rows are copied byte for byte (a seeded random choice, in file order), so the sample has
exactly the shape of the Kaggle download: train.csv, test.csv, sample_submission.csv.
"""

import argparse
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "workbench/engine/sample/digit-recognizer-sample.zip"


def pick(lines: list[bytes], n: int, seed: int) -> list[bytes]:
    rows = np.sort(np.random.default_rng(seed).choice(len(lines) - 1, n, replace=False)) + 1
    return [lines[0], *(lines[i] for i in rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kaggle_zip", type=Path)
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--test", type=int, default=1000)
    args = parser.parse_args()
    with zipfile.ZipFile(args.kaggle_zip) as source:
        train = pick(source.read("train.csv").splitlines(), args.train, seed=0)
        test = pick(source.read("test.csv").splitlines(), args.test, seed=1)
    submission = [b"ImageId,Label"] + [b"%d,0" % i for i in range(1, args.test + 1)]
    tmp = OUT.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for name, lines in (("train.csv", train), ("test.csv", test),
                            ("sample_submission.csv", submission)):
            out.writestr(name, b"\n".join(lines) + b"\n")
    tmp.replace(OUT)
    print(f"{OUT}: {OUT.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
