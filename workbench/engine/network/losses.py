"""The training loss: cross-entropy of integer labels, with optional label smoothing.

Keras' sparse cross-entropy has no label smoothing, and its one-hot loss would need one-hot
labels in every data path; this loss takes the integer labels as they are. Importing this module
imports Keras (and registers the loss for loading checkpoints).
"""

from typing import Any

from workbench.engine.network.backend import keras as _keras

keras: Any = _keras()
ops = keras.ops


@keras.saving.register_keras_serializable("workbench")
class SmoothedCrossentropy(keras.losses.Loss):
    """(1 - s) * cross-entropy + s * the mean cross-entropy over all 10 classes."""

    def __init__(self, smoothing: float = 0.0, name: str = "smoothed_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smoothing = float(smoothing)

    def call(self, y_true, y_pred):
        log_p = ops.log(ops.clip(ops.cast(y_pred, "float32"), 1e-7, 1.0))
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1, 1))
        nll = -ops.take_along_axis(ops.reshape(log_p, (-1, ops.shape(log_p)[-1])), labels,
                                   axis=-1)[:, 0]
        return (1.0 - self.smoothing) * nll - self.smoothing * ops.mean(log_p, axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "smoothing": self.smoothing}


def loss(label_smoothing: float = 0.0):
    """Keras' own sparse cross-entropy, or this one when smoothing."""
    if label_smoothing:
        return SmoothedCrossentropy(label_smoothing)
    return "sparse_categorical_crossentropy"
