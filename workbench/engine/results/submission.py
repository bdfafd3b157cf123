"""Submissions: the checker (one message per problem), the test set every command checks against,
the run a submission came from, and the one writer every command uses."""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.engine.data.competition import load_competition, read_file
from workbench.engine.data.csvformat import sniff
from workbench.engine.errors import (
    Action,
    Fix,
    Option,
    Words,
    WorkbenchError,
    as_flag,
    describe_os_error,
    printable,
    worded,
)
from workbench.engine.runs import run as runs
from workbench.engine.store import workspace
from workbench.engine.store.atomic import write_atomic

COMPETITION = "digit-recognizer"
KAGGLE_DATA = f"data/{workspace.DOWNLOAD_NAME}"  # where kaggle download puts it
TEST_ROWS = {"digit-recognizer": 28000}  # Kaggle's test set: ImageId 1..N
HEADER = ("ImageId", "Label")
MAX_LINE_PROBLEMS = 10
MAX_SUBMISSION_BYTES = 16 << 20  # 28,000 rows take 220 KB
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ASCII_DIGITS = re.compile(r"[0-9]+")
_LABEL = re.compile(r"[0-9]")
_SPACE = " \t"


@dataclass
class SubmissionCheck:
    """The checker's verdict: no problems means Kaggle will accept the file."""

    rows: int = 0
    problems: list[str] = field(default_factory=list)  # sentences in no face's words
    label_counts: dict[int, int] = field(default_factory=dict)
    made_for: int | None = None  # N when the rows are ImageId 1..N, each once, all well formed

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Expectation:
    """The test ImageIds a submission is checked against, and whose they are."""

    ids: np.ndarray
    source: str
    kaggle: bool = False  # the competition's own test set, as Kaggle scores it


def expected_test_set(data: str | os.PathLike | None = None,
                      competition: str = COMPETITION) -> Expectation:
    """What `submission check` and `kaggle submit` both check a file against: the test set of
    the data given (``data``, else $WORKBENCH_DATA), else the competition's own on Kaggle
    (digit-recognizer: ImageId 1..28,000), so that the two never disagree."""
    chosen = data or os.environ.get("WORKBENCH_DATA")
    if chosen:
        loaded = load_competition(chosen)
        return Expectation(loaded.test_ids, loaded.source)
    return kaggle_test_set(competition)


def kaggle_test_set(competition: str = COMPETITION) -> Expectation:
    """The competition's test set on Kaggle, by its known size."""
    if competition not in TEST_ROWS:
        raise WorkbenchError(f"no test set size known for '{printable(competition)}'",
                             ("give its data, with its test.csv (", Option("data"), "), so the "
                              "submission can be checked."))
    return Expectation(np.arange(1, TEST_ROWS[competition] + 1),
                       f"Kaggle's {competition} test set", kaggle=True)


def problem_lines(check: SubmissionCheck, expected: Expectation, run: str | None = None,
                  words: Words = as_flag) -> list[str]:
    """The checker's problems, then, when the file is a whole submission for a test set of
    another size, the cause (it was made for other data) and the fix: for Kaggle, predict on
    Kaggle's data (a file made on the sample passes a check against the sample, and Kaggle
    still rejects it); for other data, check against that data. Fixes in ``words``."""
    lines: list[Fix] = list(check.problems)
    if check.problems and check.made_for and check.made_for != len(expected.ids):
        cause = (f"the file holds ImageId 1..{check.made_for:,}, a whole submission for a "
                 f"test set of {check.made_for:,} images, where {len(expected.ids):,} are "
                 f"expected ({expected.source}): it was made for other data")
        if expected.kaggle:
            what = f"predict run {run}" if run else "make it again"
            predict = Action("predict", (run or "RUN",), (("data", KAGGLE_DATA),))
            lines.append((f"{cause} (the embedded sample has 1,000 test images); Kaggle scores "
                          f"only its own: {what} on Kaggle's data (for a run: ",
                          predict, ", after ", Action("kaggle download"), ")."))
        else:
            lines.append((f"{cause}; check it with ", Option("data"),
                          " set to the data it was made for."))
    return [worded(line, words) for line in lines]


