"""Load a competition: Kaggle's zip, a folder of CSVs, one CSV, or the embedded sample."""

from __future__ import annotations

import errno
import os
import stat
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from workbench.engine.data.cache import cached_table
from workbench.engine.data.csvformat import SIDE, Table, parse_csv
from workbench.engine.errors import (
    DENIED,
    Fix,
    Option,
    WorkbenchError,
    describe_os_error,
    printable,
)
from workbench.engine.store import workspace

SAMPLE_NAME = "embedded sample"
KAGGLE_TRAIN, KAGGLE_TEST = 42_000, 28_000
MAX_CSV_BYTES = 2 << 30
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
# Compression methods Python's zipfile reads; others get named in the message.
_READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_METHOD_NAMES = {1: "Shrink", 6: "Implode", 9: "Deflate64", 10: "PKWARE Implode", 18: "IBM TERSE",
                 19: "IBM LZ77", 93: "Zstandard", 95: "XZ", 96: "JPEG", 97: "WavPack",
                 98: "PPMd", 99: "AES encryption"}
# The fix for data that cannot be read, worded by each face (--data in the CLI).
_WHAT: Fix = ("give Kaggle's digit-recognizer.zip, a folder holding train.csv and test.csv, or "
              "one CSV (", Option("data"), ").")


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

    @property
    def kind(self) -> str:
        """"sample" (the embedded one), "full" (Kaggle's 42,000 + 28,000 rows) or "other"."""
        if self.source == SAMPLE_NAME:
            return "sample"
        return "full" if (self.n_train, self.n_test) == (KAGGLE_TRAIN, KAGGLE_TEST) else "other"

    @property
    def label(self) -> str:
        """The data in a few words, for every start line: "full data (42,000 labelled rows)",
        "the embedded sample (5,000 labelled rows)", or the path and its rows."""
        what = {"sample": "the embedded sample", "full": "full data"}.get(self.kind, self.source)
        return f"{what} ({self.n_train:,} labelled rows)"


def sample_path() -> Path:
    """The Kaggle-shaped sample shipped in the package (5,000 train + 1,000 test rows)."""
    return Path(str(resources.files(__package__) / "sample" / "digit-recognizer-sample.zip"))


def data_path(path: str | os.PathLike | None = None) -> Path:
    """Where data comes from: ``path``, else ``$WORKBENCH_DATA``, else Kaggle's zip where
    ``kaggle download`` put it (``data/digit-recognizer.zip`` in the workspace), else the
    embedded sample."""
    chosen = path or os.environ.get("WORKBENCH_DATA")
    if chosen:
        return expand_home(Path(chosen))
    downloaded = workspace.downloaded_data()
    return downloaded if downloaded.is_file() else sample_path()


def expand_home(path: Path) -> Path:
    """``path`` with ``~`` or ``~user`` expanded; a user with no home is one sentence."""
    try:
        return path.expanduser()
    except RuntimeError:
        raise WorkbenchError(f"{path}: '{path.parts[0]}' names no user with a home folder on "
                             "this machine; give the full path.") from None


def describe_source(path: Path) -> str:
    """The data's name for messages and reports (control characters and stray bytes escaped)."""
    return SAMPLE_NAME if path == sample_path() else printable(str(path))


def check_path(path: Path, fix: Fix, noun: str = "a file") -> os.stat_result:
    """``stat`` of a file or folder the user named; anything else raises one sentence.

    A missing file, a dangling link, a link loop, a file used as a folder, a name too long and a
    device, pipe or socket (which can block forever or never end) are all refused here, before
    anything is opened."""
    try:
        info = path.stat()
    except OSError as error:
        raise _path_error(path, error, fix) from None
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise WorkbenchError(f"{path} is {_kind(info.st_mode)}, not {noun}", fix)
    return info


