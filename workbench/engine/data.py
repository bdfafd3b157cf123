"""Load a competition: Kaggle's zip as downloaded, a folder of CSVs, one CSV, or the embedded sample."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from workbench.engine.cache import cached_table
from workbench.engine.csvformat import SIDE, Table, parse_csv
from workbench.engine.errors import WorkbenchError

SAMPLE_NAME = "embedded sample"
MAX_CSV_BYTES = 2 << 30
_WHAT = ("point --data at Kaggle's digit-recognizer.zip, a folder holding train.csv and test.csv, "
         "or one CSV")


@dataclass(frozen=True)
class Competition:
    """A loaded competition: uint8 images (N, 28, 28), uint8 labels, test ImageIds 1..M."""

    source: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_ids: np.ndarray

    @property
    def n_train(self) -> int:
        return len(self.train_images)

    @property
    def n_test(self) -> int:
        return len(self.test_images)


def sample_path() -> Path:
    """The Kaggle-shaped sample shipped in the package (5,000 train + 1,000 test rows)."""
    return Path(str(resources.files("workbench.engine") / "sample" / "digit-recognizer-sample.zip"))


def data_path(path: str | os.PathLike | None = None) -> Path:
    """Where data comes from: ``path``, else ``$WORKBENCH_DATA``, else the embedded sample."""
    chosen = path or os.environ.get("WORKBENCH_DATA")
    return Path(chosen).expanduser() if chosen else sample_path()


def describe_source(path: Path) -> str:
    return SAMPLE_NAME if path == sample_path() else str(path)


def load_competition(path: str | os.PathLike | None = None) -> Competition:
    """Load and validate a competition; raises WorkbenchError naming the problem and the fix."""
    source = data_path(path)
    if not source.exists():
        raise WorkbenchError(f"{source} does not exist; {_WHAT}.")
    if source.is_dir():
        train, test = _load_folder(source)
    elif zipfile.is_zipfile(source):
        train, test = _load_zip(source)
    elif source.suffix.lower() == ".zip":
        raise WorkbenchError(f"{source} is not a valid zip archive; download it again.")
    else:
        table = _load_file(source, None)
        empty = Table(np.zeros((0, SIDE, SIDE), np.uint8), np.zeros(0, np.uint8))
        train, test = (table, empty) if table.labels is not None else (empty, table)
    return Competition(
        source=describe_source(source),
        train_images=train.images,
        train_labels=train.labels,
        test_images=test.images,
        test_ids=np.arange(1, len(test.images) + 1, dtype=np.int32),
    )


def _load_folder(folder: Path) -> tuple[Table, Table]:
    zips = sorted(folder.glob("*.zip"))
    if not (folder / "train.csv").exists() and len(zips) == 1:
        return _load_zip(zips[0])
    for name in ("train.csv", "test.csv"):
        if not (folder / name).exists():
            raise WorkbenchError(f"{folder} has no {name}; {_WHAT}.")
    return _load_file(folder / "train.csv", True), _load_file(folder / "test.csv", False)


def _labelled_by_name(name: str) -> bool | None:
    return {"train.csv": True, "test.csv": False}.get(name.lower())


def _load_file(path: Path, labelled: bool | None) -> Table:
    if labelled is None:
        labelled = _labelled_by_name(path.name)
    try:
        stat = path.stat()
        if stat.st_size > MAX_CSV_BYTES:
            raise WorkbenchError(f"{path} is {stat.st_size >> 20} MiB, too big for a digit CSV; "
                                 f"{_WHAT}.")
        return cached_table(
            f"file:{path.resolve()}:{labelled}",
            f"{stat.st_size}:{stat.st_mtime_ns}",
            lambda: parse_csv(path.read_bytes(), str(path), labelled),
        )
    except IsADirectoryError:
        raise WorkbenchError(f"{path} is a folder where a CSV file belongs; {_WHAT}.") from None
    except OSError as error:
        raise WorkbenchError(f"cannot read {path}: {error.strerror or error}; check the file "
                             "and its permissions.") from None


def _load_zip(path: Path) -> tuple[Table, Table]:
    try:
        with zipfile.ZipFile(path) as archive:
            return _zip_member(archive, path, "train.csv"), _zip_member(archive, path, "test.csv")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise WorkbenchError(f"{path} is a damaged zip ({error}); download it again.") from None
    except OSError as error:
        raise WorkbenchError(f"cannot read {path}: {error.strerror or error}; check the file "
                             "and its permissions.") from None


def _zip_member(archive: zipfile.ZipFile, path: Path, name: str) -> Table:
    members = [info for info in archive.infolist()
               if not info.is_dir() and Path(info.filename).name.lower() == name]
    if len(members) != 1:
        problem = f"has no {name}" if not members else f"holds {len(members)} files named {name}"
        raise WorkbenchError(f"{path} {problem}; it should be Kaggle's digit-recognizer.zip "
                             "(kaggle competitions download -c digit-recognizer).")
    info = members[0]
    display = f"{info.filename} (in {path.name})"
    if info.file_size > MAX_CSV_BYTES:
        raise WorkbenchError(f"{display} would unpack to {info.file_size >> 20} MiB, too big for "
                             "a digit CSV; download the competition zip again.")
    return cached_table(
        f"zip:{path.resolve()}:{info.filename}:{name}",
        f"{info.CRC}:{info.file_size}",
        lambda: parse_csv(_read_member(archive, info), display, _labelled_by_name(name)),
    )


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Read a member, refusing more bytes than its header declares (a zip-bomb guard)."""
    with archive.open(info) as member:
        data = member.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise zipfile.BadZipFile(f"{info.filename} is larger than its header says")
    return data
