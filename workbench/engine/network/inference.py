"""Prediction: a run's best checkpoint (with optional test-time augmentation), and ensembles."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.engine.errors import WorkbenchError, shown
from workbench.engine.runs import run as runs

TTA_SHIFTS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


def shifted(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Images moved by (dy, dx) pixels, the uncovered edge filled with black."""
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def load_checkpoint(path: Path):
    """A saved model, with the workbench's custom layers, loss and schedules registered;
    WorkbenchError naming the file if it cannot be loaded (cut short, damaged, not a model)."""
    from workbench.engine.network import layers, losses, schedules  # noqa: F401  (custom objects)
    from workbench.engine.network.backend import keras, use_xla

    if not path.is_file():
        raise WorkbenchError(f"{shown(str(path))} does not exist; train the run first.")
    try:
        model = keras().saving.load_model(path)
    except Exception as error:  # Keras raises many kinds for a damaged file
        raise WorkbenchError(
            f"{shown(str(path))} cannot be loaded as a Keras model ({type(error).__name__}:"
            " cut short or damaged)", (*runs.delete_fix(path.parent), ", or train it again.")
        ) from None
    return use_xla(model)


def predict_probabilities(model, images: np.ndarray, tta: bool = False,
                          batch_size: int = 1024) -> np.ndarray:
    """Softmax probabilities (N, 10); ``tta`` averages the image and its four 1-pixel shifts.

    A batch at a time: for a model compiled with several steps per call, Keras' ``predict``
    unrolls each call's batches into one graph, traced anew for every count of batches (16,
    then the rest, then the validation rows' 5): 1.8 s for the test rows of fast-cnn, 0.7 s
    once traced, where a batch at a time takes 0.9 s, then 0.6 s."""
    if not len(images):
        return np.zeros((0, 10), np.float32)
    views = [shifted(images, dy, dx) for dy, dx in TTA_SHIFTS] if tta else [images]
    total = np.zeros((len(images), 10), np.float32)
    for view in views:
        for start in range(0, len(view), batch_size):
            total[start:start + batch_size] += np.asarray(
                model.predict_on_batch(view[start:start + batch_size]), np.float32)
    return total / len(views)
