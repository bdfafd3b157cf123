"""Training benchmarks on Kaggle's train.csv (42,000 rows; 10% stratified validation).

    python bench/bench_train.py overhead [--model simple-cnn] [--epochs 3] [--repeat 3]
    python bench/bench_train.py speed [--models simple-cnn strong-cnn] [--batch-sizes 128]
                                      [--precisions auto] [--epochs 2]
    python bench/bench_train.py to-accuracy --target 0.99 --recipe NAME:JSON ... [--limit-s 300]
                                            [--seeds 0 1 2 3 4]
    python bench/bench_train.py shell [--args "--preset fast"] [--repeat 3]

`overhead` compares `train()` (events, history, checkpoints every epoch) with a bare
`model.fit` of the same model, data and batch size: wall time of fit, median of --repeat.
`speed` reports samples/s (median epoch after the first). `to-accuracy` trains each recipe with
each seed until its validation accuracy first reaches --target and reports the wall time from
the start of training (data loaded, Keras imported), or gives up after --limit-s.
`shell` runs `workbench-engine train ARGS --data ZIP` as a new process in an empty folder (the
data cache warm) and reports its wall time, median of --repeat, split by the lines it prints:
to "Run ..." (Python, Keras, the data), to the last epoch's line (training), to the end
(predictions, the submission, the process's exit).
Peak memory: `/usr/bin/time -v workbench-engine train --model strong-cnn --epochs 1 --data ZIP`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import machine, require_zip

from workbench.engine.data.competition import load_competition
from workbench.engine.events import EpochEnded, TrainStarted
from workbench.engine.training.config import TrainConfig

VARIANTS = {
    "arrays": "bare model.fit, NumPy arrays (Keras' own input path)",
    "stream": "bare model.fit, one endless tf.data stream (backend.fit_inputs)",
    "engine": "workbench train: the stream + events, history.csv, checkpoints each epoch",
}


def overhead(args, competition) -> None:
    """Each variant in its own process (no leftovers between them), interleaved, --repeat times."""
    times = {variant: [] for variant in VARIANTS}
    for _ in range(args.repeat):
        for variant in VARIANTS:
            result = subprocess.run(
                [sys.executable, __file__, "fit-once", variant, "--model", args.model,
                 "--epochs", str(args.epochs)], capture_output=True, text=True, check=True)
            times[variant].append(float(result.stdout.strip().splitlines()[-1]))
    median = {variant: statistics.median(t) for variant, t in times.items()}
    print(f"machine: {machine()}; {args.model}, {args.epochs} epochs, batch 128, 37,801 rows, "
          f"validation each epoch; fit wall time, median of {args.repeat}, each in a new process")
    print("| what | fit wall time |\n|---|---|")
    for variant, label in VARIANTS.items():
        print(f"| {label} | {median[variant]:.1f} s |")
    print(f"engine overhead over the same bare fit: "
          f"{100 * (median['engine'] / median['stream'] - 1):+.1f}%; engine vs Keras' array "
          f"input: {median['arrays'] / median['engine']:.2f}x faster")
    print("runs: " + "; ".join(f"{v} {[round(t, 1) for t in ts]}" for v, ts in times.items()))


def fit_once(args, competition) -> None:
    from workbench.engine.data.split import stratified_split
    from workbench.engine.network import backend
    from workbench.engine.network.models import build_model
    from workbench.engine.training.fit import train

    keras = backend.keras()
    train_idx, val_idx = stratified_split(competition.train_labels, 0.1, 0)
    x, y = competition.train_images[train_idx], competition.train_labels[train_idx]
    val = (competition.train_images[val_idx], competition.train_labels[val_idx])
    if args.variant == "engine":
        marks = {}

        def clock(event):
            if isinstance(event, TrainStarted):
                marks["start"] = time.perf_counter()
            if isinstance(event, EpochEnded) and event.epoch == args.epochs:
                marks["end"] = time.perf_counter()

        with tempfile.TemporaryDirectory() as runs_dir:
            train(TrainConfig(model=args.model, epochs=args.epochs), runs_dir=Path(runs_dir),
                  subscribers=[clock], competition=competition)
        print(marks["end"] - marks["start"])
        return
    inputs = ({"x": x, "y": y, "batch_size": 128} if args.variant == "arrays"
              else backend.fit_inputs(x, y, 128, 0))
    keras.utils.set_random_seed(0)
    model = build_model(args.model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(**inputs, epochs=args.epochs, validation_data=val, validation_batch_size=1024,
              verbose=0)
    print(time.perf_counter() - start)


def speed(args, competition) -> None:
    from workbench.engine.training.fit import train

    print(f"machine: {machine()}; augmentation on; median epoch after the first "
          "(validation included)")
    print("| model | batch | precision | samples/s | s/epoch | val acc after |")
    print("|---|---|---|---|---|---|")
    for model, batch, precision in itertools.product(args.models, args.batch_sizes,
                                                     args.precisions):
        events: list = []
        with tempfile.TemporaryDirectory() as runs_dir:
            train(TrainConfig(model=model, epochs=args.epochs, batch_size=batch,
                              precision=precision), runs_dir=Path(runs_dir),
                  subscribers=[events.append], competition=competition)
        epochs = [event for event in events if isinstance(event, EpochEnded)]
        later = epochs[1:] or epochs
        rate = statistics.median(e.samples_per_s for e in later)
        print(f"| {model} | {batch} | {precision} | {rate:,.0f} | "
              f"{statistics.median(e.seconds for e in later):.1f} | "
              f"{100 * epochs[-1].val_accuracy:.2f}% ({len(epochs)} epochs) |", flush=True)


def to_accuracy(args, competition) -> None:

    print(f"machine: {machine()}; target {100 * args.target:.1f}% validation accuracy; "
          f"seeds {' '.join(map(str, args.seeds))} (each recipe's seed replaced)")
    print("| recipe | reached | mean time to target | slowest | epochs | mean best val acc |")
    print("|---|---|---|---|---|---|")
    for name, spec in (item.split(":", 1) for item in args.recipe):
        hits, epochs, bests = [], [], []
        for seed in args.seeds:
            config = TrainConfig(**{**json.loads(spec), "seed": seed})
            hit, epoch, best = time_to(config, args.target, args.limit_s, competition)
            bests.append(best)
            if hit is not None:
                hits.append(hit)
                epochs.append(epoch)
        mean = f"{statistics.mean(hits):.1f} s" if hits else "-"
        slowest = (f"{max(hits):.1f} s" if len(hits) == len(args.seeds)
                   else f"not in {args.limit_s:.0f} s")
        print(f"| {name} `{spec}` | {len(hits)}/{len(args.seeds)} | {mean} | {slowest} | "
              f"{'/'.join(map(str, epochs)) or '-'} | {100 * statistics.mean(bests):.2f}% |",
              flush=True)


def time_to(config: TrainConfig, target: float, limit_s: float, competition
            ) -> tuple[float | None, int | None, float]:
    """Seconds from the start of training to the first epoch at ``target`` validation accuracy
    (None if not within ``limit_s``), that epoch, and the best validation accuracy seen."""
    from workbench.engine.training.fit import train

    stop, marks, best = threading.Event(), {}, [0.0]

    def watch(event):
        if isinstance(event, TrainStarted):
            marks["start"] = time.perf_counter()
        elif isinstance(event, EpochEnded):
            best[0] = max(best[0], event.val_accuracy)
            elapsed = time.perf_counter() - marks["start"]
            if event.val_accuracy >= target and "hit" not in marks:
                marks["hit"], marks["epoch"] = elapsed, event.epoch
                stop.set()
            elif elapsed > limit_s:
                stop.set()

    with tempfile.TemporaryDirectory() as runs_dir:
        train(config, runs_dir=Path(runs_dir), subscribers=[watch], stop=stop,
              competition=competition)
    return marks.get("hit"), marks.get("epoch"), best[0]


def shell(args, competition) -> None:
    command = [sys.executable, "-m", "workbench.cli", "train", *args.args.split(), "--data",
               str(require_zip())]
    parts: dict[str, list[float]] = {"start": [], "training": [], "after": [], "total": []}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            start, seen = time.perf_counter(), {}
            process = subprocess.Popen(command, cwd=folder, stderr=subprocess.PIPE,
                                       stdout=subprocess.DEVNULL, env={**os.environ,
                                                                      "COLUMNS": "200"})
            for line in process.stderr:
                text = line.decode(errors="replace")
                if text.startswith("Run "):
                    seen["run"] = time.perf_counter() - start
                elif text.startswith("epoch "):
                    seen["epoch"] = time.perf_counter() - start
            if process.wait():
                sys.exit(f"{' '.join(command)} failed")
            total = time.perf_counter() - start
        parts["start"].append(seen["run"])
        parts["training"].append(seen["epoch"] - seen["run"])
        parts["after"].append(total - seen["epoch"])
        parts["total"].append(total)
    print(f"machine: {machine()}; `workbench-engine train {args.args}` on Kaggle's zip, "
          f"median of {args.repeat}")
    print("| command | to the first line of training | training | after training | total |")
    print("|---|---|---|---|---|")
    median = {part: statistics.median(times) for part, times in parts.items()}
    print(f"| {args.args} | {median['start']:.1f} s | {median['training']:.1f} s | "
          f"{median['after']:.1f} s | {median['total']:.1f} s |")
    print("runs: " + "; ".join(f"{p} {[round(t, 1) for t in ts]}" for p, ts in parts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="bench", required=True)
    p = sub.add_parser("overhead")
    p.add_argument("--model", default="simple-cnn")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeat", type=int, default=3)
    p = sub.add_parser("fit-once")
    p.add_argument("variant", choices=VARIANTS)
    p.add_argument("--model", default="simple-cnn")
    p.add_argument("--epochs", type=int, default=3)
    p = sub.add_parser("speed")
    p.add_argument("--models", nargs="+", default=["simple-cnn", "strong-cnn"])
    p.add_argument("--batch-sizes", nargs="+", type=int, default=[128])
    p.add_argument("--precisions", nargs="+", default=["auto"])
    p.add_argument("--epochs", type=int, default=2)
    p = sub.add_parser("to-accuracy")
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--recipe", nargs="+", required=True, metavar="NAME:JSON")
    p.add_argument("--limit-s", type=float, default=300)
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p = sub.add_parser("shell")
    p.add_argument("--args", default="--preset fast")
    p.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    competition = None if args.bench == "shell" else load_competition(require_zip())
    benches = {"overhead": overhead, "fit-once": fit_once, "speed": speed,
               "to-accuracy": to_accuracy, "shell": shell}
    benches[args.bench](args, competition)


if __name__ == "__main__":
    main()
