"""What `data info` reports: rows, class balance, pixel statistics, duplicate images."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from workbench.engine.data.competition import Competition
from workbench.engine.data.csvformat import N_PIXELS


@dataclass(frozen=True)
class Duplicates:
    """Groups of identical images: within train, within test, and shared between the two."""

    train_groups: int
    train_extra_copies: int
    train_conflicting_labels: int
    test_groups: int
    test_extra_copies: int
    train_test_shared: int


@dataclass(frozen=True)
class DataInfo:
    source: str
    train_rows: int
    test_rows: int
    class_counts: dict[int, int]
    pixel_mean: float
    pixel_std: float
    zero_fraction: float
    always_zero_pixels: int
    mean_ink_per_class: dict[int, float]
    duplicates: Duplicates

    def to_dict(self) -> dict:
        return asdict(self)


def data_info(competition: Competition) -> DataInfo:
    """Summarise a competition; duplicate search uses exact image equality."""
    train, test = _flat(competition.train_images), _flat(competition.test_images)
    labels = competition.train_labels
    flat = np.concatenate([train, test])
    counts = np.bincount(labels, minlength=10)
    ink = (train > 0).sum(axis=1)
    return DataInfo(
        source=competition.source,
        train_rows=len(train),
        test_rows=len(test),
        class_counts={digit: int(n) for digit, n in enumerate(counts)},
        pixel_mean=float(flat.mean()) if flat.size else 0.0,
        pixel_std=float(flat.std()) if flat.size else 0.0,
        zero_fraction=float((flat == 0).mean()) if flat.size else 0.0,
        always_zero_pixels=int((flat.max(axis=0) == 0).sum()) if len(flat) else 0,
        mean_ink_per_class={d: round(float(ink[labels == d].mean()), 1)
                            for d in range(10) if counts[d]},
        duplicates=find_duplicates(competition.train_images, labels, competition.test_images),
    )


def _flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), N_PIXELS)


def _groups(flat: np.ndarray) -> np.ndarray:
    """Group id of each row: equal rows share an id."""
    if not len(flat):
        return np.zeros(0, np.int64)
    rows = np.ascontiguousarray(flat).view(np.dtype((np.void, flat.shape[1]))).ravel()
    return np.unique(rows, return_inverse=True)[1].ravel()


def find_duplicates(train: np.ndarray, labels: np.ndarray, test: np.ndarray) -> Duplicates:
    n = len(train)
    flat = np.concatenate([_flat(train), _flat(test)])
    group = _groups(flat)
    train_group, test_group = group[:n], group[n:]

    def repeated(ids: np.ndarray) -> tuple[int, int, np.ndarray]:
        values, counts = np.unique(ids, return_counts=True)
        many = values[counts > 1]
        return len(many), int((counts[counts > 1] - 1).sum()), many

    train_groups, train_extra, train_many = repeated(train_group)
    conflicting = sum(len(np.unique(labels[train_group == g])) > 1 for g in train_many)
    test_groups, test_extra, _ = repeated(test_group)
    shared = len(np.intersect1d(train_group, test_group))
    return Duplicates(train_groups, train_extra, int(conflicting), test_groups, test_extra, shared)
