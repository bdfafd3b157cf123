"""Stratified, seeded train/validation splits."""

from __future__ import annotations

import numpy as np


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, validation): ``fraction`` of each class to validation, sorted."""
    if fraction <= 0:
        return np.arange(len(labels)), np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    val = []
    for digit in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        val.append(rows[:max(1, round(fraction * len(rows)))])
    val_idx = np.sort(np.concatenate(val))
    return np.setdiff1d(np.arange(len(labels)), val_idx), val_idx
