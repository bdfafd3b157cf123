"""The search behind the `fast` preset: small nets trained for a few epochs, validation accuracy
over seeds, outside the engine (each knob exposed here, fit's wall time beside it).

    python bench/bench_fast_nets.py --epochs 3 --seeds 0 1 2 [--batch 128]
        [--lr 0.01] [--betas 0.7 0.9] [--ls 0.1] [--bn] [--wide] [--precision float32]

Kaggle's train rows with the engine's 10% stratified split (seed 0); Adam with the given
betas, one-cycle (the engine's schedule), no augmentation; the data fed as one shuffled
tf.data stream, as the engine feeds it. ``--bn`` adds BatchNorm (momentum 0.9; the engine's fused
layer) after each conv; ``--wide`` uses 32 and 64 filters instead of 24 and 32.
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import machine, require_zip

from workbench.engine.data.competition import load_competition
from workbench.engine.network import backend
from workbench.engine.training.config import TrainConfig


def net(keras, bn: bool, wide: bool) -> list:
    from workbench.engine.network.layers import BatchNorm

    layers = keras.layers
    first, second = (32, 64) if wide else (24, 32)

    def conv(filters, size):
        if not bn:
            return [layers.Conv2D(filters, size, activation="relu")]
        return [layers.Conv2D(filters, size), BatchNorm(momentum=0.9),
                layers.ReLU()]

    return [*conv(first, 5), layers.MaxPooling2D(2), *conv(second, 3), layers.MaxPooling2D(2),
            layers.Flatten(), layers.Dense(256, activation="relu"), layers.Dense(10)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--betas", type=float, nargs=2, default=[0.7, 0.9])
    parser.add_argument("--ls", type=float, default=0.1)
    parser.add_argument("--bn", action="store_true")
    parser.add_argument("--wide", action="store_true")
    parser.add_argument("--precision", default="float32")
    args = parser.parse_args()
    keras = backend.keras()
    from workbench.engine.network.losses import loss
    from workbench.engine.network.schedules import StepSchedule

    keras.mixed_precision.set_global_policy(args.precision)
    competition = load_competition(require_zip())
    train_idx, val_idx = TrainConfig().resolved().held_out(competition.train_labels)
    x, y = competition.train_images[train_idx], competition.train_labels[train_idx]
    steps = -(-len(x) // args.batch)
    accuracies, seconds = [], []
    for seed in args.seeds:
        keras.utils.set_random_seed(seed)
        inputs = keras.Input((28, 28), dtype="uint8")
        h = keras.layers.Reshape((28, 28, 1))(keras.layers.Rescaling(1 / 255)(inputs))
        for layer in net(keras, args.bn, args.wide):
            h = layer(h)
        model = keras.Model(inputs, keras.layers.Activation("softmax", dtype="float32")(h))
        model.compile(keras.optimizers.Adam(StepSchedule("one-cycle", args.lr, steps, args.epochs),
                                            beta_1=args.betas[0], beta_2=args.betas[1]),
                      loss(args.ls), metrics=["accuracy"])
        start = time.perf_counter()
        model.fit(**backend.fit_inputs(x, y, args.batch, seed), epochs=args.epochs, verbose=0)
        seconds.append(time.perf_counter() - start)
        probabilities = model.predict(competition.train_images[val_idx], batch_size=2048,
                                      verbose=0)
        accuracies.append(float((probabilities.argmax(1) == competition.train_labels[val_idx])
                                .mean()))
    print(f"machine: {machine()}; {len(x):,} train / {len(val_idx):,} validation rows")
    print("| net | epochs | batch | lr | betas | smoothing | precision | mean val acc | min | "
          "fit median |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    name = "fast-cnn" + (" + BN" if args.bn else "") + (" wide" if args.wide else "")
    print(f"| {name} | {args.epochs} | {args.batch} | {args.lr:g} | {args.betas[0]:g}/"
          f"{args.betas[1]:g} | {args.ls:g} | {args.precision} | "
          f"{100 * statistics.mean(accuracies):.2f}% | {100 * min(accuracies):.2f}% | "
          f"{statistics.median(seconds):.1f} s |")


if __name__ == "__main__":
    main()
