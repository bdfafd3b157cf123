"""Damaged caches, files that are not what they claim, broken pipes and a killed export
(issue 18, classes 2, 3, 5 and 8): each ends in one printable line and exit 2, or just works;
never a traceback, a hang, wrong data or an orphan process."""

from __future__ import annotations

import errno
import gzip
import io
import os
import resource
import signal
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from tests.conftest import engine_command
from tests.helpers import Kaggle, csv_bytes, eventually, make_images
from workbench.cli import main
from workbench.engine.data import competition as data_module
from workbench.engine.data.cache import cache_dir, cached_table
from workbench.engine.data.competition import load_competition
from workbench.engine.data.csvformat import Table, parse_csv
from workbench.engine.data.export import export_png
from workbench.engine.errors import WorkbenchError, describe_os_error, shown
from workbench.engine.results.submission import check_submission_text


def refused(capsys, *args, phrases=()) -> str:
    """Run the CLI in-process: exit 2, one printable error line naming ``phrases``."""
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert "Traceback" not in captured.err
    assert len(lines) == 1 and lines[0].isprintable(), captured.err
    for phrase in phrases:
        assert phrase in lines[0]
    return lines[0]


def engine(*args, cwd: Path, timeout: float = 30, stdout=subprocess.PIPE):
    """The real CLI in a subprocess, with 2 GiB of address space: a file that never ends fails
    fast (MemoryError) instead of eating the machine; one that blocks hits ``timeout``."""
    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run([*engine_command(), *map(str, args)], cwd=cwd, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=timeout,
                          preexec_fn=limit_memory)


def one_line_error(result, *phrases) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].isprintable(), result.stderr
    for phrase in phrases:
        assert phrase in lines[0]


# --- 2. Damaged cache entries --------------------------------------------------------------

@pytest.fixture
def parse_calls(monkeypatch):
    calls = []

    def counting(*args, **kwargs):
        calls.append(args[1])
        return parse_csv(*args, **kwargs)

    monkeypatch.setattr(data_module, "parse_csv", counting)
    return calls


def flip(data: bytes, start: int, count: int) -> bytes:
    out = bytearray(data)
    for i in range(start, min(start + count, len(out))):
        out[i] ^= 0xFF
    return bytes(out)


def rewrite(arrays_edit):
    """A mutation that edits the entry's arrays and saves it again: a well-formed npz whose
    stamp matches but whose data is not what a parsed CSV can be."""
    def mutate(raw: bytes) -> bytes:
        arrays = dict(np.load(io.BytesIO(raw)))
        arrays_edit(arrays)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()
    return mutate


def shorter_labels(arrays):
    if "labels" in arrays:
        arrays["labels"] = arrays["labels"][:-1]


def labels_out_of_range(arrays):
    if "labels" in arrays:
        arrays["labels"] = arrays["labels"] + 10


def labels_dropped(arrays):
    arrays.pop("labels", None)


