"""Learning-rate schedules as Keras ``LearningRateSchedule``s of the optimizer's step count, and
the one place a model is compiled with its optimizer and schedule.

The step count lives in the optimizer, which the checkpoint saves, so a resumed run continues
the schedule where it stopped. ``plateau`` is a constant rate that a callback lowers.
"""

from __future__ import annotations

import math
from typing import Any

from workbench.engine.network import backend
from workbench.engine.network.backend import keras as _keras
from workbench.engine.network.callbacks import ResumablePlateau
from workbench.engine.network.losses import loss
from workbench.engine.recipes import OPTIMIZER_ARGS, OPTIMIZERS, PLATEAU

keras: Any = _keras()
ops = keras.ops


@keras.saving.register_keras_serializable("workbench")
class StepSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The cyclic schedules Keras lacks: ``kind`` picks the formula. Checkpoints written before
    ``linear`` and ``exponential`` became Keras's own schedules name them here too, and load as
    those (``from_config``)."""

    def __init__(self, kind: str, learning_rate: float, steps_per_epoch: int, epochs: int):
        if kind not in CYCLIC:
            raise ValueError(f"StepSchedule draws {', '.join(CYCLIC)}, not {kind!r}")
        self.kind = kind
        self.learning_rate = float(learning_rate)
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = int(epochs)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        lr, per_epoch = self.learning_rate, float(self.steps_per_epoch)
        if self.kind == "one-cycle":
            total = max(1.0, per_epoch * self.epochs)
            warm = 0.25 * total
            start, end = lr / 25, lr / 25 / 1e5

            def cosine(a, b, fraction):
                return b + (a - b) * (1 + ops.cos(math.pi * fraction)) / 2

            up = cosine(start, lr, ops.minimum(step, warm) / warm)
            down = cosine(lr, end, ops.clip((step - warm) / (total - warm), 0.0, 1.0))
            return ops.where(step < warm, up, down)
        half = 2.0 * per_epoch
        cycle = ops.floor(1.0 + step / (2.0 * half))
        x = ops.abs(step / half - 2.0 * cycle + 1.0)
        scale = ops.power(0.5, cycle - 1.0) if self.kind == "triangular2" else 1.0
        return lr / 10 + (lr - lr / 10) * ops.maximum(0.0, 1.0 - x) * scale

    def get_config(self) -> dict:
        return {"kind": self.kind, "learning_rate": self.learning_rate,
                "steps_per_epoch": self.steps_per_epoch, "epochs": self.epochs}

    @classmethod
    def from_config(cls, config: dict):
        return learning_rate(config["kind"], config["learning_rate"],
                             config["steps_per_epoch"], config["epochs"])


CYCLIC = ("triangular", "triangular2", "one-cycle")


def learning_rate(kind: str, lr: float, steps_per_epoch: int, epochs: int):
    """What to give the optimizer: a float for constant and plateau, else a schedule of the
    optimizer's step: Keras's own where one matches, else a ``StepSchedule``."""
    if kind in ("constant", "plateau"):
        return lr
    if kind == "linear":  # down to 0 at the last step
        return keras.optimizers.schedules.PolynomialDecay(
            lr, decay_steps=max(1, steps_per_epoch * epochs), end_learning_rate=0.0, power=1.0)
    if kind in ("exponential", "exponential-slow"):  # x0.95 (x0.98) each epoch
        return keras.optimizers.schedules.ExponentialDecay(
            lr, decay_steps=max(1, steps_per_epoch),
            decay_rate=0.95 if kind == "exponential" else 0.98, staircase=True)
    return StepSchedule(kind, lr, steps_per_epoch, epochs)


def plateau_callback(monitor: str, state: dict | None = None):
    """The ``plateau`` schedule's callback, starting from a resumed run's ``state``."""
    return ResumablePlateau(monitor=monitor, verbose=0, state=state, **PLATEAU)


def compile_model(model, optimizer: str, lr: float, schedule: str, steps_per_epoch: int,
                  epochs: int, label_smoothing: float = 0.0, steps_per_execution: int = 1,
                  ema: float = 0.0) -> None:
    """Compile ``model`` for training with the named optimizer, schedule and loss; ``ema`` > 0
    keeps an exponential moving average of the weights with that momentum (Keras' own, in the
    optimizer: saved in checkpoints, so a resumed run goes on averaging), which ``fit`` puts
    in place of the weights at its end."""
    optimizer_class = getattr(keras.optimizers, OPTIMIZERS[optimizer][0])
    averaging = {"use_ema": True, "ema_momentum": ema} if ema else {}
    model.compile(optimizer=optimizer_class(learning_rate=learning_rate(
        schedule, lr, steps_per_epoch, epochs), **OPTIMIZER_ARGS.get(optimizer, {}),
        **averaging),
        loss=loss(label_smoothing),
        metrics=["accuracy"], steps_per_execution=steps_per_execution)
    backend.build_training_state(model)
