"""The Digit Recognizer CSV format: a fast parser, and one precise sentence when a file is wrong.

Valid files take the fast path (``numpy.loadtxt`` straight into uint8, which also rejects
floats, empty cells and values outside 0-255). When it fails, a line-by-line validator finds the
first problem and names its file, line and column, with the fix.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from workbench.engine.errors import Option, WorkbenchError

SIDE = 28
N_PIXELS = SIDE * SIDE
PIXEL_COLUMNS = tuple(f"pixel{i}" for i in range(N_PIXELS))
TRAIN_HEADER = ("label", *PIXEL_COLUMNS)
TEST_HEADER = PIXEL_COLUMNS
_BOM = b"\xef\xbb\xbf"
_PIXEL = rb"\s*(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\s*"
_NON_SPACE = re.compile(rb"\S")
_MISSING = {"nan", "na", "n/a", "null", "none"}


@dataclass(frozen=True)
class Table:
    """One parsed CSV: images (N, 28, 28) uint8, and labels (N,) uint8 when the file has them."""

    images: np.ndarray
    labels: np.ndarray | None


def parse_csv(data: bytes, name: str, labelled: bool | None = None) -> Table:
    """Parse a Kaggle-format CSV; ``labelled`` says whether a label column is required.

    None means: decide from the header. Raises WorkbenchError naming the first problem.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    not_text = sniff(data)
    if not_text:
        raise WorkbenchError(f"{name} is {not_text[0]}, not CSV text; {not_text[1]}.")
    if b"\n" not in data and b"\r" in data:  # old Mac line ends: CR only
        data = data.replace(b"\r", b"\n")
    if not _NON_SPACE.search(data):
        raise WorkbenchError(f"{name} is empty", ("download it again or give another file (",
                                                  Option("data"), ")."))
    end = data.find(b"\n")
    end = len(data) if end < 0 else end
    labelled = _check_header(data[:end], name, labelled)
    if not _NON_SPACE.search(data, end):
        raise WorkbenchError(f"{name} has a header but no rows; it holds no digits to load.")
    n_cols = len(TRAIN_HEADER if labelled else TEST_HEADER)
    rows = _load_rows(data)
    if rows is None or rows.shape[1] != n_cols or (labelled and rows[:, 0].max() > 9):
        _raise_first_problem(data[end + 1:], name, labelled)
        # Every line is valid: what stopped the fast path was blank or whitespace-only lines.
        rows = _load_rows(b"\n".join(line for line in data.split(b"\n") if line.strip()))
        if rows is None or rows.shape[1] != n_cols:
            raise WorkbenchError(f"{name} could not be read as a Digit Recognizer CSV; "
                                 "re-download it.")
    if labelled:
        return Table(np.ascontiguousarray(rows[:, 1:]).reshape(-1, SIDE, SIDE), rows[:, 0].copy())
    return Table(rows.reshape(-1, SIDE, SIDE), None)


def _load_rows(data: bytes) -> np.ndarray | None:
    """The data lines (after the header) as a uint8 matrix, or None if any line is not valid."""
    try:
        return np.loadtxt(io.BytesIO(data), delimiter=",", dtype=np.uint8, ndmin=2,
                          comments=None, skiprows=1)
    except ValueError:
        return None


# Leading bytes of files that get given as a CSV by mistake: what they are, and the fix.
_MAGIC = (
    ((b"PK\x03\x04", b"PK\x05\x06"), "a zip archive (or a damaged one)",
     "unzip it, or download it again if it is damaged"),
    ((b"\x1f\x8b",), "gzip-compressed", "unpack it first (gunzip)"),
    ((b"BZh",), "bzip2-compressed", "unpack it first (bunzip2)"),
    ((b"\xfd7zXZ",), "xz-compressed", "unpack it first (unxz)"),
    ((b"7z\xbc\xaf",), "a 7-Zip archive", "unpack it first"),
    ((b"Rar!",), "a RAR archive", "unpack it first"),
    ((b"\x93NUMPY",), "a NumPy array file", "give the CSV it was made from"),
    ((b"\xff\xfe", b"\xfe\xff"), "UTF-16 text", "save it as UTF-8 CSV"),
)


def sniff(data: bytes) -> tuple[str, str] | None:
    """(what it is, the fix) when ``data`` is plainly not CSV text (an archive, UTF-16, a web
    page), so the message says so instead of quoting garbage from line 1."""
    for magics, what, fix in _MAGIC:
        if data.startswith(magics):
            return what, fix
    head = data[:512]
    if head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "an HTML page (a login or error page saved in its place)", "download it again"
    if b"\x00" in head:
        odd, even = head[1::2].count(0), head[0::2].count(0)
        if min(odd, even) < len(head) // 16 < max(odd, even):  # ASCII text as UTF-16, no BOM
            return "UTF-16 text", "save it as UTF-8 CSV"
        return "binary data (it holds NUL bytes)", "check that this is the right file"
    return None


