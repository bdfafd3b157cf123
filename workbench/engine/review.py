"""Review a run's validation predictions: accuracy, confusion matrix, mistakes by confidence;
and the suspect-label list that training can exclude."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.engine.atomic import write_atomic
from workbench.engine.errors import WorkbenchError

SUSPECTS_FILE = Path("suspects.csv")


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


def review_run(run: Path) -> Review:
    """Read a run's val_predictions.npz and summarise it."""
    path = run / "val_predictions.npz"
    if not path.is_file():
        raise WorkbenchError(f"{run.name} has no validation predictions (it has not finished an "
                             "epoch with a validation split).")
    with np.load(path) as saved:
        probabilities, labels, ids = saved["probabilities"], saved["labels"], saved["ids"]
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


def read_suspects(path: Path = SUSPECTS_FILE) -> set[int]:
    """Train ids flagged as suspect labels (one per line after the header 'id')."""
    try:
        lines = path.read_text().split()
    except (FileNotFoundError, UnicodeDecodeError):
        return set()
    return {int(line) for line in lines[1:] if line.isdigit()}


def toggle_suspect(train_id: int, path: Path = SUSPECTS_FILE) -> bool:
    """Flag ``train_id`` as a suspect label, or unflag it; returns whether it is now flagged."""
    suspects = read_suspects(path)
    flagged = train_id not in suspects
    suspects = suspects | {train_id} if flagged else suspects - {train_id}
    write_atomic(path, ("id\n" + "".join(f"{i}\n" for i in sorted(suspects))).encode())
    return flagged
