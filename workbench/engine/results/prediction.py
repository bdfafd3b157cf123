"""Prediction: a run's best checkpoint (with optional test-time augmentation), and ensembles."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any

import numpy as np

from workbench.engine.errors import WorkbenchError, shown
from workbench.engine.results.submission import write_submission
from workbench.engine.runs import run as runs
from workbench.engine.store import atomic


@dataclass(frozen=True)
class Prediction:
    """Probabilities for the test set and for the validation rows (train row ids, labels)."""

    test_probabilities: np.ndarray
    image_ids: np.ndarray
    val_probabilities: np.ndarray
    val_labels: np.ndarray
    val_ids: np.ndarray

    @property
    def val_accuracy(self) -> float | None:
        if not len(self.val_labels):
            return None
        return float((self.val_probabilities.argmax(axis=1) == self.val_labels).mean())


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    payload: dict[str, Any] = dict(arrays)
    atomic.write_file(path, lambda out: np.savez(out, **payload))


def load_npz(path: Path, *keys: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, read whole; ValueError(reason) if it is missing, not a
    regular file, cut short, damaged, not an .npz, or lacks one of ``keys``."""
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        raise ValueError(f"{path.name} is missing") from None
    except OSError as error:
        raise ValueError(f"{path.name} cannot be read ({error.strerror})") from None
    if not regular:
        raise ValueError(f"{path.name} is not a regular file")
    arrays = None
    try:
        with open(path, "rb") as handle:
            saved = np.load(handle, allow_pickle=False)
            if isinstance(saved, np.lib.npyio.NpzFile):
                with saved:
                    arrays = {key: saved[key] for key in saved.files}
    except Exception as error:  # BadZipFile, EOFError, OSError, zlib.error, pickled objects...
        raise ValueError(f"{path.name} cannot be read ({type(error).__name__}: cut short or "
                         "damaged)") from None
    if arrays is None:
        raise ValueError(f"{path.name} is not an .npz file")
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise ValueError(f"{path.name} has no '{missing[0]}' array")
    text = next((key for key in keys if arrays[key].dtype.kind not in "biuf"), None)
    if text is not None:  # numbers stored as strings, say: no arithmetic may meet them
        raise ValueError(f"{path.name}'s '{text}' array holds {arrays[text].dtype}, not numbers")
    return arrays


def checked(run: Path, prediction: Prediction, source: str) -> Prediction:
    """``prediction`` if its arrays fit together (N x 10 probabilities, one id per row, labels
    0-9); else RunDamaged naming ``source``."""
    p = prediction
    fit = (p.test_probabilities.ndim == 2 and p.test_probabilities.shape[1] == 10
           and p.image_ids.shape == p.test_probabilities.shape[:1]
           and p.val_probabilities.ndim == 2 and p.val_probabilities.shape[1] == 10
           and p.val_labels.shape == p.val_ids.shape == p.val_probabilities.shape[:1]
           and all(np.issubdtype(a.dtype, np.number) for a in (
               p.test_probabilities, p.val_probabilities))
           and all(np.issubdtype(a.dtype, np.integer) for a in (
               p.image_ids, p.val_labels, p.val_ids))
           and (not len(p.val_labels) or (p.val_labels.min() >= 0 and p.val_labels.max() <= 9))
           and (not len(p.val_ids) or p.val_ids.min() >= 1))
    if not fit:
        raise runs.RunDamaged(run, f"{source} holds arrays that do not fit together")
    return prediction


def pseudo_labels(path: Path, test_ids: np.ndarray, threshold: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Test rows (indices) whose averaged probability in ``path`` (a CV's test.npz) reaches
    ``threshold``, and their predicted labels: extra training rows that use no test label."""
    try:
        saved = load_npz(path, "probabilities", "image_ids")
    except ValueError as error:
        raise WorkbenchError(f"cannot read pseudo-labels from {shown(str(path))} ({error});"
                             " give a finished CV's test.npz.") from None
    probabilities, ids = saved["probabilities"], saved["image_ids"]
    if (probabilities.shape != (len(test_ids), 10) or ids.shape != test_ids.shape
            or not np.array_equal(ids, test_ids)):
        raise WorkbenchError(f"the pseudo-labels in {path} are for another test set; give a CV "
                             "trained on the same data.")
    rows = np.flatnonzero(probabilities.max(axis=1) >= threshold)
    return rows, probabilities[rows].argmax(axis=1).astype(np.uint8)


def held_out_accuracy(members: list[Path], key: str = "probabilities"
                       ) -> tuple[float, int] | None:
    """The accuracy of the members' saved validation ``key`` averaged, on the rows every member
    held out, and the number of those rows; None if a member saved none or no row is common.
    RunDamaged if a member's predictions are damaged. ``key`` "probabilities" is each member's
    best epoch; "last_probabilities" its last (see ``last_epoch_accuracy``)."""
    saved = []
    for run in members:
        path = runs.Run(run).val_predictions
        if not path.is_file():
            return None
        try:
            val = load_npz(path, "labels", "ids", *(("probabilities",) if key == "probabilities"
                                                     else ()))
        except ValueError as error:
            raise runs.RunDamaged(run, str(error)) from None
        if key not in val:
            return None
        if not (val[key].shape == (len(val["ids"]), 10)
                and val["labels"].shape == val["ids"].shape):
            raise runs.RunDamaged(run, f"{path.name} holds arrays that do not fit together")
        saved.append((val[key], val["labels"], val["ids"]))
    if not saved:
        return None
    probabilities, labels, common = on_common_rows(saved)
    if not len(common):
        return None
    return float((np.mean(probabilities, axis=0).argmax(axis=1) == labels).mean()), len(common)


def last_epoch_accuracy(members: list[Path]) -> float | None:
    """The held-out accuracy of the members' last epochs, averaged, on the rows all held out.

    best.keras is the epoch chosen on the held-out rows, so its accuracy flatters; the last
    epoch was chosen by nothing, and it is what a refit on every row keeps. None unless every
    member saved its last epoch's predictions (older runs did not) and some row is common.
    """
    held_out = held_out_accuracy(members, "last_probabilities")
    return None if held_out is None else held_out[0]


def on_common_rows(runs_rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
                    ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Each run's (probabilities, labels, sorted ids) cut to the rows every run has: the
    probabilities of each run, the labels and the ids of those rows."""
    common = reduce(np.intersect1d, [ids for _, _, ids in runs_rows])
    probabilities = [p[np.searchsorted(ids, common)] for p, _, ids in runs_rows]
    _, labels, ids = runs_rows[0]
    return probabilities, labels[np.searchsorted(ids, common)], common


def save_prediction(prediction: Prediction, name: str, force: bool = False,
                    directory: Path | None = None) -> Path:
    """The submission CSV, through the one writer, and its probabilities beside it."""
    path = write_submission(prediction.image_ids, prediction.test_probabilities.argmax(axis=1),
                            name, directory=directory, force=force)
    write_npz(path.with_suffix(".npz"), probabilities=prediction.test_probabilities,
              image_ids=prediction.image_ids)
    return path
