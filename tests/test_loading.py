"""Every way data comes in: Kaggle's zip, a folder, one CSV, the sample, $WORKBENCH_DATA."""

import numpy as np
import pytest

from tests.helpers import csv_bytes, make_images
from workbench.engine.data.competition import SAMPLE_NAME, load_competition


def assert_matches(competition, kaggle):
    assert competition.train_images.dtype == np.uint8
    assert competition.train_images.shape == (len(kaggle.train_images), 28, 28)
    np.testing.assert_array_equal(competition.train_images, kaggle.train_images)
    np.testing.assert_array_equal(competition.train_labels, kaggle.train_labels)
    np.testing.assert_array_equal(competition.test_images, kaggle.test_images)
    np.testing.assert_array_equal(competition.test_ids, np.arange(1, len(kaggle.test_images) + 1))


def test_zip_as_downloaded(kaggle):
    assert_matches(load_competition(kaggle.zip()), kaggle)


def test_zip_with_csvs_in_a_subfolder(kaggle):
    assert_matches(load_competition(kaggle.zip(prefix="digit-recognizer/")), kaggle)


def test_folder_of_csvs(kaggle):
    assert_matches(load_competition(kaggle.folder()), kaggle)


def test_folder_holding_only_the_zip(kaggle, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    kaggle.zip().rename(folder / "digit-recognizer.zip")
    assert_matches(load_competition(folder), kaggle)


@pytest.mark.parametrize("labelled", [True, False], ids=["train-only", "test-only"])
def test_a_single_csv_is_train_or_test_by_its_label_column(kaggle, tmp_path, labelled):
    path = tmp_path / "mine.csv"
    path.write_bytes(kaggle.train_csv if labelled else kaggle.test_csv)
    competition = load_competition(path)
    if labelled:
        np.testing.assert_array_equal(competition.train_labels, kaggle.train_labels)
    else:
        np.testing.assert_array_equal(competition.test_images, kaggle.test_images)
    assert (competition.n_train > 0, competition.n_test > 0) == (labelled, not labelled)


def test_bom_and_crlf_load(tmp_path):
    images, labels = make_images(5), np.arange(5, dtype=np.uint8)
    path = tmp_path / "train.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_bytes(images, labels, newline="\r\n"))
    competition = load_competition(path)
    np.testing.assert_array_equal(competition.train_images, images)
    np.testing.assert_array_equal(competition.train_labels, labels)


def test_blank_lines_are_skipped(tmp_path):
    images, labels = make_images(3), np.arange(3, dtype=np.uint8)
    lines = csv_bytes(images, labels).split(b"\n")
    path = tmp_path / "train.csv"
    path.write_bytes(b"\n".join([lines[0], lines[1], b"", lines[2], lines[3]]) + b"\n\n")
    np.testing.assert_array_equal(load_competition(path).train_labels, labels)


def test_default_is_the_embedded_sample():
    competition = load_competition()
    assert competition.source == SAMPLE_NAME
    assert (competition.n_train, competition.n_test) == (5000, 1000)
    assert set(np.unique(competition.train_labels)) == set(range(10))
    # Real digits: mostly blank paper, some full ink.
    assert 0.7 < (competition.train_images == 0).mean() < 0.9
    assert competition.train_images.max() == 255


def test_workbench_data_variable(kaggle, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA", str(kaggle.zip()))
    assert_matches(load_competition(), kaggle)


def test_explicit_path_beats_the_variable(kaggle, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path / "nowhere.zip"))
    assert_matches(load_competition(kaggle.folder()), kaggle)


@pytest.mark.parametrize("n", [1, 2])
def test_one_or_two_rows(tmp_path, n):
    images = make_images(n)
    path = tmp_path / "test.csv"
    path.write_bytes(csv_bytes(images))
    assert load_competition(path).test_images.shape == (n, 28, 28)