def read_file(path: Path, limit: int, fix: Fix, noun: str) -> bytes:
    """The bytes of the regular file ``path``, refusing folders, devices, pipes and files over
    ``limit`` bytes (``/dev/zero`` or a file that grows while read) with one sentence each."""
    info = check_path(path, fix, noun)
    if stat.S_ISDIR(info.st_mode):
        raise WorkbenchError(f"{path} is a folder where {noun} belongs", fix)
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK)
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):  # swapped since check_path
                raise WorkbenchError(f"{path} is not a regular file", fix)
            data = file.read(min(info.st_size, limit) + 1)  # one read, unless it grows meanwhile
            while len(data) <= limit and (more := file.read(1 << 20)):
                data += more
    except OSError as error:
        raise _path_error(path, error, fix) from None
    if len(data) > limit:
        raise WorkbenchError(f"{path} is over {limit >> 20} MiB, too big for {noun}", fix)
    return data


def _path_error(path: Path, error: OSError, fix: Fix) -> WorkbenchError:
    """The sentence for a file the user named that cannot be opened: ``fix`` when it is missing,
    else the fix for that error (a shorter name, the link to mend, the permissions)."""
    if error.errno in DENIED:
        return WorkbenchError(f"cannot read {path}: {error.strerror}; check the file and its "
                              "permissions.")
    if error.errno == errno.ENOENT:
        if path.is_symlink():
            return WorkbenchError(f"{path} is a link to {os.readlink(path)}, which does not "
                                  "exist", fix)
        return WorkbenchError(f"{path} does not exist", fix)
    return WorkbenchError(describe_os_error(OSError(error.errno, error.strerror, str(path))))


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "not a regular file"


def load_competition(path: str | os.PathLike | None = None) -> Competition:
    """Load and validate a competition; raises WorkbenchError naming the problem and the fix."""
    source = data_path(path)
    info = check_path(source, _WHAT, "a zip, folder or CSV")
    if stat.S_ISDIR(info.st_mode):
        train, test = _load_folder(source)
    elif zipfile.is_zipfile(source):
        train, test = _load_zip(source)
    elif source.suffix.lower() == ".zip":
        raise WorkbenchError(f"{source} is not a valid zip archive; download it again.")
    else:
        table = _load_file(source, None)
        empty = Table(np.zeros((0, SIDE, SIDE), np.uint8), np.zeros(0, np.uint8))
        train, test = (table, empty) if table.labels is not None else (empty, table)
    assert train.labels is not None  # a train table always has its labels
    return Competition(
        source=describe_source(source),
        train_images=train.images,
        train_labels=train.labels,
        test_images=test.images,
        test_ids=np.arange(1, len(test.images) + 1, dtype=np.int32),
    )


def _load_folder(folder: Path) -> tuple[Table, Table]:
    zips = sorted(folder.glob("*.zip"))
    if not os.path.lexists(folder / "train.csv") and len(zips) == 1:
        return _load_zip(_check_zip(zips[0]))
    for name in ("train.csv", "test.csv"):
        if not os.path.lexists(folder / name):
            raise WorkbenchError(f"{folder} has no {name}", _WHAT)
    return _load_file(folder / "train.csv", True), _load_file(folder / "test.csv", False)


def _check_zip(path: Path) -> Path:
    """``path`` if it is a regular file (a zip found in a folder can be a FIFO too)."""
    if not stat.S_ISREG(check_path(path, _WHAT, "a zip").st_mode):
        raise WorkbenchError(f"{path} is a folder where a zip belongs", _WHAT)
    return path


def _labelled_by_name(name: str) -> bool | None:
    return {"train.csv": True, "test.csv": False}.get(name.lower())