ENTRY_DAMAGE = {
    "truncated": lambda raw: raw[:len(raw) // 2],
    "bytes flipped in the middle": lambda raw: flip(raw, len(raw) // 2, 64),
    "bytes flipped near the end": lambda raw: flip(raw, len(raw) - 40, 8),
    "zero-length": lambda raw: b"",
    "not an npz": lambda raw: b"this is not a cache entry\n" * 10,
    "images flattened to (n, 784)": rewrite(
        lambda a: a.update(images=a["images"].reshape(len(a["images"]), -1))),
    "images as float32": rewrite(lambda a: a.update(images=a["images"].astype(np.float32))),
    "images 14x56": rewrite(lambda a: a.update(images=a["images"].reshape(-1, 14, 56))),
    "labels one short": rewrite(shorter_labels),
    "labels out of 0..9": rewrite(labels_out_of_range),
    "labels dropped from a train entry": rewrite(labels_dropped),
}


@pytest.mark.parametrize("damage", ENTRY_DAMAGE)
def test_a_damaged_cache_entry_is_rebuilt(kaggle, parse_calls, damage):
    folder = kaggle.folder()
    load_competition(folder)
    entries = sorted(cache_dir().glob("*.npz"))
    assert len(entries) == 2 and len(parse_calls) == 2
    for entry in entries:
        entry.write_bytes(ENTRY_DAMAGE[damage](entry.read_bytes()))
    loaded = load_competition(folder)
    np.testing.assert_array_equal(loaded.train_images, kaggle.train_images)
    np.testing.assert_array_equal(loaded.train_labels, kaggle.train_labels)
    np.testing.assert_array_equal(loaded.test_images, kaggle.test_images)
    assert loaded.train_images.dtype == np.uint8 and loaded.train_labels.dtype == np.uint8
    calls = len(parse_calls)
    load_competition(folder)
    assert len(parse_calls) == calls, "the rebuilt entry is used again"


def test_a_damaged_entry_in_a_read_only_cache_is_worked_around(kaggle, monkeypatch):
    folder = kaggle.folder()
    load_competition(folder)
    for entry in cache_dir().glob("*.npz"):
        entry.write_bytes(entry.read_bytes()[:100])

    def read_only(path, content):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr("workbench.engine.data.cache.write_atomic", read_only)
    np.testing.assert_array_equal(load_competition(folder).train_labels, kaggle.train_labels)


def test_a_cache_entry_that_is_a_fifo_is_replaced(kaggle, tmp_path):
    folder = kaggle.folder()
    load_competition(folder)
    for entry in cache_dir().glob("*.npz"):
        entry.unlink()
        os.mkfifo(entry)
    result = engine("data", "info", "--json", "--data", folder, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"train_rows": 30' in result.stdout
    assert all(entry.is_file() for entry in cache_dir().glob("*.npz"))


TRUTH = Table(make_images(5, seed=3), np.array([0, 9, 4, 4, 1], np.uint8))
SOURCE, STAMP = "file:/fuzz/train.csv:True", "123:456"


def _entry_bytes() -> bytes:
    """A valid entry for SOURCE, as the cache writes it."""
    for entry in cache_dir().glob("*.npz"):
        entry.unlink()
    cached_table(SOURCE, STAMP, lambda: TRUTH)
    (entry,) = cache_dir().glob("*.npz")
    return entry.read_bytes()


def _read_back(raw: bytes) -> Table:
    (entry,) = cache_dir().glob("*.npz")
    entry.write_bytes(raw)
    return cached_table(SOURCE, STAMP, lambda: TRUTH)


def _assert_truth(table: Table) -> None:
    np.testing.assert_array_equal(table.images, TRUTH.images)
    np.testing.assert_array_equal(table.labels, TRUTH.labels)
    assert table.images.dtype == np.uint8 and table.labels.dtype == np.uint8


def test_a_cache_entry_whose_labels_member_is_renamed_is_rebuilt_not_read_unlabelled():
    """A bit flip in a zip member's name (no CRC covers it) hid the labels: the table read back
    as one without labels (found by the fuzz test below: flips=[(4681, 1)])."""
    raw = _entry_bytes()
    assert raw.count(b"labels.npy") == 2  # the local header and the central directory
    _assert_truth(_read_back(raw.replace(b"labels.npy", b"lafels.npy")))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=3000),
                 st.binary(max_size=3000).map(lambda raw: b"PK\x03\x04" + raw),  # zip-like
                 st.binary(max_size=3000).map(lambda raw: b"PK\x05\x06" + raw)))
def test_cache_reader_fuzz_arbitrary_bytes(raw):
    _entry_bytes()
    _assert_truth(_read_back(raw))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(1, 255)), max_size=6),
       st.one_of(st.none(), st.integers(0, 1 << 20)))
def test_cache_reader_fuzz_mutated_entries(flips, cut):
    raw = bytearray(_entry_bytes())
    for position, xor in flips:
        raw[position % len(raw)] ^= xor
    if cut is not None:
        raw = raw[:cut % len(raw)]
    _assert_truth(_read_back(bytes(raw)))


# --- 3. Files that are not what they claim, given as --data ------------------------------

