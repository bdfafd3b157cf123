"""Accuracy against time: minutes of training to 99.0 / 99.5 / 99.6% validation accuracy.

    python bench/bench_accuracy.py report RUN [RUN ...]
    python bench/bench_accuracy.py presets [--presets NAME ...] [--model strong-cnn] [--epochs 6]

`report` reads finished runs' history.csv (each epoch's seconds: fit + validation, not the few
seconds of start-up) and prints, per run, the training minutes until validation accuracy first
reached each mark, the best and the last epoch's accuracy. `presets` trains each preset on
Kaggle's train.csv (10% stratified validation, seed 0) for --epochs, then reports those runs.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from common import machine, require_zip

from workbench.engine import runs
from workbench.engine.config import TrainConfig

MARKS = (0.990, 0.995, 0.996)


def report(paths: list[Path]) -> None:
    print(f"machine: {machine()}; training minutes (sum of epoch times) to each mark")
    print("| run | recipe | epochs | " + " | ".join(f"to {100 * m:.1f}%" for m in MARKS)
          + " | best | last | minutes |")
    print("|---|---|---|" + "---|" * len(MARKS) + "---|---|---|")
    for path in paths:
        config = runs.read_json(path / "config.json")
        history = runs.read_history(path)
        if not history:
            continue
        elapsed = list(itertools.accumulate(row["seconds"] or 0 for row in history))
        accuracy = [row["val_accuracy"] or 0 for row in history]
        cells = []
        for mark in MARKS:
            hit = next((i for i, a in enumerate(accuracy) if a >= mark), None)
            cells.append("-" if hit is None else f"{elapsed[hit] / 60:.1f} (ep {hit + 1})")
        recipe = (f"{config.get('preset') or ''} {config['model']} {config['optimizer']} "
                  f"{config['learning_rate']:g} {config['schedule']} batch {config['batch_size']}"
                  f" ls {config.get('label_smoothing') or 0:g} seed {config['seed']}").strip()
        print(f"| {path.name} | {recipe} | {len(history)} | {' | '.join(cells)} | "
              f"{100 * max(accuracy):.2f}% | {100 * accuracy[-1]:.2f}% | "
              f"{elapsed[-1] / 60:.1f} |", flush=True)


def presets(args) -> None:
    from workbench.engine.data import load_competition
    from workbench.engine.recipes import PRESETS
    from workbench.engine.training import train

    competition = load_competition(require_zip())
    done = []
    for name in args.presets or [p for p in PRESETS if p != "kaggle-best"]:
        config = TrainConfig(preset=name, model=args.model, epochs=args.epochs)
        done.append(train(config, runs_dir=args.runs_dir, competition=competition).run)
    report(done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="bench", required=True)
    p = sub.add_parser("report")
    p.add_argument("runs", nargs="+", type=Path)
    p = sub.add_parser("presets")
    p.add_argument("--presets", nargs="+")
    p.add_argument("--model", default="strong-cnn")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--runs-dir", type=Path, default=Path("runs/bench-presets"))
    args = parser.parse_args()
    if args.bench == "report":
        report(args.runs)
    else:
        presets(args)


if __name__ == "__main__":
    main()