def _short(text: str, length: int = 40) -> str:
    return text if len(text) <= length else text[:length] + "..."


def _check_header(head: bytes, name: str, labelled: bool | None) -> bool:
    """Validate line 1 and return whether the file has a label column."""
    try:
        text = head.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise WorkbenchError(f"{name} line 1 is not UTF-8 text; "
                             "save the file as UTF-8 CSV.") from None
    cells = [cell.strip().strip('"').strip() for cell in text.split(",")]
    separators = {";": "semicolons", "\t": "tabs", "|": "'|'"}
    for separator in separators if len(cells) == 1 else ():
        if separator in text:
            raise WorkbenchError(f"{name} line 1 separates its cells with {separators[separator]}; "
                                 "the Digit Recognizer format uses commas: save it as "
                                 "comma-separated CSV.")
    if all(re.fullmatch(r"-?\d+(\.\d*)?", cell) for cell in cells):
        raise WorkbenchError(
            f"{name} has no header: line 1 holds numbers; add the header row "
            f"'{_describe(TRAIN_HEADER if labelled is not False else TEST_HEADER)}'."
        )
    lowered = [cell.lower() for cell in cells]
    label_column = lowered.index("label") + 1 if "label" in lowered else None
    if labelled is False and label_column:
        raise WorkbenchError(
            f"{name} has a label column (column {label_column}); test images are unlabelled: "
            "remove that column, or use the file as train.csv."
        )
    if label_column and label_column > 1:
        raise WorkbenchError(
            f"{name} line 1: 'label' is column {label_column}, but it must be the first column "
            f"('{_describe(TRAIN_HEADER)}'); move the label column to the front."
        )
    has_label = label_column == 1
    if labelled is True and not has_label:
        raise WorkbenchError(
            f"{name} has no label column: line 1 starts with '{_short(cells[0])}' where 'label' "
            "belongs; training data needs labels (an unlabelled file is a test.csv)."
        )
    expected = TRAIN_HEADER if has_label else TEST_HEADER
    for column, (got, want) in enumerate(zip(cells, expected), start=1):
        if got.lower() != want:
            raise WorkbenchError(
                f"{name} line 1, column {column}: the header says '{_short(got)}' where '{want}' "
                f"belongs; the header must be '{_describe(expected)}'."
            )
    if len(cells) != len(expected):
        raise WorkbenchError(
            f"{name} line 1: the header has {len(cells)} columns, expected {len(expected)} "
            f"('{_describe(expected)}'); fix the header row."
        )
    return has_label


def _describe(header: tuple[str, ...]) -> str:
    return ",".join(header[:2]) + ",...," + header[-1]


@cache
def _valid_line(labelled: bool) -> re.Pattern:
    """A whole valid data line (compiled on first use: it takes ~0.1 s)."""
    pixels = (_PIXEL + b",") * (N_PIXELS - 1) + _PIXEL
    return re.compile(rb"\s*\d\s*," + pixels if labelled else pixels)


def _raise_first_problem(body: bytes, name: str, labelled: bool) -> None:
    """Scan the data lines (line 2 on) and raise for the first bad one."""
    header = TRAIN_HEADER if labelled else TEST_HEADER
    fast = _valid_line(labelled)
    lines = body.split(b"\n")
    while lines and not lines[-1].strip():
        lines.pop()
    for index, raw in enumerate(lines):
        line = raw.rstrip(b"\r")
        if fast.fullmatch(line) or not line.strip():
            continue
        where = f"{name} line {index + 2}"
        cells = line.split(b",")
        if len(cells) != len(header):
            fix = "the file looks cut short: download it again" if index == len(lines) - 1 else (
                "fix or delete that line")
            raise WorkbenchError(f"{where} has {len(cells)} columns, "
                                 f"expected {len(header)}; {fix}.")
        for column, cell in enumerate(cells, start=1):
            problem = _cell_problem(cell, column == 1 and labelled)
            if problem:
                raise WorkbenchError(f"{where}, column {column} "
                                     f"({header[column - 1]}): {problem}.")


def _cell_problem(cell: bytes, is_label: bool) -> str | None:
    """Why one cell is not a valid label (0-9) or pixel (0-255), or None if it is."""
    try:
        text = cell.decode("utf-8").strip()
    except UnicodeDecodeError:
        return "the cell is not UTF-8 text; save the file as UTF-8 CSV"
    what, top = (("labels are digits 0-9", 9) if is_label
                 else ("pixels are whole numbers 0-255", 255))
    if not text:
        return f"the cell is empty; {what}: fill it in or delete the line"
    if text.lower() in _MISSING:
        return f"the cell is '{text}' (a missing value); {what}: fill it in or delete the line"
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        kind = "not a whole number" if text.isascii() and _is_float(text) else "not a number"
        return f"'{_short(text, 20)}' is {kind}; {what}"
    if len(text.lstrip("+-0")) > 3 or not 0 <= int(text) <= top:
        return f"{_short(text, 20)} is out of range; {what}"
    return None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
