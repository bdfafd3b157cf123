"""Bad input never gives a traceback: a corpus of malformed files through the real CLI, and
property-based fuzzing of the loader and the submission checker (issue 8, first part)."""

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.helpers import csv_bytes, make_images
from tests.test_cli import assert_one_line_error
from workbench.engine.data.csvformat import parse_csv
from workbench.engine.errors import WorkbenchError
from workbench.engine.results.submission import check_submission_text

GOOD = csv_bytes(make_images(3), np.array([1, 2, 3], np.uint8))
HEADER, FIRST, SECOND, THIRD = GOOD.decode().splitlines()


def zipped(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name.replace("__", "/"), data)
    return buffer.getvalue()


CSV_CORPUS = {
    "truncated last line": GOOD[:-300],
    "wrong header": GOOD.replace(b"label", b"digit", 1),
    "783 pixel columns": ((",".join(HEADER.split(",")[:-1]) + "\n").encode()
                          + GOOD.split(b"\n", 1)[1]),
    "786 columns": GOOD.replace(b"pixel783\n", b"pixel783,extra\n", 1),
    "float pixels": GOOD.replace(b"\n1,", b"\n1,0.5,", 1),
    "negative pixel": GOOD.replace(b"\n2,", b"\n2,-3,", 1),
    "pixel 256": GOOD.replace(b"\n3,", b"\n3,256,", 1),
    "NaN cell": GOOD.replace(b"\n1,", b"\n1,NaN,", 1),
    "empty cell": GOOD.replace(b"\n1,", b"\n1,,", 1),
    "label 10": GOOD.replace(b"\n1,", b"\n10,", 1),
    "empty file": b"",
    "header only": HEADER.encode() + b"\n",
    "latin-1 bytes": GOOD.replace(b"\n2,", b"\n2,\xe9", 1),
    "a 10 MB line": HEADER.encode() + b"\n" + b"1," + b"0," * 5_000_000 + b"0\n",
    "binary garbage": bytes(range(256)) * 4,
    "only commas": b",,,,\n,,,,\n",
    "tab-separated": GOOD.replace(b",", b"\t"),
    "label as text": GOOD.replace(b"\n1,", b"\none,", 1),
    "infinite pixel": GOOD.replace(b"\n1,", b"\n1,inf,", 1),
    "a row cut short mid-file": GOOD.replace(SECOND.encode(), SECOND.encode()[:100], 1),
    "CR-only line ends, a bad cell": GOOD.replace(b"\n1,", b"\n1,x", 1).replace(b"\n", b"\r"),
    "a 5000-digit pixel": GOOD.replace(b"\n1,", b"\n1," + b"9" * 5000, 1),
    "semicolon-separated": GOOD.replace(b",", b";"),
    "label column last": "\n".join(",".join(line.split(",")[1:] + line.split(",")[:1])
                                   for line in GOOD.decode().splitlines()).encode(),
}
ZIP_CORPUS = {
    "zip without train.csv": zipped(**{"test.csv": GOOD}),
    "nested zip": zipped(**{"digit-recognizer.zip": zipped(**{"train.csv": GOOD})}),
    "two train.csv": zipped(**{"a__train.csv": GOOD, "b__train.csv": GOOD, "test.csv": GOOD}),
    "truncated zip": zipped(**{"train.csv": GOOD, "test.csv": GOOD})[:200],
    "empty zip": zipped(),
    "train.csv is a folder in the zip": zipped(**{"train.csv__x.txt": b"x", "test.csv": GOOD}),
}
SUBMISSION_CORPUS = {
    "missing ImageId": "ImageId,Label\n1,3\n3,4\n",
    "duplicate ImageId": "ImageId,Label\n1,3\n2,4\n2,4\n3,1\n",
    "extra ImageId": "ImageId,Label\n1,3\n2,4\n3,1\n4,1\n",
    "label 10": "ImageId,Label\n1,3\n2,10\n3,1\n",
    "wrong header": "Id,Label\n1,3\n2,4\n3,1\n",
    "superscript label": "ImageId,Label\n1,3\n2,\u00b2\n3,1\n",
    "Arabic-Indic label": "ImageId,Label\n1,3\n2,\u0664\n3,1\n",
    "fullwidth ImageId": "ImageId,Label\n1,3\n\uff12,4\n3,1\n",
    "a 200 KB cell": "ImageId,Label\n1,3\n2," + "4" * 200_000 + "\n3,1\n",
    "a 5000-digit ImageId": "ImageId,Label\n1,3\n" + "2" * 5000 + ",4\n3,1\n",
}


@pytest.mark.parametrize("name", CSV_CORPUS)
def test_malformed_csv(cli, tmp_path, name):
    path = tmp_path / "train.csv"
    path.write_bytes(CSV_CORPUS[name])
    assert_one_line_error(cli("data", "info", "--data", path), "train.csv")


@pytest.mark.parametrize("name", ZIP_CORPUS)
def test_malformed_zip(cli, tmp_path, name):
    path = tmp_path / "digit-recognizer.zip"
    path.write_bytes(ZIP_CORPUS[name])
    assert_one_line_error(cli("data", "info", "--data", path), "digit-recognizer.zip")


def test_zip_bomb_is_refused_by_its_declared_size(cli, tmp_path):
    path = tmp_path / "bomb.zip"
    path.write_bytes(zipped(**{"train.csv": GOOD, "test.csv": GOOD}))
    data = bytearray(path.read_bytes())
    # Declare train.csv as 3 GiB in the central directory: refused before anything is inflated.
    offset = data.find(b"PK\x01\x02")
    data[offset + 24:offset + 28] = (3 << 30).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert_one_line_error(cli("data", "info", "--data", path), "too big")


@pytest.mark.parametrize("name", SUBMISSION_CORPUS)
def test_malformed_submission(cli, tmp_path, name):
    path = tmp_path / "sub.csv"
    path.write_text(SUBMISSION_CORPUS[name])
    (tmp_path / "test.csv").write_bytes(csv_bytes(make_images(3)))
    result = cli("submission", "check", path, "--data", tmp_path / "test.csv")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip()


def test_directory_where_a_file_belongs(cli, tmp_path):
    (tmp_path / "sub.csv").mkdir()
    assert_one_line_error(cli("submission", "check", tmp_path / "sub.csv"), "is a folder")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000), st.sampled_from([True, False, None]))
def test_loader_fuzz_raises_only_its_own_error(data, labelled):
    try:
        table = parse_csv(data, "fuzz.csv", labelled)
    except WorkbenchError as error:
        assert "\n" not in str(error)
    else:
        assert table.images.dtype == np.uint8 and table.images.shape[1:] == (28, 28)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["1", "2", "3", "0", "-1", "10", "x", "", "1.5",
                                          "ImageId", "Label"]), max_size=4), max_size=8))
def test_submission_checker_fuzz(rows):
    text = "\n".join(",".join(row) for row in rows).encode()
    result = check_submission_text(text, np.arange(1, 4))
    assert all("\n" not in problem for problem in result.problems)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=500))
def test_submission_checker_fuzz_bytes(data):
    check_submission_text(data, np.arange(1, 4))
