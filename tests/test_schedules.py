"""Each schedule produces the learning rates it specifies."""

import math

import pytest

from workbench.engine.network import schedules
from workbench.engine.recipes import PLATEAU, PRESETS

LR, STEPS, EPOCHS = 0.1, 10, 12  # 120 steps in all


def rate(kind, step):
    return float(schedules.learning_rate(kind, LR, STEPS, EPOCHS)(step))


def test_constant():
    assert schedules.learning_rate("constant", LR, STEPS, EPOCHS) == LR


def test_linear_and_exponential_are_keras_own_schedules():
    keras = schedules.keras.optimizers.schedules
    assert isinstance(schedules.learning_rate("linear", LR, STEPS, EPOCHS), keras.PolynomialDecay)
    assert isinstance(schedules.learning_rate("exponential", LR, STEPS, EPOCHS),
                      keras.ExponentialDecay)


@pytest.mark.parametrize("kind", ["linear", "exponential"])
def test_a_checkpoint_naming_the_old_schedule_loads_as_keras_own(kind):
    """Checkpoints written before the switch serialized StepSchedule(kind=...)."""
    keras = schedules.keras
    old = {"module": None, "class_name": "workbench>StepSchedule", "registered_name":
           "workbench>StepSchedule", "config": {"kind": kind, "learning_rate": LR,
                                                "steps_per_epoch": STEPS, "epochs": EPOCHS}}
    restored = keras.optimizers.schedules.deserialize(old)
    assert float(restored(25)) == pytest.approx(rate(kind, 25))


@pytest.mark.parametrize("step, expected", [(0, 0.1), (30, 0.075), (60, 0.05), (120, 0.0),
                                            (150, 0.0)])
def test_linear(step, expected):
    assert rate("linear", step) == pytest.approx(expected, abs=1e-7)


@pytest.mark.parametrize("step, expected", [(0, 0.1), (9, 0.1), (10, 0.095), (25, 0.09025),
                                            (119, 0.1 * 0.95 ** 11)])
def test_exponential_is_per_epoch(step, expected):
    assert rate("exponential", step) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("step, expected", [(0, 0.01), (10, 0.055), (20, 0.1), (30, 0.055),
                                            (40, 0.01), (60, 0.1), (80, 0.01)])
def test_triangular_cycles_every_four_epochs(step, expected):
    assert rate("triangular", step) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("step, expected", [(20, 0.1), (40, 0.01), (60, 0.055), (100, 0.0325)])
def test_triangular2_halves_each_cycle(step, expected):
    assert rate("triangular2", step) == pytest.approx(expected, rel=1e-6)


def test_one_cycle_warms_up_then_anneals():
    assert rate("one-cycle", 0) == pytest.approx(LR / 25, rel=1e-6)
    assert rate("one-cycle", 30) == pytest.approx(LR, rel=1e-6)          # 25% of 120 steps
    assert rate("one-cycle", 15) == pytest.approx((LR / 25 + LR) / 2, rel=1e-5)
    assert rate("one-cycle", 75) == pytest.approx(LR / 25 / 1e5 + (LR - LR / 25 / 1e5) / 2,
                                                   rel=1e-5)
    assert rate("one-cycle", 120) == pytest.approx(LR / 25 / 1e5, rel=1e-4)
    rates = [rate("one-cycle", s) for s in range(0, 121, 5)]
    peak = rates.index(max(rates))
    assert rates[:peak + 1] == sorted(rates[:peak + 1])
    assert rates[peak:] == sorted(rates[peak:], reverse=True)
    assert not any(math.isnan(r) for r in rates)


def test_plateau_is_a_constant_rate_lowered_by_a_callback():
    assert schedules.learning_rate("plateau", LR, STEPS, EPOCHS) == LR
    callback = schedules.plateau_callback("val_loss")
    assert (callback.factor, callback.patience, callback.min_lr) == (
        PLATEAU["factor"], PLATEAU["patience"], 1e-5)


def test_schedule_survives_serialization():
    keras = schedules.keras
    original = schedules.StepSchedule("triangular2", LR, STEPS, EPOCHS)
    restored = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(original))
    assert float(restored(60)) == pytest.approx(float(original(60)))


def test_seed_presets():
    assert PRESETS["Adadelta_plateau"].learning_rate == 1.0
    seed = {name: p for name, p in PRESETS.items()
            if name not in ("fast", "kaggle-best", "kaggle-lite", "deotte", "record")}
    assert len(seed) == 7
    assert {p.schedule for p in seed.values()} == {"triangular", "plateau", "triangular2",
                                                   "constant"}


@pytest.mark.parametrize("model_name", ["fast-cnn", "strong-cnn"])
def test_a_compiled_model_traces_its_training_step_once(model_name):
    """Keras left the optimizer's and metrics' variables to the step's first trace, and a traced
    function that creates variables is traced again (~0.6 s of fast-cnn's first epoch)."""
    import numpy as np

    from workbench.engine.network import backend
    from workbench.engine.network.models import build_model

    model = build_model(model_name)
    schedules.compile_model(model, "adam", 1e-3, "constant", 2, 1, steps_per_execution=2)
    traces, train_step = [], model.train_step
    model.train_step = lambda data: traces.append(1) or train_step(data)
    x, y = np.zeros((8, 28, 28), np.uint8), np.arange(8) % 10
    model.fit(**backend.fit_inputs(x, y, 4, 0, 2), epochs=1, verbose=0)
    assert traces == [1]
