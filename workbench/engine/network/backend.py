"""Keras, imported lazily, and the device it trains on. The one place for backend-specific calls."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.engine.errors import WorkbenchError, printable


@dataclass(frozen=True)
class Device:
    kind: str   # "GPU" or "CPU"
    name: str   # e.g. "NVIDIA H100 80GB HBM3", or "CPU (2 cores)"
    backend: str

    def __str__(self) -> str:
        return f"{self.name} ({self.backend})"


# The Keras backends that can train here, and the package each needs.
BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def keras(cpu: bool = False) -> Any:
    """Import Keras (slow: seconds); ``cpu`` hides GPUs, which only works before the first import.

    The backend is checked first (``check_backend``), and any other failure of the import (a
    damaged keras.json, say) is one WorkbenchError naming it, never a traceback."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    check_backend()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        os.environ["JAX_PLATFORMS"] = "cpu"
    try:
        with quiet_stderr():
            import keras as _keras

            if _keras.config.backend() == "tensorflow":
                import tensorflow as tf

                tf.get_logger().setLevel("ERROR")
    except Exception as error:  # Keras' import raises many kinds for a bad environment
        sys.modules.pop("keras", None)
        detail = printable(" ".join(str(error).split())[:160])
        raise WorkbenchError(f"Keras could not start ({type(error).__name__}: {detail}); check "
                             f"KERAS_BACKEND and {printable(str(_keras_json()))}.") from None
    return _keras


def share_machine(threads: int, share_gpu: bool) -> None:
    """Set this process up as one of several training at once (a Ray worker), before the
    backend loads: ``threads`` cores, and a GPU shared with others if ``share_gpu``."""
    limit_threads(threads)
    if share_gpu:
        _share_gpu()


def limit_threads(threads: int) -> None:
    """Keep this process's compute to ``threads`` cores, as the backends read it at their
    import: several members on one machine must not each take every core."""
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(min(threads, 2))
    os.environ["XLA_FLAGS"] = " ".join(filter(None, (
        os.environ.get("XLA_FLAGS"), f"--xla_cpu_multi_thread_eigen={str(threads > 1).lower()}",
        f"intra_op_parallelism_threads={threads}")))


def _share_gpu() -> None:
    """Let several processes share one GPU: each backend takes GPU memory as it needs it, not
    most of the GPU at its start (TensorFlow and JAX both grab it by default)."""
    os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"


def requested_backend() -> str:
    """The backend Keras will load: $KERAS_BACKEND, else keras.json's, else tensorflow."""
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name
    try:
        text = _keras_json().read_bytes() if _keras_json().is_file() else b""
        saved = json.loads(text) if len(text) < 1 << 16 else None
    except (OSError, ValueError, RecursionError):
        saved = None
    backend = saved.get("backend") if isinstance(saved, dict) else None
    return backend if isinstance(backend, str) and backend else "tensorflow"


