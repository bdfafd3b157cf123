"""What a training will cost, said before it starts: seconds a step of the recipe's model on this
machine, times the steps of its epochs.

A step's time comes from the last training of the same model, batch size, augmentation and
precision on this machine (every training records it as it ends), else from a few steps timed
now on random images (a model build and five steps: a second for the small nets, a few for the
large ones on a CPU). Both are kept in ``estimates.json`` in the cache folder; a damaged file
reads as empty."""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import statistics
import time

import numpy as np

from workbench.engine.data.cache import cache_dir
from workbench.engine.errors import shown
from workbench.engine.events import Estimated
from workbench.engine.network import backend
from workbench.engine.network.models import model_spec
from workbench.engine.store import files
from workbench.engine.store.atomic import write_atomic
from workbench.engine.training.config import Recipe

TIMED_STEPS = 5  # after two untimed ones: the trace and oneDNN's first-run setup
FILE = "estimates.json"


def _key(config: Recipe, threads: int | None = None) -> str:
    """This machine, the cores of a training (``threads``, else this process's: members at
    once each get a share) and the recipe's parts that set a step's time."""
    return "|".join(map(str, (socket.gethostname(), os.cpu_count(),
                              threads or os.environ.get("TF_NUM_INTRAOP_THREADS", "all"),
                              backend.requested_backend(), config.model, config.batch_size,
                              config.augment, config.precision, config.cpu)))


def _read() -> dict:
    return files.read_json(cache_dir() / FILE)


def record(config: Recipe, device: str, seconds_per_step: float) -> None:
    """Keep a step's time of ``config``'s model on this machine for later estimates (a failed
    write loses nothing but the estimate)."""
    if not (seconds_per_step > 0 and math.isfinite(seconds_per_step)):
        return
    known = _read()
    known[_key(config)] = {"seconds_per_step": seconds_per_step, "device": device,
                           "when": time.time()}
    with contextlib.suppress(OSError):
        write_atomic(cache_dir() / FILE, (json.dumps(known, indent=1) + "\n").encode())


def recall(config: Recipe, train_rows: int, members: int = 1,
           threads: int | None = None) -> Estimated | None:
    """The estimate from an earlier training or timing on this machine (no Keras), if any;
    ``threads``: of a training in another process (a member on Ray)."""
    known = _read().get(_key(config, threads))
    if not (isinstance(known, dict) and files.is_number(known.get("seconds_per_step"))
            and known["seconds_per_step"] > 0 and isinstance(known.get("device"), str)):
        return None
    return Estimated(float(known["seconds_per_step"]), _steps(config, train_rows),
                    config.epochs, members, shown(known["device"], 60), False)


def estimate(config: Recipe, train_rows: int, members: int = 1) -> Estimated | None:
    """``recall``, else a few steps timed now (loads Keras); None for a model with nothing to
    train."""
    if not model_spec(config.model).trainable:
        return None
    known = recall(config, train_rows, members)
    if known is not None:
        return known
    device = str(backend.device(config.cpu))
    seconds = _time_steps(config)
    record(config, device, seconds)
    return Estimated(seconds, _steps(config, train_rows), config.epochs, members, device, True)


def _steps(config: Recipe, train_rows: int) -> int:
    """An epoch's steps, as training counts them (without importing Keras: the app asks)."""
    tensorflow = backend.requested_backend() == "tensorflow"
    return backend.epoch_steps(train_rows, config.batch_size,
                               model_spec(config.model).steps_per_execution if tensorflow else 1)


def _time_steps(config: Recipe) -> float:
    """The median time of a training step of ``config``'s model, on random images."""
    from workbench.engine.network.models import build_model
    from workbench.engine.network.schedules import compile_model

    backend.keras(config.cpu)
    backend.set_precision(backend.precision_policy(config.precision,
                                                   backend.device(config.cpu)))
    model = build_model(config.model, config.augment, config.seed)
    compile_model(model, config.optimizer, config.learning_rate, "constant", 1, 1,
                  config.label_smoothing, 1, config.ema)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (config.batch_size, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, config.batch_size).astype(np.uint8)
    times = []
    for step in range(TIMED_STEPS + 2):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        if step >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times)
