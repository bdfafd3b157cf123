"""How close each model trains to this machine's limit: FLOPs per training sample, achieved
GFLOP/s, and their ratio to the measured fp32 and bf16 matmul peaks of the library the models
use (TensorFlow).

    python bench/bench_roofline.py [--models fast-cnn simple-cnn strong-cnn] [--steps 60]

FLOPs are counted from the layers' shapes: 2 per multiply-add of every Conv2D and Dense layer
(BatchNorm, activations, pooling and the optimizer are left out: a few percent), times 3 for a
training step (forward, and the gradients of inputs and weights). Samples/s: ``fit`` on
Kaggle's train rows (the engine's input stream, the model's own augmentation, precision
"auto", the engine's steps per Keras call), over --steps batches of 128 (rounded up to whole
calls) after a warm-up. Peaks: the fastest of square matmuls of
2048 in a tf.function, float32 and bfloat16.
"""

from __future__ import annotations

import argparse
import time

from common import machine, require_zip

from workbench.engine.data.competition import load_competition
from workbench.engine.network import backend


def matmul_peak(dtype: str, n: int = 2048, repeat: int = 10) -> float:
    """GFLOP/s of an n x n matmul in ``dtype``, the fastest of ``repeat`` after a warm-up (a
    peak: on a shared machine the median wanders with the neighbours' load)."""
    import tensorflow as tf

    a = tf.random.normal((n, n), dtype="float32")
    a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)
    step = tf.function(lambda: tf.linalg.matmul(a, b))
    step().numpy()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step().numpy()
        times.append(time.perf_counter() - start)
    return 2 * n ** 3 / min(times) / 1e9


def training_flops(model) -> float:
    """FLOPs of one training sample: 3 x the forward multiply-adds of Conv2D and Dense, x 2."""
    keras = backend.keras()
    total = 0
    for layer in _layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            kernel_h, kernel_w = layer.kernel_size
            total += height * width * filters * kernel_h * kernel_w * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return 3 * 2 * total


def _layers(layer):
    for inner in getattr(layer, "layers", ()):
        yield inner
        yield from _layers(inner)


def samples_per_s(name: str, competition, steps: int, batch: int = 128) -> float:
    from workbench.engine.network.models import build_model, model_spec
    from workbench.engine.network.schedules import compile_model

    keras = backend.keras()
    backend.set_precision(backend.precision_policy("auto", backend.device()))
    keras.utils.set_random_seed(0)
    model = build_model(name)
    per_execution = model_spec(name).steps_per_call()
    steps = backend.epoch_steps(steps, 1, per_execution)  # whole calls, as the engine runs them
    compile_model(model, "adam", 1e-3, "constant", steps, 1, steps_per_execution=per_execution)
    inputs = backend.fit_inputs(competition.train_images, competition.train_labels, batch, 0)
    inputs.pop("steps_per_epoch")
    model.fit(**inputs, steps_per_epoch=backend.epoch_steps(10, 1, per_execution), epochs=1,
              verbose=0)
    start = time.perf_counter()
    model.fit(**inputs, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["simple-cnn", "strong-cnn"])
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    from workbench.engine.network.models import build_model

    competition = load_competition(require_zip())
    backend.keras()
    fp32, bf16 = matmul_peak("float32"), matmul_peak("bfloat16")
    print(f"machine: {machine()}; TensorFlow matmul peaks: fp32 {fp32:,.0f} GFLOP/s, "
          f"bf16 {bf16:,.0f} GFLOP/s; precision auto = "
          f"{backend.precision_policy('auto', backend.device())}")
    print("| model | MFLOP/sample (train) | samples/s | GFLOP/s | of fp32 peak | of bf16 peak |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        flops = training_flops(build_model(name))
        rate = samples_per_s(name, competition, args.steps)
        achieved = rate * flops / 1e9
        print(f"| {name} | {flops / 1e6:.1f} | {rate:,.0f} | {achieved:,.0f} | "
              f"{100 * achieved / fp32:.0f}% | {100 * achieved / bf16:.0f}% |", flush=True)


if __name__ == "__main__":
    main()