def check_backend() -> str:
    """The requested backend if it is one that trains and is installed; else WorkbenchError
    saying which exist. Cheap (no import): call it before any folder is made."""
    name = requested_backend()
    where = "KERAS_BACKEND" if os.environ.get("KERAS_BACKEND") else printable(str(_keras_json()))
    installed = [b for b, package in BACKENDS.items() if _installed(package)]
    choices = f"{', '.join(BACKENDS)} (installed here: {', '.join(installed) or 'none'})"
    if name not in BACKENDS:
        raise WorkbenchError(f"{where} asks for the Keras backend '{printable(name[:40])}', "
                             f"which is not one that trains; use one of {choices}.")
    if name not in installed:
        raise WorkbenchError(f"{where} asks for the Keras backend '{name}', but {BACKENDS[name]} "
                             f"is not installed; install it, or use one of {choices}.")
    return name


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def _keras_json() -> Path:
    """Keras' config file: $KERAS_HOME/keras.json, else ~/.keras/keras.json."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "keras.json"


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2: TensorFlow's C++ start-up logs ignore every log-level setting."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def device(cpu: bool = False) -> Device:
    """The accelerator Keras will use: the first GPU if there is one and ``cpu`` is False."""
    backend = keras(cpu).config.backend()
    with quiet_stderr():
        name = None if cpu else _gpu_name(backend)
    if name:
        return Device("GPU", name, backend)
    return Device("CPU", f"CPU ({os.cpu_count()} cores)", backend)


def _gpu_name(backend: str) -> str | None:
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return None
        details = tf.config.experimental.get_device_details(gpus[0])
        return details.get("device_name", gpus[0].name)
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        return gpus[0].device_kind if gpus else None
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return None


def use_xla(model):
    """``model``, set to compile its steps whole with XLA under JAX; other backends unchanged.

    Keras' random image layers say they cannot be compiled (true of TensorFlow's XLA), and
    Keras then runs a whole JAX model op by op; JAX compiles them. On TensorFlow, Keras' own
    choice stands. Measured: BENCHMARKS.md, "Training on a GPU"."""
    if keras().config.backend() != "jax":
        return model
    for layer in _layers(model):
        layer.supports_jit = True
    model.jit_compile = True
    return model


def _layers(layer) -> Iterator:
    yield layer
    for inner in getattr(layer, "layers", ()):
        yield from _layers(inner)


PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line for line in info if line.startswith("flags")), "")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def precision_policy(requested: str, device: Device) -> str:
    """The Keras dtype policy for ``requested``; 'auto': float16 compute on GPUs, bfloat16 on
    CPUs that compute it natively, else float32."""
    if requested != "auto":
        return requested
    if device.kind == "GPU":
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_bf16() else "float32"


def set_precision(policy: str) -> None:
    keras().mixed_precision.set_global_policy(policy)


def fuses_batch_norm() -> bool:
    """Whether ``fused_batch_norm`` serves this backend (TensorFlow's kernel does)."""
    return keras().config.backend() == "tensorflow"


def fused_batch_norm(x, scale, offset, mean, variance, epsilon: float, training: bool):
    """Batch normalization of channels-last ``x`` as one TensorFlow op (oneDNN's on CPUs), and
    one op for its gradient: (outputs in x's dtype, batch mean, batch variance) in training, else
    (outputs, mean, variance) as given. The variance returned is the biased one, as Keras' own.

    Keras' BatchNormalization builds the same from ~8 float32 ops, a large share of a CNN's
    step on a CPU (BENCHMARKS.md, "strong-cnn: where a step's time went")."""
    import tensorflow as tf

    if not training:
        y, _, _ = tf.compat.v1.nn.fused_batch_norm(
            x, scale, offset, mean=mean, variance=variance, epsilon=epsilon, is_training=False)
        return y, mean, variance
    y, batch_mean, batch_variance = tf.compat.v1.nn.fused_batch_norm(
        x, scale, offset, epsilon=epsilon, is_training=True)
    count = tf.cast(tf.size(x) // tf.shape(x)[-1], "float32")
    return y, batch_mean, batch_variance * (count - 1) / count   # undo its Bessel correction


def build_training_state(model) -> None:
    """Create the optimizer's and the metrics' variables of a compiled ``model`` now.

    Under TensorFlow, Keras leaves them to the first trace of the training step, and a
    ``tf.function`` that creates variables is traced a second time. Keras' own build (the one
    it runs under a distribution strategy) makes them from the inputs' shapes, with no data."""
    import numpy as np

    if keras().config.backend() != "tensorflow":
        return
    batch = tuple(np.zeros((1, *tensor.shape[1:]), tensor.dtype) for tensor in model.inputs)
    model._symbolic_build(data_batch=(batch[0] if len(batch) == 1 else batch,
                                      np.zeros((1,), "int32")))


def per_execution(steps: int) -> int:
    """Steps Keras should run per call from Python: ``steps`` under TensorFlow, whose input
    stream never ends, so an epoch can be rounded to whole calls (``epoch_steps``); 1 under
    other backends, which take arrays whose last call would be cut short."""
    return steps if keras().config.backend() == "tensorflow" else 1


def epoch_steps(rows: int, batch_size: int, per_execution: int = 1) -> int:
    """Steps in an epoch: enough batches to cover ``rows``, rounded up to a whole number of
    executions (Keras runs ``per_execution`` steps a call and only stops between calls)."""
    batches = -(-rows // batch_size)
    return -(-batches // per_execution) * per_execution


def fit_inputs(x, y, batch_size: int, seed: int, per_execution: int = 1) -> dict:
    """``model.fit`` arguments for training arrays.

    Under TensorFlow: one endless, reshuffled tf.data stream with ``steps_per_epoch``, since
    Keras' new iterator over NumPy arrays at every epoch stalls each epoch's start on a small
    CPU. The stream shuffles row numbers and gathers each batch's images in one op, rather than
    handling every image as an element. Other backends take the arrays as they are.
    (BENCHMARKS.md, "The per-epoch stall" and "The input stream".)
    """
    if keras().config.backend() != "tensorflow":
        return {"x": x, "y": y, "batch_size": batch_size}
    import tensorflow as tf

    images, labels = tf.constant(x), tf.constant(y)
    dataset = (tf.data.Dataset.range(len(x))
               .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
               .repeat().batch(batch_size)
               .map(lambda rows: (tf.gather(images, rows), tf.gather(labels, rows)))
               .prefetch(tf.data.AUTOTUNE))
    return {"x": dataset, "steps_per_epoch": epoch_steps(len(x), batch_size, per_execution),
            "shuffle": False}
