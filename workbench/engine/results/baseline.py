"""The statistical-noise baseline: random labels, the floor every model must beat."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.engine.data.competition import Competition


@dataclass(frozen=True)
class RandomBaseline:
    test_labels: np.ndarray
    train_accuracy: float | None


def random_baseline(competition: Competition, seed: int = 0) -> RandomBaseline:
    """Uniform random labels for the test set, and their accuracy on the labelled rows."""
    rng = np.random.default_rng(seed)
    test_labels = rng.integers(0, 10, competition.n_test, dtype=np.uint8)
    guesses = rng.integers(0, 10, competition.n_train, dtype=np.uint8)
    accuracy = float((guesses == competition.train_labels).mean()) if competition.n_train else None
    return RandomBaseline(test_labels, accuracy)
