"""data info: counts, class balance, pixel statistics and duplicate images."""

import numpy as np
import pytest

from tests.helpers import make_images
from workbench.engine.data.competition import Competition
from workbench.engine.data.stats import data_info


def competition(train, labels, test):
    return Competition("test", train, labels, test, np.arange(1, len(test) + 1, dtype=np.int32))


def test_counts_and_balance():
    labels = np.array([0, 0, 1, 9, 9, 9], dtype=np.uint8)
    info = data_info(competition(make_images(6), labels, make_images(2, seed=5)))
    assert (info.train_rows, info.test_rows) == (6, 2)
    assert info.class_counts == {0: 2, 1: 1, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 3}


def test_pixel_statistics():
    train = np.zeros((2, 28, 28), np.uint8)
    train[0, 5, 5] = 255
    train[1, 5, 6] = 100
    info = data_info(competition(train, np.array([1, 2], np.uint8), np.zeros((0, 28, 28),
                                                                              np.uint8)))
    assert info.always_zero_pixels == 782
    assert info.zero_fraction == 1 - 2 / (2 * 784)
    assert abs(info.pixel_mean - 355 / (2 * 784)) < 1e-9
    assert info.mean_ink_per_class == {1: 1.0, 2: 1.0}


def test_duplicates_within_and_across_splits():
    train = make_images(6)
    train[1] = train[0]          # same image, same label
    train[3] = train[2]          # same image, conflicting label
    train[4] = train[2]
    labels = np.array([7, 7, 1, 2, 1, 0], dtype=np.uint8)
    test = make_images(3, seed=3)
    test[2] = test[0]
    test[1] = train[5]
    dup = data_info(competition(train, labels, test)).duplicates
    assert (dup.train_groups, dup.train_extra_copies, dup.train_conflicting_labels) == (2, 3, 1)
    assert (dup.test_groups, dup.test_extra_copies, dup.train_test_shared) == (1, 1, 1)


def test_no_duplicates_in_distinct_images():
    dup = data_info(competition(make_images(5), np.arange(5, dtype=np.uint8),
                                make_images(5, seed=1))).duplicates
    assert dup.train_groups == dup.test_groups == dup.train_test_shared == 0


def test_review_counts_and_orders_mistakes():
    from workbench.engine.results.review import review_predictions

    probabilities = np.full((4, 10), 0.01, np.float32)
    probabilities[0, 3] = 0.91   # label 3, right
    probabilities[1, 5] = 0.60   # label 3, predicted 5 at 60%
    probabilities[2, 5] = 0.90   # label 3, predicted 5 at 90%
    probabilities[3, 1] = 0.91   # label 1, right
    review = review_predictions(probabilities, np.array([3, 3, 3, 1]), np.array([10, 11, 12, 13]))
    assert review.accuracy == 0.5
    assert review.confusion[3, 5] == 2 and review.confusion[3, 3] == 1
    assert [m.id for m in review.mistakes] == [12, 11]
    assert review.mistakes[0].top3[0] == (5, pytest.approx(0.9))
    assert review.cell(3, 5) == review.mistakes and review.cell(1, 1) == []


def test_suspects_toggle(tmp_path):
    from workbench.engine.data.suspects import read_suspects, toggle_suspect

    path = tmp_path / "suspects.csv"
    assert toggle_suspect(7, path) and toggle_suspect(3, path)
    assert read_suspects(path) == {3, 7}
    assert not toggle_suspect(7, path)
    assert path.read_text() == "id\n3\n"