def zip_with(kaggle: Kaggle, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr("train.csv", kaggle.train_csv)
        archive.writestr("test.csv", kaggle.test_csv)
    return buffer.getvalue()


def patch_headers(raw: bytes, flags: int = 0, method: int | None = None) -> bytes:
    """Set general-purpose flag bits and the compression method in every local and central
    header, as an encrypting or Deflate64-writing zip tool would."""
    out = bytearray(raw)
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        at = out.find(signature)
        while at >= 0:
            old = int.from_bytes(out[at + flag_at:at + flag_at + 2], "little")
            out[at + flag_at:at + flag_at + 2] = (old | flags).to_bytes(2, "little")
            if method is not None:
                out[at + method_at:at + method_at + 2] = method.to_bytes(2, "little")
            at = out.find(signature, at + 4)
    return bytes(out)


def damage_member_data(raw: bytes, offset: int) -> bytes:
    """Flip one byte of train.csv's compressed data, leaving every header intact."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        info = archive.getinfo("train.csv")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    return flip(raw, start + offset, 1)


ZIPS = {
    "encrypted": (lambda k: patch_headers(zip_with(k), flags=1), ["encrypted", "unzip"]),
    "Deflate64 member": (lambda k: patch_headers(zip_with(k), method=9), ["Deflate64"]),
    "AES member": (lambda k: patch_headers(zip_with(k), flags=1, method=99), ["encrypted"]),
    "Zstandard member": (lambda k: patch_headers(zip_with(k), method=93), ["Zstandard"]),
    "unknown method": (lambda k: patch_headers(zip_with(k), method=77), ["unknown method"]),
    "broken deflate stream": (lambda k: damage_member_data(zip_with(k), 1), ["damaged"]),
    "broken lzma stream": (lambda k: damage_member_data(zip_with(k, zipfile.ZIP_LZMA), 40),
                           ["damaged"]),
    "broken bzip2 stream": (lambda k: damage_member_data(zip_with(k, zipfile.ZIP_BZIP2), 40),
                            ["damaged"]),
}


@pytest.mark.parametrize("name", ZIPS)
def test_zip_that_python_cannot_read(kaggle, tmp_path, capsys, name):
    make, phrases = ZIPS[name]
    path = tmp_path / "digit-recognizer.zip"
    path.write_bytes(make(kaggle))
    refused(capsys, "data", "info", "--data", path, phrases=["train.csv", *phrases])


ZIP_FOR_FUZZ = zip_with(Kaggle(Path("/nonexistent"), n_train=4, n_test=2))
# Where the local and central headers start: flips there hit flags, methods, sizes and names.
ZIP_HEADERS = [at for at in range(len(ZIP_FOR_FUZZ))
               if ZIP_FOR_FUZZ.startswith((b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"), at)]
ANYWHERE = st.integers(0, 1 << 20)
IN_A_HEADER = st.builds(lambda start, offset: start + offset, st.sampled_from(ZIP_HEADERS),
                        st.integers(0, 46))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(ANYWHERE | IN_A_HEADER, st.integers(1, 255)), min_size=1, max_size=6),
       st.one_of(st.none(), st.integers(0, 1 << 20)))
def test_zip_loader_fuzz_raises_only_its_own_error(flips, cut):
    """A damaged download: load_competition returns well-formed data or one printable line."""
    raw = bytearray(ZIP_FOR_FUZZ)
    for position, xor in flips:
        raw[position % len(raw)] ^= xor
    if cut is not None:
        raw = raw[:cut % len(raw)]
    path = cache_dir() / "fuzz.zip"
    path.write_bytes(bytes(raw))
    try:
        loaded = load_competition(path)
    except WorkbenchError as error:
        assert str(error).isprintable()
    else:
        assert loaded.train_images.dtype == np.uint8 and loaded.train_images.shape[1:] == (28, 28)
        assert len(loaded.train_labels) == loaded.n_train and loaded.train_labels.max() <= 9


def loop(tmp_path: Path) -> Path:
    link = tmp_path / "loop.csv"
    link.symlink_to(link)
    return link


def dangling(tmp_path: Path) -> Path:
    link = tmp_path / "gone.csv"
    link.symlink_to(tmp_path / "nowhere.csv")
    return link


def train_csv_is_a_loop(tmp_path: Path, kaggle: Kaggle) -> Path:
    folder = kaggle.folder()
    (folder / "train.csv").unlink()
    (folder / "train.csv").symlink_to(folder / "train.csv")
    return folder


def file_in_folder(name: str, content: bytes):
    def make(tmp_path: Path, kaggle: Kaggle) -> Path:
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / name).write_bytes(content)
        return tmp_path / "d" / name
    return make


def zip_as_train_csv(kaggle: Kaggle) -> Path:
    folder = kaggle.folder()
    (folder / "train.csv").write_bytes(zip_with(kaggle))
    return folder


GOOD = csv_bytes(make_images(3), np.array([1, 2, 3], np.uint8))
HEADER = GOOD.split(b"\n", 1)[0]


def label_last(csv: bytes) -> bytes:
    lines = []
    for line in csv.splitlines():
        cells = line.split(b",")
        lines.append(b",".join(cells[1:] + cells[:1]))
    return b"\n".join(lines) + b"\n"


DATA = {
    "a symlink loop": (lambda t, k: loop(t), ["loops back on itself"]),
    "a dangling symlink": (lambda t, k: dangling(t), ["is a link to", "which does not exist"]),
    "train.csv a symlink loop": (train_csv_is_a_loop, ["train.csv", "loops back"]),
    "a file used as a folder": (lambda t, k: k.folder() / "train.csv" / "x.csv",
                                ["a file, not a folder"]),
    "a name over 255 bytes": (lambda t, k: t / ("x" * 300 + ".csv"),
                              ["too long", "choose a shorter name"]),
    "~nosuchuser": (lambda t, k: "~nosuchuser-workbench/digit-recognizer.zip",
                    ["'~nosuchuser-workbench' names no user"]),
    "UTF-16 with BOM": (file_in_folder("train.csv", GOOD.decode().encode("utf-16")), ["UTF-16"]),
    "UTF-16 without BOM": (file_in_folder("train.csv", GOOD.decode().encode("utf-16-le")),
                           ["UTF-16"]),
    "gzip-compressed CSV": (file_in_folder("train.csv", gzip.compress(GOOD)), ["gzip"]),
    "a zip saved as a folder's train.csv": (lambda t, k: zip_as_train_csv(k), ["zip archive"]),
    "an HTML login page": (file_in_folder("train.csv", b"<!DOCTYPE html>\n<html>Sign in</html>"),
                           ["HTML page"]),
    "NUL bytes in line 1": (file_in_folder("train.csv", b"\x00\x00" + GOOD), ["NUL bytes"]),
    "semicolon-separated": (file_in_folder("train.csv", GOOD.replace(b",", b";")),
                            ["semicolons", "comma-separated"]),
    "label column last": (file_in_folder("train.csv", label_last(GOOD)),
                          ["'label' is column 785", "first column", "move"]),
    "label column last, no name": (file_in_folder("digits.csv", label_last(GOOD)),
                                   ["'label' is column 785", "move"]),
    "a 5000-digit pixel": (file_in_folder("train.csv", GOOD.replace(b"\n2,", b"\n2," + b"9" * 5000,
                                                                    1)),
                           ["line 3, column 2", "out of range"]),
    "CR-only line ends and a bad cell": (
        file_in_folder("train.csv", GOOD.replace(b"\n2,", b"\n2,x", 1).replace(b"\n", b"\r")),
        ["line 3, column 2", "'x"]),
    "a BOM in the middle": (file_in_folder("train.csv", GOOD.replace(b"\n2,", b"\n\xef\xbb\xbf2,",
                                                                     1)),
                            ["line 3, column 1", "\\ufeff"]),
    "an ANSI escape in the header": (
        file_in_folder("train.csv", GOOD.replace(b"pixel5,", b"\x1b[2Jpixel5,", 1)),
        ["column 7", "\\x1b[2J"]),
    "a newline in the folder name": (lambda t, k: (t / "new\nline").mkdir() or t / "new\nline",
                                     ["new\\nline has no train.csv"]),
}


@pytest.mark.parametrize("name", DATA)
def test_data_that_is_not_what_it_claims(kaggle, tmp_path, capsys, name):
    make, phrases = DATA[name]
    refused(capsys, "data", "info", "--data", make(tmp_path, kaggle), phrases=phrases)


@pytest.mark.parametrize("content", [
    GOOD.replace(b"\n", b"\r"),
    GOOD + b"   \n\t\n  \n",
    GOOD.replace(b"\n", b"\n  \n", 2),
], ids=["CR-only line ends", "whitespace lines at the end", "whitespace lines between rows"])
def test_odd_but_valid_csvs_load(tmp_path, content):
    (tmp_path / "train.csv").write_bytes(content)
    loaded = load_competition(tmp_path / "train.csv")
    np.testing.assert_array_equal(loaded.train_labels, [1, 2, 3])
    np.testing.assert_array_equal(loaded.train_images, make_images(3))


def test_a_folder_name_that_is_not_utf8(kaggle, tmp_path, capsys):
    folder = tmp_path / os.fsdecode(b"caf\xe9")
    kaggle.folder().rename(folder)
    assert main(["data", "info", "--data", str(folder)]) == 0
    assert "caf\\xe9" in capsys.readouterr().out
    assert main(["data", "info", "--json", "--data", str(folder)]) == 0


def test_show_on_data_without_that_split_says_so(kaggle, capsys):
    test_only = kaggle.folder() / "test.csv"
    message = refused(capsys, "data", "show", "1", "--data", test_only,
                      phrases=["has no train images", "--split test"])
    assert "1..0" not in message


@pytest.mark.parametrize("name", ["fifo", "/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("command", ["data", "submission"])
def test_devices_and_pipes_are_refused_up_front(kaggle, tmp_path, name, command):
    path = Path(name)
    if name == "fifo":
        path = tmp_path / "digits.csv"
        os.mkfifo(path)
    if command == "data":
        result = engine("data", "info", "--data", path, cwd=tmp_path)
    else:
        result = engine("submission", "check", path, "--data", kaggle.folder(), cwd=tmp_path)
    one_line_error(result, str(path), "not a ")


@pytest.mark.parametrize("name", ["train.csv", "digit-recognizer.zip"])
def test_a_fifo_inside_the_data_folder(tmp_path, name):
    """A folder holding a FIFO as train.csv, or as its one zip: refused, not read forever."""
    folder = tmp_path / "comp"
    folder.mkdir()
    if name == "train.csv":
        (folder / "test.csv").write_bytes(csv_bytes(make_images(3)))
    os.mkfifo(folder / name)
    one_line_error(engine("data", "info", "--data", folder, cwd=tmp_path), name,
                   "named pipe (FIFO)")


# --- 3. ... and as a submission ---------------------------------------------------------

def sub(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text


SUBMISSIONS = {
    "a 200 KB cell": (b"ImageId,Label\n1," + b"7" * 200_000 + b"\n2,1\n3,1\n", ["128 KB"]),
    "a 200 KB quoted cell": (b'ImageId,Label\n1,"' + b"7" * 200_000 + b'"\n2,1\n3,1\n',
                             ["128 KB"]),
    "superscript two as a label": (sub("ImageId,Label\n1,\u00b2\n2,1\n3,1\n"),
                                   ["line 2: Label", "ASCII digits"]),
    "superscript one as an ImageId": (sub("ImageId,Label\n\u00b9,1\n2,1\n3,1\n"),
                                      ["line 2: ImageId", "ASCII digits"]),
    "an Arabic-Indic label": (sub("ImageId,Label\n1,\u0663\n2,1\n3,1\n"), ["ASCII digits"]),
    "an Arabic-Indic ImageId": (sub("ImageId,Label\n1,3\n\u0662,1\n3,1\n"), ["ASCII digits"]),
    "a fullwidth label": (sub("ImageId,Label\n1,\uff13\n2,1\n3,1\n"), ["ASCII digits"]),
    "a Devanagari ImageId": (sub("ImageId,Label\n1,3\n2,1\n\u0969,1\n"), ["ASCII digits"]),
    "a 5000-digit ImageId": (b"ImageId,Label\n" + b"1" * 5000 + b",3\n1,3\n2,1\n3,1\n",
                             ["far larger"]),
    "UTF-16 with BOM": ("ImageId,Label\n1,3\n2,1\n3,1\n".encode("utf-16"), ["UTF-16"]),
    "UTF-16 without BOM": ("ImageId,Label\n1,3\n2,1\n3,1\n".encode("utf-16-le"), ["UTF-16"]),
    "a BOM in the middle": (sub("ImageId,Label\n1,3\n\ufeff2,1\n3,1\n"), ["\\ufeff2"]),
    "NUL bytes": (b"ImageId,Label\n1,3\n2,\x001\n3,1\n", ["NUL"]),
    "an unclosed quote": (b'ImageId,Label\n1,"3\n2,1\n3,1\n', ["unclosed quote"]),
    "an ANSI escape": (b"ImageId,Label\n1,\x1b[31m3\n2,1\n3,1\n", ["\\x1b[31m"]),
    "a zip": (None, ["zip archive"]),
    "gzip-compressed": (gzip.compress(b"ImageId,Label\n1,3\n2,1\n3,1\n"), ["gzip"]),
    "an HTML page": (b"<html><body>Too many requests</body></html>", ["HTML"]),
}


@pytest.mark.parametrize("name", SUBMISSIONS)
def test_submission_that_is_not_what_it_claims(kaggle, tmp_path, capsys, name):
    content, phrases = SUBMISSIONS[name]
    path = tmp_path / "submission.csv"
    path.write_bytes(zip_with(kaggle) if content is None else content)
    (tmp_path / "test.csv").write_bytes(csv_bytes(make_images(3)))
    assert main(["submission", "check", str(path), "--data", str(tmp_path / "test.csv")]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.err.strip()
    assert all(line.isprintable() for line in captured.err.splitlines()), captured.err
    for phrase in phrases:
        assert phrase in captured.err


SUBMISSION_PATHS = {
    "a symlink loop": (loop, ["loops back on itself"]),
    "a dangling symlink": (dangling, ["is a link to"]),
    "a path through a file": (lambda t: t / "test.csv" / "submission.csv",
                              ["a file, not a folder"]),
    "a 17 MiB file": (lambda t: _sparse(t / "big.csv", 17 << 20), ["too big"]),
}


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as file:
        file.truncate(size)
    return path


@pytest.mark.parametrize("name", SUBMISSION_PATHS)
def test_submission_path_that_is_not_a_file(tmp_path, capsys, name):
    make, phrases = SUBMISSION_PATHS[name]
    (tmp_path / "test.csv").write_bytes(csv_bytes(make_images(3)))
    refused(capsys, "submission", "check", make(tmp_path), "--data", tmp_path / "test.csv",
            phrases=phrases)


def test_a_submission_checked_against_data_without_a_test_set(kaggle, tmp_path, capsys):
    path = tmp_path / "submission.csv"
    path.write_text("ImageId,Label\n")
    refused(capsys, "submission", "check", path, "--data", kaggle.folder() / "train.csv",
            phrases=["no test images"])


DIGITS = st.characters(categories=("Nd", "No"))  # every kind of Unicode digit


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(DIGITS | st.sampled_from("0123456789 ,\"\r"), max_size=6),
                          st.text(DIGITS | st.sampled_from("0123456789 "), max_size=2)),
                min_size=1, max_size=5))
def test_submission_checker_fuzz_unicode_digits(rows):
    text = "ImageId,Label\n" + "".join(f"{image_id},{label}\n" for image_id, label in rows)
    check = check_submission_text(text.encode(), np.arange(1, len(rows) + 1))
    assert all(problem.isprintable() for problem in check.problems)
    if check.ok:
        for image_id, label in rows:
            assert image_id.strip().isascii() and label.strip().isascii()


# --- 8. Messages ------------------------------------------------------------------------

@pytest.mark.parametrize("code", [errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP,
                                  errno.EINVAL, errno.EIO, errno.EPIPE])
def test_os_errors_get_their_own_sentence(code):
    message = describe_os_error(OSError(code, os.strerror(code), "/data/bad\nname.csv"))
    assert message.isprintable() and message.endswith(".")
    assert "check the path and the disk" not in message  # the catch-all says nothing
    if code != errno.EPIPE:
        assert "/data/bad\\nname.csv" in message
    if code == errno.EPIPE:
        assert "disk" not in message


def test_engine_messages_are_one_printable_line():
    message = str(WorkbenchError("train.csv line 1: 'pixel\r0\x1b[2J\ufeff' \udcff"))
    assert message.isprintable()
    assert "\\r" in message and "\\x1b" in message and "\\ufeff" in message
    assert "\\xff" in message
    # A file name cut to fit a message spells an undecodable byte the same way (issue 33).
    assert shown("bad\udcff.csv" * 30, 12) == "bad\\xff.csvb..."


@pytest.mark.parametrize("args", [["data", "info", "stray\r\x1b[2Jword"],
                                  ["submission", "check", "a.csv", "--nope=\nx"],
                                  ["data", "info", "--data", "x", "\x1b]0;title\x07"]])
def test_argument_errors_are_one_printable_line(capsys, args):
    with pytest.raises(SystemExit) as stopped:
        main(args)
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].isprintable(), lines


@pytest.mark.parametrize("args", [["data", "info"], ["data", "info", "--json"],
                                  ["data", "show", "1", "--style", "ascii"]])
def test_a_closed_pipe_ends_quietly(kaggle, tmp_path, args):
    """`workbench-engine data info | head -0`: no traceback, no 'disk' message, SIGPIPE's
    status, as a Unix tool."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = engine(*args, "--data", kaggle.folder(), cwd=tmp_path, stdout=write)
    finally:
        os.close(write)
    assert result.stderr == ""
    assert result.returncode == 141


# --- 5. export-png: bad arguments, and kill -9 ------------------------------------------

@pytest.mark.parametrize("workers", ["-1", "0"])
def test_export_workers_must_be_a_positive_number(kaggle, tmp_path, capsys, workers):
    with pytest.raises(SystemExit) as stopped:
        main(["data", "export-png", str(tmp_path / "png"), "--data", str(kaggle.folder()),
              "--workers", workers])
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--workers" in lines[0]
    assert not (tmp_path / "png").exists()


def test_a_negative_baseline_seed_is_refused_at_the_edge(kaggle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["baseline", "random", "--seed", "-1", "--data", str(kaggle.folder())])
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--seed" in lines[0] and "negative" in lines[0]
    assert not (tmp_path / "submissions").exists()


def test_export_into_a_file(kaggle, tmp_path, capsys):
    target = tmp_path / "png"
    target.write_text("keep me")
    refused(capsys, "data", "export-png", target, "--data", kaggle.folder(), phrases=["is a file"])
    assert target.read_text() == "keep me"


def processes_naming(text: str) -> list[int]:
    """Live (not zombie) processes whose command line holds ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def pngs(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.png")}


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc (Linux)")
def test_kill_9_of_export_leaves_no_workers_and_resumes_to_the_same_files(tmp_path):
    """Kill the export when its first PNG appears, again when more are there, then run it to
    the end: no worker outlives its parent, and the files equal an uninterrupted export's."""
    kaggle = Kaggle(tmp_path, n_train=3000, n_test=300)
    folder = kaggle.folder()
    expected = tmp_path / "expected"
    export_png(load_competition(folder), expected, workers=1)
    out = tmp_path / "png-out"
    command = [*engine_command(), "data", "export-png", str(out), "--data", str(folder),
               "--workers", "2"]
    killed = 0
    try:
        for at_least in (1, 1200, 2400):
            process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            eventually(lambda process=process, at_least=at_least: process.poll() is not None
                       or sum(1 for _ in out.rglob("*.png")) >= at_least, 60)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                killed += 1
            process.wait(timeout=30)
            assert eventually(lambda: not processes_naming(str(out))), \
                f"orphan workers: {processes_naming(str(out))}"
    finally:
        for orphan in processes_naming(str(out)):
            os.kill(orphan, signal.SIGKILL)
    assert killed >= 1
    finished = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert pngs(out) == pngs(expected)
    with Image.open(out / "test" / "001.png") as image:
        np.testing.assert_array_equal(np.asarray(image), kaggle.test_images[0])
