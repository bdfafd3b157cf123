"""Each problem a real file can have gets one sentence naming file, line, column and the fix."""

import zipfile

import numpy as np
import pytest

from tests.helpers import csv_bytes, make_images
from workbench.engine.data.competition import load_competition
from workbench.engine.errors import Option, WorkbenchError

GOOD = csv_bytes(make_images(4), np.array([3, 1, 4, 1], dtype=np.uint8))
HEADER, *ROWS = GOOD.decode().splitlines()


def lines(*replacements: tuple[int, str]) -> bytes:
    """GOOD with line numbers (1 = header) replaced."""
    all_lines = [HEADER, *ROWS]
    for number, text in replacements:
        all_lines[number - 1] = text
    return ("\n".join(all_lines) + "\n").encode()


def cell(line: int, column: int, value: str) -> bytes:
    cells = [HEADER, *ROWS][line - 1].split(",")
    cells[column - 1] = value
    return lines((line, ",".join(cells)))


CASES = {
    "empty file": (b"", ["train.csv is empty"]),
    "whitespace only": (b"\n \n", ["train.csv is empty"]),
    "header only": (HEADER.encode() + b"\n", ["header but no rows"]),
    "no header": ("\n".join(ROWS).encode(), ["has no header", "label,pixel0"]),
    "misspelt header": (lines((1, HEADER.replace("pixel1,", "pixl1,"))),
                        ["line 1, column 3", "'pixl1'", "'pixel1'"]),
    "header too long": (lines((1, HEADER + ",pixel784")), ["line 1", "786 columns", "785"]),
    "row with 784 columns": (lines((3, ROWS[1].rsplit(",", 1)[0])),
                             ["line 3 has 784 columns, expected 785", "fix or delete"]),
    "row with 786 columns": (lines((2, ROWS[0] + ",0")), ["line 2 has 786 columns"]),
    "truncated last line": (GOOD[:-200], ["line 5 has", "cut short"]),
    "float pixel": (cell(2, 5, "1.5"), ["line 2, column 5 (pixel3)",
                                        "'1.5' is not a whole number"]),
    "negative pixel": (cell(3, 9, "-1"), ["line 3, column 9 (pixel7)", "-1 is out of range",
                                          "0-255"]),
    "pixel 256": (cell(4, 785, "256"), ["line 4, column 785 (pixel783)", "256 is out of range"]),
    "label 10": (cell(5, 1, "10"), ["line 5, column 1 (label)", "10 is out of range", "0-9"]),
    "empty cell": (cell(2, 300, ""), ["line 2, column 300 (pixel298)", "empty"]),
    "NaN cell": (cell(3, 2, "NaN"), ["line 3, column 2 (pixel0)", "'NaN'", "missing value"]),
    "word in a cell": (cell(2, 7, "abc"), ["line 2, column 7", "'abc' is not a number"]),
    "hash in a cell": (cell(2, 7, "#1"), ["line 2, column 7", "not a number"]),
    "latin-1 header": (lines((1, HEADER)).replace(b"label", b"lab\xe9l", 1), ["line 1",
                                                                               "not UTF-8"]),
    "latin-1 cell": (cell(2, 4, "0").replace(b",0,", b",\xe9,", 1), ["line 2", "not UTF-8"]),
    "no label column": (lines((1, HEADER.removeprefix("label,")), *(
        (i + 2, row.split(",", 1)[1]) for i, row in enumerate(ROWS))),
        ["has no label column", "'pixel0'"]),
}


@pytest.mark.parametrize("name", CASES)
def test_bad_train_csv_names_the_problem(tmp_path, name):
    content, phrases = CASES[name]
    (tmp_path / "train.csv").write_bytes(content)
    with pytest.raises(WorkbenchError) as caught:
        load_competition(tmp_path / "train.csv")
    message = str(caught.value)
    assert "\n" not in message
    assert "train.csv" in message
    for phrase in phrases:
        assert phrase in message


def test_label_column_in_test_csv(kaggle, tmp_path):
    folder = kaggle.folder()
    (folder / "test.csv").write_bytes(kaggle.train_csv)
    with pytest.raises(WorkbenchError, match=r"test\.csv has a label column \(column 1\)"):
        load_competition(folder)


def test_missing_path(tmp_path):
    with pytest.raises(WorkbenchError, match=r"nowhere\.zip does not exist; give Kaggle's "
                       r"digit-recognizer\.zip, .* or one CSV \(--data\)\.$") as raised:
        load_competition(tmp_path / "nowhere.zip")
    # The fix is data: the app words it its own way, never as the CLI's flag alone.
    assert raised.value.options == (Option("data"),)
    assert raised.value.phrased(lambda option: "start the app with --data PATH").endswith(
        "or one CSV (start the app with --data PATH).")


def test_zip_without_train_csv(tmp_path):
    path = tmp_path / "digit-recognizer.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("test.csv", GOOD)
    with pytest.raises(WorkbenchError, match=r"has no train\.csv; it should be Kaggle's"):
        load_competition(path)


def test_zip_that_is_not_a_zip(tmp_path):
    path = tmp_path / "digit-recognizer.zip"
    path.write_bytes(b"<html>login required</html>")
    with pytest.raises(WorkbenchError, match="is not a valid zip archive; download it again"):
        load_competition(path)


def test_folder_without_test_csv(kaggle):
    folder = kaggle.folder()
    (folder / "test.csv").unlink()
    with pytest.raises(WorkbenchError, match=r"has no test\.csv"):
        load_competition(folder)


def test_folder_where_a_csv_belongs(kaggle):
    folder = kaggle.folder()
    (folder / "train.csv").unlink()
    (folder / "train.csv").mkdir()
    with pytest.raises(WorkbenchError, match=r"train\.csv is a folder where a CSV file belongs"):
        load_competition(folder)


def test_error_in_zip_member_names_member_and_zip(kaggle, tmp_path):
    kaggle.train_csv = kaggle.train_csv.replace(b"\n0,", b"\n0,x", 1)
    with pytest.raises(WorkbenchError, match=r"train\.csv \(in digit-recognizer\.zip\) line \d+, "
                       r"column 2 \(pixel0\)"):
        load_competition(kaggle.zip())
