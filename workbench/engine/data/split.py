"""Stratified, seeded train/validation splits."""

from __future__ import annotations

import numpy as np


def stratified_split(labels: np.ndarray, fraction: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
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


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Each row's fold (0..folds-1): every class dealt round-robin after a seeded shuffle, so
    the folds are disjoint, cover every row once, and differ in size by at most one per class."""
    rng = np.random.default_rng(seed)
    assignment = np.zeros(len(labels), dtype=np.int64)
    start = 0
    for digit in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        assignment[rows] = (start + np.arange(len(rows))) % folds
        start = (start + len(rows)) % folds  # the next class starts where this one ended
    return assignment


def fold_split(labels: np.ndarray, folds: int, fold: int, seed: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, validation) of fold ``fold`` of ``folds``: the fold is held out."""
    assignment = stratified_folds(labels, folds, seed)
    return np.flatnonzero(assignment != fold), np.flatnonzero(assignment == fold)
