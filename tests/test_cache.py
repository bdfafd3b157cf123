"""Parsed arrays are cached; a changed file is parsed again."""

import os

import numpy as np
import pytest

from tests.helpers import csv_bytes, make_images
from workbench.engine.data import competition as data, csvformat
from workbench.engine.data.cache import cache_dir
from workbench.engine.data.competition import load_competition
from workbench.engine.errors import WorkbenchError


@pytest.fixture
def parse_calls(monkeypatch):
    """Count calls of the CSV parser the loader uses."""
    calls = []

    def counting(*args, **kwargs):
        calls.append(args[1])
        return csvformat.parse_csv(*args, **kwargs)

    monkeypatch.setattr(data, "parse_csv", counting)
    return calls


def test_second_load_comes_from_the_cache(kaggle, parse_calls):
    path = kaggle.zip()
    first = load_competition(path)
    assert len(parse_calls) == 2
    assert len(list(cache_dir().glob("*.npz"))) == 2
    second = load_competition(path)
    assert len(parse_calls) == 2
    np.testing.assert_array_equal(first.train_images, second.train_images)
    np.testing.assert_array_equal(first.train_labels, second.train_labels)
    np.testing.assert_array_equal(first.test_images, second.test_images)


def test_changed_csv_is_parsed_again(kaggle, parse_calls):
    folder = kaggle.folder()
    load_competition(folder)
    new_labels = (kaggle.train_labels + 1) % 10
    (folder / "train.csv").write_bytes(csv_bytes(kaggle.train_images, new_labels))
    stat = (folder / "train.csv").stat()
    os.utime(folder / "train.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    reloaded = load_competition(folder)
    np.testing.assert_array_equal(reloaded.train_labels, new_labels)
    assert parse_calls.count(str(folder / "train.csv")) == 2
    assert parse_calls.count(str(folder / "test.csv")) == 1


def test_changed_zip_is_parsed_again(kaggle):
    path = kaggle.zip()
    load_competition(path)
    kaggle.test_csv = csv_bytes(make_images(3, seed=9))
    path.unlink()
    kaggle.zip()
    assert load_competition(path).n_test == 3


def test_file_broken_after_caching_is_reported(kaggle):
    folder = kaggle.folder()
    load_competition(folder)
    (folder / "train.csv").write_bytes(b"")
    with pytest.raises(WorkbenchError, match="is empty"):
        load_competition(folder)


def test_corrupt_cache_entry_is_rebuilt(kaggle):
    path = kaggle.zip()
    load_competition(path)
    for entry in cache_dir().glob("*.npz"):
        entry.write_bytes(b"garbage")
    np.testing.assert_array_equal(load_competition(path).train_labels, kaggle.train_labels)


def test_unwritable_cache_is_ignored(kaggle, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(blocker / "cache"))
    np.testing.assert_array_equal(load_competition(kaggle.zip()).train_labels,
                                  kaggle.train_labels)
