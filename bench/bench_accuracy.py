"""Accuracy against time: minutes of training to 99.0 / 99.5 / 99.6% validation accuracy.

    python bench/bench_accuracy.py report RUN [RUN ...]
    python bench/bench_accuracy.py presets [--presets NAME ...] [--model strong-cnn] [--epochs 6]
    python bench/bench_accuracy.py misses RUN [RUN ...] [--last] [--png FILE]
    python bench/bench_accuracy.py cv-report RUNS_DIR [--against NAME]

`report` reads finished runs' history.csv (each epoch's seconds: fit + validation, not the few
seconds of start-up) and prints, per run, the training minutes until validation accuracy first
reached each mark, the best and the last epoch's accuracy. `presets` trains each preset on
Kaggle's train.csv (10% stratified validation, seed 0) for --epochs, then reports those runs.
`misses` lists the held-out rows that the average of the runs gets wrong, with how many of the
runs miss each, and draws them (with label, prediction and confidence) into a PNG sheet; with
`--last` it uses each run's last.keras instead of best.keras (which was chosen on those rows).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
from common import machine, require_zip

from workbench.engine.runs import run as runs
from workbench.engine.store import files
from workbench.engine.training.config import TrainConfig

MARKS = (0.990, 0.995, 0.996)


def report(paths: list[Path]) -> None:
    print(f"machine: {machine()}; training minutes (sum of epoch times) to each mark")
    print("| run | recipe | epochs | " + " | ".join(f"to {100 * m:.1f}%" for m in MARKS)
          + " | best | last | minutes |")
    print("|---|---|---|" + "---|" * len(MARKS) + "---|---|---|")
    for path in paths:
        config = files.read_json(path / "config.json")
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
    from workbench.engine.data.competition import load_competition
    from workbench.engine.recipes import PRESETS
    from workbench.engine.training.fit import train

    competition = load_competition(require_zip())
    done = []
    slow = ("kaggle-best", "kaggle-lite", "deotte")
    for name in args.presets or [p for p in PRESETS if p not in slow]:
        config = TrainConfig(preset=name, model=args.model, epochs=args.epochs)
        done.append(train(config, runs_dir=args.runs_dir, competition=competition).run)
    report(done)


def misses(paths: list[Path], png: Path | None, last: bool) -> None:
    from workbench.engine.results.review import review_predictions

    members = [_held_out(path, last) for path in paths]
    if any(not np.array_equal(ids, members[0][2]) for _, _, ids in members):
        raise SystemExit("the runs hold out different rows; give runs of one split.")
    probabilities = np.mean([p for p, _, _ in members], axis=0)
    labels, ids = members[0][1], members[0][2]
    review = review_predictions(probabilities, labels, ids)
    wrong = [set(ids[p.argmax(1) != labels].tolist()) for p, _, _ in members]
    print(f"checkpoints: {'last' if last else 'best'}.keras")
    print(f"misses per run: {[len(w) for w in wrong]}; the average misses "
          f"{len(review.mistakes)} of {len(labels):,} ({100 * review.accuracy:.2f}%)")
    print("| train row | label | predicted | confidence | runs that miss it |")
    print("|---|---|---|---|---|")
    for m in review.mistakes:
        print(f"| {m.id} | {m.label} | {m.predicted} | {m.confidence:.2f} | "
              f"{sum(m.id in w for w in wrong)} of {len(wrong)} |")
    if png:
        data = files.read_json(paths[0] / "config.json").get("data")
        _sheet(review.mistakes, data, png)


def cv_report(runs_dir: Path, against: str | None) -> None:
    from workbench.engine.plans.cv import cv_status, list_cvs

    names = list_cvs(runs_dir)
    tests = {}
    for name in names:
        try:
            with np.load(runs_dir / "cv" / name / "test.npz") as saved:
                tests[name] = saved["probabilities"].argmax(axis=1)
        except OSError:
            pass
    base = against or next(iter(tests), None)
    print(f"machine: {machine()}; OOF = out-of-fold accuracy of the folds' last epochs")
    print("| CV | recipe | OOF | 95% CI | misses | folds | train min | wall min | suspects "
          f"| test rows differing from {base} |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        state = cv_status(name, runs_dir)
        recipe = files.read_json(runs_dir / "cv" / f"{name}.json").get("recipe", {})
        statuses = [files.read_json(run / "status.json") for run in state.members if run]
        wall = (max(s.get("updated", 0) for s in statuses)
                - min(s.get("started", 0) for s in statuses)) / 60 if statuses else 0
        shown = (" + ".join(state.combine) if state.combine else
                 f"{recipe.get('model')} {recipe.get('optimizer')} {recipe.get('learning_rate'):g}"
                 f" {recipe.get('schedule')} b{recipe.get('batch_size')} e{recipe.get('epochs')}"
                 + (" pseudo" if recipe.get("pseudo_labels") else ""))
        summary = state.summary
        if summary is None:
            print(f"| {name} | {shown} | - | - | - | {sum(state.finished)} of "
                  f"{len(state.finished)} done | {state.seconds / 60:.1f} | {wall:.1f} | - | - |")
            continue
        low, high = summary.interval
        differ = (int((tests[name] != tests[base]).sum())
                  if name in tests and base in tests else "-")
        print(f"| {name} | {shown} | {100 * summary.accuracy:.3f}% | {100 * low:.3f}-"
              f"{100 * high:.3f}% | {round(summary.rows * (1 - summary.accuracy))} | "
              f"{', '.join(f'{100 * a:.2f}' for a in summary.fold_accuracies)} | "
              f"{summary.seconds / 60:.1f} | {wall:.1f} | {summary.suspects} | {differ} |")


def _held_out(run: Path, last: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A run's probabilities, labels and 1-based train ids on its held-out rows."""
    from workbench.engine.training.predict import predict_checkpoint, predict_run

    p = predict_checkpoint(run, "last.keras") if last else predict_run(run)
    return p.val_probabilities, p.val_labels.astype(int), p.val_ids.astype(int)


def _sheet(mistakes, data: str | None, png: Path, scale: int = 4) -> None:
    """The missed digits side by side, each captioned "row label->predicted confidence"."""
    from PIL import Image, ImageDraw

    from workbench.engine.data.competition import load_competition

    images = load_competition(data).train_images  # the data the runs trained on
    cell = 28 * scale + 8
    sheet = Image.new("L", (cell * len(mistakes), 28 * scale + 16), 255)
    draw = ImageDraw.Draw(sheet)
    for k, m in enumerate(mistakes):
        digit = Image.fromarray(255 - images[m.id - 1]).resize((28 * scale, 28 * scale))
        sheet.paste(digit, (k * cell, 0))
        draw.text((k * cell, 28 * scale + 2), f"{m.id} {m.label}->{m.predicted} "
                  f"{m.confidence:.2f}", fill=0)
    sheet.save(png)
    print(f"wrote {png}")


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
    p = sub.add_parser("misses")
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--png", type=Path)
    p.add_argument("--last", action="store_true", help="use last.keras, not best.keras")
    p = sub.add_parser("cv-report")
    p.add_argument("runs_dir", type=Path)
    p.add_argument("--against", help="the CV whose test predictions the others are compared to")
    args = parser.parse_args()
    if args.bench == "cv-report":
        cv_report(args.runs_dir, args.against)
    elif args.bench == "report":
        report(args.runs)
    elif args.bench == "misses":
        misses(args.runs, args.png, args.last)
    else:
        presets(args)


if __name__ == "__main__":
    main()
