"""Review a run's validation predictions: accuracy, confusion matrix, mistakes by confidence;
and the suspect-label list that training can exclude."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.engine.errors import WorkbenchError
from workbench.engine.results.prediction import load_npz
from workbench.engine.runs import run as runs


@dataclass(frozen=True)
class Mistake:
    """A misclassified validation row: its train id, label, prediction and top-3 guesses."""

    id: int
    label: int
    predicted: int
    confidence: float
    top3: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class Review:
    accuracy: float
    confusion: np.ndarray  # confusion[true, predicted]
    mistakes: list[Mistake]  # most confident first

    def cell(self, true: int, predicted: int) -> list[Mistake]:
        return [m for m in self.mistakes if m.label == true and m.predicted == predicted]


def confused_pairs(confusion: list[list[int]] | np.ndarray, count: int = 5
                   ) -> list[tuple[int, int, int]]:
    """The ``count`` most frequent mistakes as (true digit, predicted digit, times), most
    first; ties in digit order. A confusion matrix's rows are the true digits."""
    matrix = np.asarray(confusion, dtype=np.int64)
    pairs = [(int(matrix[t, p]), t, p) for t in range(len(matrix)) for p in range(len(matrix))
             if t != p and matrix[t, p] > 0]
    pairs.sort(key=lambda pair: (-pair[0], pair[1], pair[2]))
    return [(t, p, n) for n, t, p in pairs[:count]]


def review_run(run: runs.Run) -> Review:
    """Read a run's val_predictions.npz and summarise it; RunDamaged if it is damaged."""
    path = run.val_predictions
    if not path.is_file():
        raise WorkbenchError(f"{run.id} has no validation predictions (it has not finished an "
                             "epoch with a validation split).")
    try:
        saved = load_npz(path, "probabilities", "labels", "ids")
        return checked_review(saved["probabilities"], saved["labels"], saved["ids"], path.name)
    except ValueError as error:
        raise runs.RunDamaged(run.path, str(error)) from None


def checked_review(probabilities: np.ndarray, labels: np.ndarray, ids: np.ndarray,
                   source: str) -> Review:
    """``review_predictions`` of saved arrays; ValueError(reason) if they do not fit together
    (N x 10 probabilities, N labels 0-9 and N ids)."""
    n = len(labels) if labels.ndim == 1 else -1
    if not (probabilities.shape == (n, 10) and ids.shape == (n,)
            and np.issubdtype(probabilities.dtype, np.number)
            and np.issubdtype(labels.dtype, np.integer) and np.issubdtype(ids.dtype, np.integer)
            and (not n or (labels.min() >= 0 and labels.max() <= 9))):
        raise ValueError(f"{source} holds arrays that do not fit together")
    return review_predictions(probabilities, labels.astype(int), ids.astype(int))


def review_predictions(probabilities: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> Review:
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    wrong = np.flatnonzero(predicted != labels)
    order = wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")]
    mistakes = []
    for i in order.tolist():
        top = np.argsort(-probabilities[i])[:3]
        mistakes.append(Mistake(int(ids[i]), int(labels[i]), int(predicted[i]),
                                float(probabilities[i, predicted[i]]),
                                tuple((int(d), float(probabilities[i, d])) for d in top)))
    accuracy = float((predicted == labels).mean()) if len(labels) else 0.0
    return Review(accuracy, confusion, mistakes)
