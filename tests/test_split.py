"""Stratified, seeded validation splits."""

import numpy as np

from workbench.engine.data.split import stratified_split


def test_split_is_stratified_disjoint_and_seeded():
    labels = np.repeat(np.arange(10), [100, 50, 100, 100, 100, 100, 100, 100, 100, 30])
    train, val = stratified_split(labels, 0.1, seed=3)
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == len(labels)
    counts = np.bincount(labels[val], minlength=10)
    assert counts.tolist() == [10, 5, 10, 10, 10, 10, 10, 10, 10, 3]
    np.testing.assert_array_equal(val, stratified_split(labels, 0.1, seed=3)[1])
    assert not np.array_equal(val, stratified_split(labels, 0.1, seed=4)[1])


def test_no_validation():
    train, val = stratified_split(np.zeros(5, np.uint8), 0.0, seed=0)
    assert train.tolist() == [0, 1, 2, 3, 4] and val.size == 0