def _load_file(path: Path, labelled: bool | None) -> Table:
    if labelled is None:
        labelled = _labelled_by_name(path.name)
    info = check_path(path, _WHAT, "a CSV file")
    if stat.S_ISDIR(info.st_mode):
        raise WorkbenchError(f"{path} is a folder where a CSV file belongs", _WHAT)
    if info.st_size > MAX_CSV_BYTES:
        raise WorkbenchError(f"{path} is {info.st_size >> 20} MiB, too big for a digit CSV",
                             _WHAT)
    return cached_table(
        f"file:{path.resolve()}:{labelled}",
        # ctime too: an in-place edit that keeps the size and puts the mtime back (touch -d,
        # os.utime) still moves it, and no call can set it.
        f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}",
        lambda: parse_csv(read_file(path, MAX_CSV_BYTES, _WHAT, "a digit CSV"), str(path),
                          labelled),
        labelled=labelled,
    )


def _load_zip(path: Path) -> tuple[Table, Table]:
    try:
        archive = zipfile.ZipFile(path)
    except OSError as error:
        raise _path_error(path, error, "check the file and the disk.") from None
    except Exception as error:  # BadZipFile, NotImplementedError (zip version), EOFError, ...
        raise WorkbenchError(f"{path} is a damaged zip ({error or type(error).__name__}); "
                             "download it again.") from None
    try:
        with archive:
            return _zip_member(archive, path, "train.csv"), _zip_member(archive, path, "test.csv")
    except OSError as error:
        raise _path_error(path, error, "check the file and the disk.") from None


def _zip_member(archive: zipfile.ZipFile, path: Path, name: str) -> Table:
    members = [info for info in archive.infolist()
               if not info.is_dir() and Path(info.filename).name.lower() == name]
    if len(members) != 1:
        problem = f"has no {name}" if not members else f"holds {len(members)} files named {name}"
        raise WorkbenchError(f"{path} {problem}; it should be Kaggle's digit-recognizer.zip "
                             "(kaggle competitions download -c digit-recognizer).")
    info = members[0]
    display = f"{info.filename} (in {path.name})"
    _check_member(info, display)
    return cached_table(
        f"zip:{path.resolve()}:{info.filename}:{name}",
        f"{info.CRC}:{info.file_size}",
        lambda: parse_csv(_read_member(archive, info, display), display, _labelled_by_name(name)),
        labelled=_labelled_by_name(name),
    )


def _check_member(info: zipfile.ZipInfo, display: str) -> None:
    """Refuse, before reading, a member that is encrypted, compressed in a way Python cannot
    read, or that would unpack to more than a digit CSV can be (a zip bomb)."""
    unzip = ("unzip it with a tool that can and give the folder (", Option("data"), "), or "
             "download it again.")
    if info.flag_bits & 0x1:
        raise WorkbenchError(f"{display} is encrypted (password-protected), and Kaggle's zip is "
                             "not", unzip)
    if info.compress_type not in _READABLE_METHODS:
        method = _METHOD_NAMES.get(info.compress_type, "an unknown method")
        raise WorkbenchError(f"{display} is compressed with {method} (zip method "
                             f"{info.compress_type}), which Python cannot read", unzip)
    if info.file_size > MAX_CSV_BYTES:
        raise WorkbenchError(f"{display} would unpack to {info.file_size >> 20} MiB, too big for "
                             "a digit CSV; download the competition zip again.")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, display: str) -> bytes:
    """Read a member, refusing more bytes than its header declares (a zip-bomb guard)."""
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)
    except OSError as error:
        if error.errno is not None:  # the disk, not the zip: reported by _load_zip
            raise
        raise _damaged(display, error) from None  # bz2 reports bad data as a bare OSError
    except Exception as error:  # BadZipFile (CRC), zlib.error, lzma.LZMAError, EOFError, ...
        raise _damaged(display, error) from None
    if len(data) > info.file_size:
        raise WorkbenchError(f"{display} is larger than its zip header says (a damaged or "
                             "malicious zip); download the competition zip again.")
    return data


def _damaged(display: str, error: Exception) -> WorkbenchError:
    return WorkbenchError(f"{display} is damaged ({error or type(error).__name__}); download the "
                          "zip again.")