def check_submission_file(path: Path, test_ids: np.ndarray) -> SubmissionCheck:
    """Check a submission file against the test set's ImageIds.

    Only a regular file of at most MAX_SUBMISSION_BYTES is read: a FIFO or /dev/zero would
    block or never end."""
    data = read_file(Path(path), MAX_SUBMISSION_BYTES, "give the path of a submission CSV.",
                     "a submission CSV")
    return check_submission_text(data, test_ids)


def check_submission_text(data: bytes, test_ids: np.ndarray) -> SubmissionCheck:
    """Check submission CSV bytes: header, every test ImageId once, labels 0-9."""
    if len(test_ids) == 0:
        raise WorkbenchError("the data has no test images to check the submission against",
                             ("give the competition it is for, with its test.csv (",
                              Option("data"), ")."))
    check = SubmissionCheck()
    not_text = sniff(data)
    if not_text:
        check.problems.append(f"the file is {not_text[0]}, not CSV text; {not_text[1]}.")
        return check
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        check.problems.append(f"the file is not UTF-8 text (byte {error.start + 1}); "
                              "save it as UTF-8 CSV.")
        return check
    rows, problem = _read_rows(text)
    if not rows and not problem:
        check.problems.append("the file is empty; it needs the header 'ImageId,Label' and a row "
                              "per test image.")
        return check
    if rows:
        header = tuple(cell.strip(_SPACE) for cell in rows[0][1])
        if header != HEADER:
            check.problems.append(f"line 1: the header is '{printable(','.join(header)[:60])}', "
                                  "expected 'ImageId,Label'.")
    line_problems: list[str] = []
    seen: dict[int, list[int]] = defaultdict(list)
    labels: Counter[int] = Counter()
    for line, row in rows[1:]:
        if not any(cell.strip(_SPACE) for cell in row):
            continue
        check.rows += 1
        row_problem = _row_problem(row)
        if row_problem:
            line_problems.append(f"line {line}: {row_problem}.")
            continue
        seen[int(row[0])].append(line)
        labels[int(row[1])] += 1
    if problem:
        line_problems.append(problem)
    check.problems += line_problems[:MAX_LINE_PROBLEMS]
    if len(line_problems) > MAX_LINE_PROBLEMS:
        check.problems.append(f"... and {len(line_problems) - MAX_LINE_PROBLEMS} more lines "
                              "with problems.")
    expected = {int(i) for i in test_ids}
    duplicated = [f"{image_id} (lines {', '.join(map(str, lines[:3]))})"
                  for image_id, lines in seen.items() if len(lines) > 1]
    if duplicated:
        check.problems.append(f"{len(duplicated)} ImageIds appear more than once: "
                              f"{_some(duplicated)}; keep one row per ImageId.")
    missing = sorted(expected - seen.keys())
    if missing and not line_problems:
        check.problems.append(f"{len(missing)} of the {len(expected)} test ImageIds are missing: "
                              f"{_some(missing)}; predict every test image.")
    extra = sorted(seen.keys() - expected)
    if extra:
        check.problems.append(f"{len(extra)} ImageIds are not in the test set "
                              f"(1..{len(expected)}): {_some(extra)}; it may be for other data.")
    check.label_counts = {digit: labels[digit] for digit in range(10)}
    if not line_problems and not duplicated and seen.keys() == set(range(1, check.rows + 1)):
        check.made_for = check.rows
    return check


def _read_rows(text: str) -> tuple[list[tuple[int, list[str]]], str | None]:
    """(first line number, cells) of each CSV row, and the problem that stopped reading, if any
    (a cell over the csv module's field limit)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for row in reader:
            rows.append((line, row))
            line = reader.line_num + 1
    except csv.Error:
        return rows, (f"line {line}: a cell runs over {csv.field_size_limit() >> 10} KB (an "
                      "unclosed quote, or not a submission); a cell holds an ImageId or a digit.")
    return rows, None


def _row_problem(row: list[str]) -> str | None:
    """Why a data row is not 'ImageId,Label' in ASCII digits, or None.

    Only 0-9 count as digits: str.isdigit() and int() also take '²' or Arabic-Indic digits,
    which Kaggle's scorer does not."""
    if len(row) != 2:
        return f"{len(row)} columns, expected 2 (ImageId,Label)"
    if any("\n" in cell or "\r" in cell for cell in row):
        return "a quoted cell runs over several lines (an unclosed quote?); remove the quotes"
    image_id, label = (cell.strip(_SPACE) for cell in row)
    if not _ASCII_DIGITS.fullmatch(image_id):
        return f"ImageId '{_quote(image_id)}' is not a whole number{_digits_hint(image_id)}"
    if len(image_id.lstrip("0")) > 9:
        return f"ImageId '{_quote(image_id)}' is far larger than any test ImageId"
    if not _LABEL.fullmatch(label):
        return f"Label '{_quote(label)}' is not a digit 0-9{_digits_hint(label)}"
    return None


