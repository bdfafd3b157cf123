"""Where a model's training time goes: samples/s of ``fit`` with one part taken away at a time.

    python bench/bench_profile.py [--model strong-cnn] [--batch 128] [--steps 40] [--repeat 3]
    python bench/bench_profile.py --ops [--model fast-cnn] [--steps 20]

Each variant trains --steps batches of --batch from the engine's input stream (Kaggle's train rows)
after a warm-up epoch; the figure is the median samples/s of --repeat timed epochs. A part's
share is what its removal saves: 1 - full / without. Variants: the model as the engine builds
it (augmentation, precision "auto"); without augmentation; float32; without BatchNorm; and the
augmentation block alone (its forward pass over a batch, which is all training pays for it).

``--ops`` instead traces --steps steps of ``fit`` (one step per call), after 30 untraced ones,
with TensorFlow's profiler and sums each op's own time by kind: convolutions' forward and
backward, BatchNorm, dropout, the augmentation, pooling, the optimizer, the input stream. Times
are thread time under the profiler (slower than a plain step); the shares are the figure.
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import machine, require_zip

from workbench.engine.data.competition import load_competition
from workbench.engine.network import backend


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

    from workbench.engine.network.models import augmentation

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


def op_kind(op: str, kind: str) -> str:
    """The part of a step a profiled TensorFlow op belongs to."""
    if kind == "Dataset":
        return "input stream (tf.data)"
    if "/adam/" in op or "/sgd/" in op:
        return "optimizer"
    for word, part in (("BatchNorm", "BatchNorm"), ("Pool", "pooling")):
        if word in kind:
            return part
    if "Conv2D" in kind or "MatMul" in kind:
        return "conv/dense " + ("backward" if "gradient_tape" in op else "forward")
    for word, part in (("dropout", "dropout"), ("augment", "augmentation")):
        if word in op:
            return part
    return "other"


def op_profile(model, x, y, steps: int, batch: int) -> list[tuple[str, float]]:
    """Each part's share of the ops' own time over ``steps`` profiled steps, largest first."""
    import collections
    import glob
    import json
    import tempfile

    import tensorflow as tf
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin

    keras = backend.keras()

    class Profile(keras.callbacks.Callback):
        """The profiler on for the last ``steps`` steps: the stream's iterator and the step
        function are made and warm by then, as they are in an epoch of the engine's."""

        def on_train_batch_begin(self, batch, logs=None):
            if batch == warm:
                tf.profiler.experimental.start(logdir)

        def on_epoch_end(self, epoch, logs=None):
            tf.profiler.experimental.stop()

    warm = 30
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    inputs = backend.fit_inputs(x, y, batch, 0)
    inputs["steps_per_epoch"] = warm + steps
    with tempfile.TemporaryDirectory() as logdir:
        model.fit(**inputs, epochs=1, callbacks=[Profile()], verbose=0)
        paths = glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)
        data, ok = plugin.xspace_to_tools_data(paths, "framework_op_stats")
    if not ok:
        raise SystemExit(f"TensorFlow's profiler gave no op table: {data[:200]!r}")
    table = json.loads(data)
    table = table[0] if isinstance(table, list) else table
    columns = [column["id"] for column in table["cols"]]
    parts: collections.Counter = collections.Counter()
    for row in table["rows"]:
        cell = {c: (v or {}).get("v") for c, v in zip(columns, row["c"])}
        if cell["type"] != "IDLE":
            parts[op_kind(cell["operation"], cell["type"])] += cell["total_self_time"]
    total = sum(parts.values())
    return [(part, value / total) for part, value in parts.most_common()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="strong-cnn")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ops", action="store_true", help="profile ops by kind instead")
    args = parser.parse_args()
    keras = backend.keras()
    from workbench.engine.network.models import build_model

    competition = load_competition(require_zip())
    x, y = competition.train_images, competition.train_labels
    auto = backend.precision_policy("auto", backend.device())

    def measure(policy: str, **build) -> float:
        backend.set_precision(policy)
        keras.utils.set_random_seed(0)
        model = build.pop("transform", lambda m: m)(build_model(args.model, **build))
        return rate(model, x, y, args.steps, args.repeat, args.batch)

    if args.ops:
        backend.set_precision(auto)
        keras.utils.set_random_seed(0)
        shares = op_profile(build_model(args.model), x, y, args.steps, args.batch)
        print(f"machine: {machine()}; {args.model}, batch {args.batch}, {args.steps} steps "
              f"under TensorFlow's profiler, precision {auto}")
        print("| part of the step | share of the ops' time |\n|---|---|")
        for part, share in shares:
            print(f"| {part} | {100 * share:.1f}% |")
        return
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
