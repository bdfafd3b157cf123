"""Where a model's training time goes: samples/s of ``fit`` with one part taken away at a time.

    python bench/bench_profile.py [--model strong-cnn] [--batch 128] [--steps 40] [--repeat 3]

Each variant trains --steps batches of --batch from the engine's input stream (Kaggle's train rows)
after a warm-up epoch; the figure is the median samples/s of --repeat timed epochs. A part's
share is what its removal saves: 1 - full / without. Variants: the model as the engine builds
it (augmentation, precision "auto"); without augmentation; float32; without BatchNorm; and the
augmentation block alone (its forward pass over a batch, which is all training pays for it).
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import machine, require_zip

from workbench.engine import backend
from workbench.engine.data import load_competition


def rate(model, x, y, steps: int, repeat: int, batch: int = 128) -> float:
    keras = backend.keras()

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    clock = Clock()
    inputs = backend.fit_inputs(x, y, batch, 0)
    inputs["steps_per_epoch"] = steps
    model.fit(**inputs, epochs=repeat + 1, callbacks=[clock], verbose=0)
    return steps * batch / statistics.median(clock.times[1:])


def without_batchnorm(model):
    """A copy of a Sequential-bodied model with its BatchNormalization layers left out."""
    keras = backend.keras()

    def strip(layer):
        if isinstance(layer, keras.Sequential):
            return keras.Sequential([strip(inner) for inner in layer.layers
                                     if not isinstance(inner, keras.layers.BatchNormalization)],
                                    name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    inputs = keras.Input((28, 28), dtype="uint8")
    x = inputs
    for layer in model.layers[1:]:
        x = strip(layer)(x)
    return keras.Model(inputs, x)


def augment_rate(x, steps: int, repeat: int, batch: int = 128) -> float:
    """Samples/s of the augmentation block's forward pass in training mode."""
    import tensorflow as tf

    from workbench.engine.models import augmentation

    block = augmentation(0)
    images = tf.cast(tf.reshape(x[: batch], (batch, 28, 28, 1)), "float32") / 255
    step = tf.function(lambda: block(images, training=True))
    step().numpy()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(steps):
            out = step()
        out.numpy()
        times.append(time.perf_counter() - start)
    return steps * batch / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="strong-cnn")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    keras = backend.keras()
    from workbench.engine.models import build_model

    competition = load_competition(require_zip())
    x, y = competition.train_images, competition.train_labels
    auto = backend.precision_policy("auto", backend.device())

    def measure(policy: str, **build) -> float:
        backend.set_precision(policy)
        keras.utils.set_random_seed(0)
        model = build.pop("transform", lambda m: m)(build_model(args.model, **build))
        return rate(model, x, y, args.steps, args.repeat, args.batch)

    full = measure(auto)
    rows = [("as the engine builds it", auto, full),
            ("no augmentation", auto, measure(auto, augment=False)),
            ("float32", "float32", measure("float32")),
            ("no BatchNorm", auto, measure(auto, transform=without_batchnorm))]
    print(f"machine: {machine()}; {args.model}, batch {args.batch}, {args.steps} steps, median of "
          f"{args.repeat} epochs after a warm-up")
    print("| variant | precision | samples/s | share of the full step |\n|---|---|---|---|")
    for label, policy, value in rows:
        share = "-" if value == full else f"{100 * (1 - full / value):+.0f}%"
        print(f"| {label} | {policy} | {value:,.0f} | {share} |")
    alone = augment_rate(x, args.steps, args.repeat, args.batch)
    print(f"| augmentation block alone (forward) | float32 | {alone:,.0f} | "
          f"{100 * full / alone:.0f}% |")


if __name__ == "__main__":
    main()
