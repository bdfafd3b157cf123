"""Keras's stateful callbacks keep their counts across a resume."""

import pytest

from workbench.engine.network.callbacks import ResumableEarlyStopping, ResumablePlateau
from workbench.engine.network.schedules import plateau_callback


@pytest.mark.parametrize("callback, state", [
    (ResumableEarlyStopping(monitor="val_loss", patience=3,
                            state={"wait": 2, "best": 0.25}), {"wait": 2.0, "best": 0.25}),
    (plateau_callback("val_loss", {"wait": 1, "best": 0.5, "cooldown_counter": 0}),
     {"wait": 1.0, "best": 0.5, "cooldown_counter": 0.0}),
])
def test_a_resumed_fit_starts_from_the_saved_counts(callback, state):
    callback.on_train_begin()  # plain Keras resets wait to 0 and best to infinity here
    assert callback.get_state() == state


def test_the_state_is_what_the_callback_counted():
    callback = ResumablePlateau(monitor="val_loss", patience=5)
    callback.on_train_begin()
    callback.wait, callback.best = 3, 0.125
    assert callback.get_state()["wait"] == 3 and callback.get_state()["best"] == 0.125
    fresh = ResumablePlateau(monitor="val_loss", patience=5, state=callback.get_state())
    fresh.on_train_begin()
    assert fresh.get_state() == callback.get_state()