def _digits_hint(cell: str) -> str:
    if cell.isascii() or not any(char.isdigit() for char in cell):
        return ""
    return " (only the ASCII digits 0-9 count)"


def _quote(cell: str) -> str:
    return printable(cell[:20]) + ("..." if len(cell) > 20 else "")


def _some(values: list, shown: int = 5) -> str:
    head = ", ".join(map(str, values[:shown]))
    return head + (", ..." if len(values) > shown else "")


def run_of(path: Path) -> str | None:
    """The run whose submission ``path`` is (RUN/submission.csv beside the run's config.json),
    else None (a saved submission)."""
    path = Path(path).absolute()
    if path.name == "submission.csv" and (path.parent / "config.json").is_file():
        return path.parent.name
    return None


def default_message(path: Path) -> str:
    """A Kaggle message naming what is sent, so the history tells submissions apart: "simple-cnn
    run 20261130-101010, val acc 99.12%" for a run's submission, else the file's name."""
    run = run_of(path)
    if run is None:
        return printable(Path(path).stem)
    folder = runs.Run(Path(path).absolute().parent)
    model, accuracy = folder.config.get("model"), folder.best_val_accuracy
    if not isinstance(model, str) or not model:
        return printable(f"run {run}")
    message = f"{model} run {run.removesuffix(f'-{model}')}"
    if accuracy is not None and 0 <= accuracy <= 1:
        message += f", val acc {100 * accuracy:.2f}%"
    return printable(message)


def submission_bytes(image_ids: np.ndarray, labels: np.ndarray) -> bytes:
    lines = [",".join(HEADER)] + [f"{i},{label}" for i, label in zip(image_ids.tolist(),
                                                                      labels.tolist())]
    return ("\n".join(lines) + "\n").encode()


def unused_name(stem: str, directory: Path, *taken_in: Path) -> str:
    """``stem``, or ``stem-2``, ``stem-3``, ...: the first that names no submission in
    ``directory`` (nor a ``NAME.json`` in any of ``taken_in``): a default name (one made of the
    second, say) never meets another command's, nor asks to overwrite it."""
    name, number = stem, 1
    while (directory / f"{name}.csv").exists() or any(
            (folder / f"{name}.json").exists() for folder in taken_in):
        number += 1
        name = f"{stem}-{number}"
    return name


def write_submission(
    image_ids: np.ndarray,
    labels: np.ndarray,
    name: str,
    directory: Path | None = None,
    force: bool = False,
) -> Path:
    """Validate and atomically write ``directory/<name>.csv`` (default: the workspace's
    submissions folder); never overwrite unless ``force``."""
    directory = directory or workspace.submissions_dir()
    if not _NAME.fullmatch(name):
        raise WorkbenchError(f"'{name}' is not a usable submission name; use letters, digits, "
                             "'.', '_' and '-'.")
    path = directory / f"{name.removesuffix('.csv')}.csv"
    if path.exists() and not force:
        raise WorkbenchError(f"{path} already exists",
                             ("overwrite it (", Option("force"), ") or choose another name (",
                              Option("name"), ")."))
    if len(image_ids) == 0:
        raise WorkbenchError("the test set is empty; load data that has a test.csv to write a "
                             "submission.")
    data = submission_bytes(np.asarray(image_ids), np.asarray(labels))
    check = check_submission_text(data, image_ids)
    if not check.ok:
        raise WorkbenchError(f"refusing to write {path}: {check.problems[0]}")
    try:
        write_atomic(path, data)
    except OSError as error:
        raise WorkbenchError(describe_os_error(error)) from None
    return path
