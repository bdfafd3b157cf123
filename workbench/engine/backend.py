"""Keras, imported lazily, and the device it trains on. The one place for backend-specific calls."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Device:
    kind: str   # "GPU" or "CPU"
    name: str   # e.g. "NVIDIA H100 80GB HBM3", or "CPU (2 cores)"
    backend: str

    def __str__(self) -> str:
        return f"{self.name} ({self.backend})"


def keras(cpu: bool = False) -> ModuleType:
    """Import Keras (slow: seconds); ``cpu`` hides GPUs, which only works before the first import."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        os.environ["JAX_PLATFORMS"] = "cpu"
    with quiet_stderr():
        import keras as _keras

        if _keras.config.backend() == "tensorflow":
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
    return _keras


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


def use_mixed_precision(enabled: bool) -> None:
    """float16 compute on GPUs (float32 weights); plain float32 on CPUs, where it is faster."""
    keras().mixed_precision.set_global_policy("mixed_float16" if enabled else "float32")
