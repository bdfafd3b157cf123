"""Submissions: the checker (one message per problem) and the one writer every command uses."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.engine.atomic import write_atomic
from workbench.engine.errors import WorkbenchError, describe_os_error

HEADER = ("ImageId", "Label")
SUBMISSIONS_DIR = Path("submissions")
MAX_LINE_PROBLEMS = 10
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass
class SubmissionCheck:
    """The checker's verdict: no problems means Kaggle will accept the file."""

    rows: int = 0
    problems: list[str] = field(default_factory=list)
    label_counts: dict[int, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_submission_file(path: Path, test_ids: np.ndarray) -> SubmissionCheck:
    """Check a submission file against the test set's ImageIds."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise WorkbenchError(f"{path} is a folder; give the submission CSV file.") from None
    except FileNotFoundError:
        raise WorkbenchError(f"{path} does not exist; give the path of a submission CSV.") from None
    except OSError as error:
        raise WorkbenchError(f"cannot read {path}: {error.strerror or error}.") from None
    return check_submission_text(data, test_ids)


def check_submission_text(data: bytes, test_ids: np.ndarray) -> SubmissionCheck:
    """Check submission CSV bytes: header, every test ImageId once, labels 0-9."""
    check = SubmissionCheck()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        check.problems.append(f"the file is not UTF-8 text (byte {error.start + 1}); "
                              "save it as UTF-8 CSV.")
        return check
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        check.problems.append("the file is empty; it needs the header 'ImageId,Label' and a row "
                              "per test image.")
        return check
    header = tuple(cell.strip() for cell in rows[0])
    if header != HEADER:
        check.problems.append(f"line 1: the header is '{','.join(header)[:60]}', "
                              "expected 'ImageId,Label'.")
    line_problems: list[str] = []
    seen: dict[int, list[int]] = defaultdict(list)
    labels: Counter[int] = Counter()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        check.rows += 1
        problem = _row_problem(row)
        if problem:
            line_problems.append(f"line {line}: {problem}.")
            continue
        seen[int(row[0])].append(line)
        labels[int(row[1])] += 1
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
        span = f"1..{len(expected)}" if expected else "none"
        check.problems.append(f"{len(extra)} ImageIds are not in the test set ({span}): "
                              f"{_some(extra)}; check that --data is the competition this "
                              "submission is for.")
    check.label_counts = {digit: labels[digit] for digit in range(10)}
    return check


def _row_problem(row: list[str]) -> str | None:
    if len(row) != 2:
        return f"{len(row)} columns, expected 2 (ImageId,Label)"
    image_id, label = (cell.strip() for cell in row)
    if not image_id.isdigit():
        return f"ImageId '{image_id[:20]}' is not a whole number"
    if not (label.isdigit() and len(label) == 1):
        return f"Label '{label[:20]}' is not a digit 0-9"
    return None


def _some(values: list, shown: int = 5) -> str:
    head = ", ".join(map(str, values[:shown]))
    return head + (", ..." if len(values) > shown else "")


def submission_bytes(image_ids: np.ndarray, labels: np.ndarray) -> bytes:
    lines = [",".join(HEADER)] + [f"{i},{label}" for i, label in zip(image_ids.tolist(),
                                                                      labels.tolist())]
    return ("\n".join(lines) + "\n").encode()


def write_submission(
    image_ids: np.ndarray,
    labels: np.ndarray,
    name: str,
    directory: Path = SUBMISSIONS_DIR,
    force: bool = False,
) -> Path:
    """Validate and atomically write ``directory/<name>.csv``; never overwrite unless ``force``."""
    if not _NAME.fullmatch(name):
        raise WorkbenchError(f"'{name}' is not a usable submission name; use letters, digits, "
                             "'.', '_' and '-'.")
    path = directory / f"{name.removesuffix('.csv')}.csv"
    if path.exists() and not force:
        raise WorkbenchError(f"{path} already exists; pass --force to overwrite it or choose "
                             "another --name.")
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
