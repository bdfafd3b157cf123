"""Any benchmark here, before and after: the same command on an older commit's code and on
this tree's, on the same machine and data, in one run, each figure with its ratio.

    python bench/compare.py --base REV [--repeat N] -- bench/bench_train.py speed

The benchmark script is this tree's (so its options are the same on both sides); only the
``workbench`` package it imports comes from REV (a detached git worktree, made and removed
here). The sides alternate, base first, ``--repeat`` times. Every Markdown table row the
benchmark prints is matched by its text cells; each number (``1,410``, ``26.8 s``, ``99.14%``)
becomes "before -> after (ratio)", the median over the repeats. A benchmark that prints no
table still runs: its output is shown side by side.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import machine

ROOT = Path(__file__).resolve().parents[1]
# A cell that starts with a number ("1,410", "26.8 s", "99.14% (3 epochs)") is a figure.
NUMBER = re.compile(r"^\s*(-?[\d,]*\.?\d+)\s*(%|s|x|ms|GFLOP/s|MB|GB)?(\s|$)")


def run_side(code: Path, command: list[str]) -> str:
    """The benchmark's output with ``code``'s workbench package first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(code), *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True,
                            text=True)
    if result.returncode:
        sys.exit(f"{' '.join(command)} failed on {code}:\n{result.stderr[-2000:]}")
    return result.stdout


def table_rows(output: str) -> dict[tuple[str, ...], list[str]]:
    """Each Markdown table row (not the header rule) keyed by its text cells."""
    rows: dict[tuple[str, ...], list[str]] = {}
    header: list[str] = []
    for line in output.splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= set("-: "):
            continue
        if not header:
            header = cells
            continue
        key = tuple(cell for cell in cells if not NUMBER.match(cell))
        rows[(*key, *header)] = cells
    return rows


def number(cell: str) -> float | None:
    match = NUMBER.match(cell)
    return float(match.group(1).replace(",", "")) if match else None


def compare(before: list[str], after: list[str]) -> list[str]:
    """The after row, each number cell as "before -> after (ratio)"."""
    cells = []
    for old, new in zip(before, after):
        a, b = number(old), number(new)
        if a is None or b is None:
            cells.append(new)
        else:
            ratio = f"{b / a:.2f}x" if a else "n/a"
            cells.append(f"{old} -> {new} ({ratio})")
    return cells


def median_cells(rows: list[list[str]]) -> list[str]:
    """Cell by cell, the median of the numbers over the repeats (text cells from the first)."""
    cells = []
    for column in zip(*rows):
        values = [number(cell) for cell in column]
        if any(value is None for value in values):
            cells.append(column[0])
            continue
        middle = statistics.median(values)
        closest = min(column, key=lambda cell: abs(number(cell) - middle))
        cells.append(closest)
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the benchmark command after --")
    outputs: dict[str, list[str]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base),
                        args.base], check=True)
        try:
            for _ in range(args.repeat):
                outputs["before"].append(run_side(base, command))
                outputs["after"].append(run_side(ROOT, command))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                           check=False)
    revision = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.base],
                              capture_output=True, text=True).stdout.strip()
    print(f"machine: {machine()}; before: {revision}, after: this tree; "
          f"median of {args.repeat}, sides alternating")
    print(f"command: python {' '.join(command)}")
    before = [table_rows(output) for output in outputs["before"]]
    after = [table_rows(output) for output in outputs["after"]]
    keys = [key for key in after[0] if all(key in rows for rows in before + after)]
    if not keys:
        for side, texts in outputs.items():
            print(f"--- {side} ---\n{texts[-1].rstrip()}")
        return
    printed_header = None
    for key in keys:
        header = key[-len(after[0][key]):]
        if header != printed_header:
            print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
            printed_header = header
        row = compare(median_cells([rows[key] for rows in before]),
                      median_cells([rows[key] for rows in after]))
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
