"""Learning-rate schedules as Keras ``LearningRateSchedule``s of the optimizer's step count, and
the one place a model is compiled with its optimizer and schedule.

The step count lives in the optimizer, which the checkpoint saves, so a resumed run continues
the schedule where it stopped. ``plateau`` is a constant rate that a callback lowers.
"""

from __future__ import annotations

import math

from workbench.engine.backend import keras as _keras
from workbench.engine.losses import loss
from workbench.engine.recipes import OPTIMIZERS, PLATEAU

keras = _keras()
ops = keras.ops
Schedule = keras.optimizers.schedules.LearningRateSchedule


@keras.saving.register_keras_serializable("workbench")
class StepSchedule(Schedule):
    """One class for every named schedule: ``kind`` picks the formula."""

    def __init__(self, kind: str, learning_rate: float, steps_per_epoch: int, epochs: int):
        self.kind = kind
        self.learning_rate = float(learning_rate)
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = int(epochs)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        lr, per_epoch = self.learning_rate, float(self.steps_per_epoch)
        total = max(1.0, per_epoch * self.epochs)
        if self.kind == "linear":
            return lr * ops.maximum(0.0, 1.0 - step / total)
        if self.kind == "exponential":
            return lr * ops.power(0.95, ops.floor(step / per_epoch))
        if self.kind in ("triangular", "triangular2"):
            half = 2.0 * per_epoch
            cycle = ops.floor(1.0 + step / (2.0 * half))
            x = ops.abs(step / half - 2.0 * cycle + 1.0)
            scale = ops.power(0.5, cycle - 1.0) if self.kind == "triangular2" else 1.0
            return lr / 10 + (lr - lr / 10) * ops.maximum(0.0, 1.0 - x) * scale
        if self.kind == "one-cycle":
            warm = 0.25 * total
            start, end = lr / 25, lr / 25 / 1e5

            def cosine(a, b, fraction):
                return b + (a - b) * (1 + ops.cos(math.pi * fraction)) / 2

            up = cosine(start, lr, ops.minimum(step, warm) / warm)
            down = cosine(lr, end, ops.clip((step - warm) / (total - warm), 0.0, 1.0))
            return ops.where(step < warm, up, down)
        return ops.full((), lr)

    def get_config(self) -> dict:
        return {"kind": self.kind, "learning_rate": self.learning_rate,
                "steps_per_epoch": self.steps_per_epoch, "epochs": self.epochs}


def learning_rate(kind: str, lr: float, steps_per_epoch: int, epochs: int):
    """What to give the optimizer: a float for constant and plateau, else a schedule."""
    if kind in ("constant", "plateau"):
        return lr
    return StepSchedule(kind, lr, steps_per_epoch, epochs)


def plateau_callback(monitor: str):
    return keras.callbacks.ReduceLROnPlateau(monitor=monitor, verbose=0, **PLATEAU)


def compile_model(model, optimizer: str, lr: float, schedule: str, steps_per_epoch: int,
                  epochs: int, label_smoothing: float = 0.0) -> None:
    """Compile ``model`` for training with the named optimizer, schedule and loss."""
    optimizer_class = getattr(keras.optimizers, OPTIMIZERS[optimizer][0])
    model.compile(optimizer=optimizer_class(learning_rate=learning_rate(
        schedule, lr, steps_per_epoch, epochs)), loss=loss(label_smoothing),
        metrics=["accuracy"])
