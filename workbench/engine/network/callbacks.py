"""Keras's stateful callbacks, extended to survive a resume.

``ReduceLROnPlateau`` and ``EarlyStopping`` count epochs without improvement; ``on_train_begin``
resets that count, so a run resumed from its checkpoint would forget it. These subclasses give
the count to ``state.json`` (``get_state``) each epoch and take it back (``set_state``) when a
resumed fit begins. Importing this module imports Keras.
"""

from __future__ import annotations

from typing import Any

from workbench.engine.network.backend import keras as _keras

keras: Any = _keras()


class Resumable(keras.callbacks.Callback):
    """A callback whose ``STATE`` attributes are saved with each epoch and restored on resume."""

    STATE: tuple[str, ...] = ()

    def __init__(self, *args, state: dict | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.saved = dict(state or {})

    def on_train_begin(self, logs=None) -> None:
        super().on_train_begin(logs)
        self.set_state(self.saved)

    def get_state(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in self.STATE
                if getattr(self, name, None) is not None}

    def set_state(self, state: dict) -> None:
        for name in self.STATE:
            if name in state:
                setattr(self, name, state[name])


class ResumablePlateau(Resumable, keras.callbacks.ReduceLROnPlateau):
    STATE = ("wait", "best", "cooldown_counter")


class ResumableEarlyStopping(Resumable, keras.callbacks.EarlyStopping):
    STATE = ("wait", "best")
