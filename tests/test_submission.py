"""The submission checker's messages and the one submission writer."""

import numpy as np
import pytest

from workbench.engine.errors import WorkbenchError
from workbench.engine.results.submission import (
    check_submission_file,
    check_submission_text,
    submission_bytes,
    write_submission,
)

IDS = np.arange(1, 6, dtype=np.int32)


def check(text: str):
    return check_submission_text(text.encode(), IDS)


def test_valid_submission():
    result = check("ImageId,Label\n1,3\n2,3\n3,0\n4,9\n5,1\n")
    assert result.ok
    assert result.rows == 5
    assert result.label_counts[3] == 2 and result.label_counts[7] == 0


def test_bom_crlf_and_any_row_order_are_fine():
    assert check("\ufeffImageId,Label\r\n5,1\r\n4,1\r\n3,1\r\n2,1\r\n1,1\r\n").ok


@pytest.mark.parametrize("text, phrases", [
    ("", ["empty"]),
    ("Id,Label\n1,0\n2,0\n3,0\n4,0\n5,0\n", ["line 1", "'Id,Label'", "'ImageId,Label'"]),
    ("ImageId,Label\n1,0\n2,0\n3,0\n5,0\n", ["1 of the 5 test ImageIds are missing: 4"]),
    ("ImageId,Label\n1,0\n2,0\n2,1\n3,0\n4,0\n5,0\n",
     ["1 ImageIds appear more than once: 2 (lines 3, 4)"]),
    ("ImageId,Label\n1,0\n2,0\n3,0\n4,0\n5,0\n6,0\n", ["not in the test set (1..5): 6"]),
    ("ImageId,Label\n1,0\n2,10\n3,0\n4,0\n5,0\n", ["line 3: Label '10' is not a digit 0-9"]),
    ("ImageId,Label\n1,0\n2,1.0\n3,0\n4,0\n5,0\n", ["line 3: Label '1.0'"]),
    ("ImageId,Label\n1,0\n2,\n3,0\n4,0\n5,0\n", ["line 3: Label ''"]),
    ("ImageId,Label\nx,0\n2,0\n3,0\n4,0\n5,0\n", ["line 2: ImageId 'x' is not a whole number"]),
    ("ImageId,Label\n1,0,7\n2,0\n3,0\n4,0\n5,0\n", ["line 2: 3 columns, expected 2"]),
])
def test_each_problem_has_its_message(text, phrases):
    result = check(text)
    assert not result.ok
    joined = "\n".join(result.problems)
    for phrase in phrases:
        assert phrase in joined


def test_one_message_per_problem():
    result = check("ImageId,Label\n1,0\n1,0\n2,11\n7,0\n")
    assert len(result.problems) == 3
    assert all("\n" not in problem for problem in result.problems)


def test_many_bad_lines_are_summarised():
    body = "".join(f"{i},x\n" for i in range(1, 31))
    result = check_submission_text(f"ImageId,Label\n{body}".encode(), np.arange(1, 31))
    assert len(result.problems) == 11
    assert result.problems[-1] == "... and 20 more lines with problems."


def test_missing_file(tmp_path):
    with pytest.raises(WorkbenchError, match="does not exist"):
        check_submission_file(tmp_path / "nope.csv", IDS)


def test_writer_writes_a_file_the_checker_accepts(tmp_path):
    labels = np.array([7, 2, 1, 0, 4], dtype=np.uint8)
    path = write_submission(IDS, labels, "first", directory=tmp_path)
    assert path == tmp_path / "first.csv"
    assert path.read_bytes() == b"ImageId,Label\n1,7\n2,2\n3,1\n4,0\n5,4\n"
    assert check_submission_file(path, IDS).ok


def test_writer_refuses_to_overwrite_without_force(tmp_path):
    labels = np.zeros(5, dtype=np.uint8)
    write_submission(IDS, labels, "mine", directory=tmp_path)
    with pytest.raises(WorkbenchError, match=r"already exists; overwrite it \(--force\)"):
        write_submission(IDS, labels + 1, "mine", directory=tmp_path)
    assert (tmp_path / "mine.csv").read_bytes() == submission_bytes(IDS, labels)
    write_submission(IDS, labels + 1, "mine", directory=tmp_path, force=True)
    assert (tmp_path / "mine.csv").read_bytes() == submission_bytes(IDS, labels + 1)


def test_writer_refuses_invalid_labels_and_names(tmp_path):
    with pytest.raises(WorkbenchError, match="refusing to write"):
        write_submission(IDS, np.array([0, 1, 2, 3, 10]), "bad", directory=tmp_path)
    with pytest.raises(WorkbenchError, match="not a usable submission name"):
        write_submission(IDS, np.zeros(5, dtype=np.uint8), "../escape", directory=tmp_path)
    assert list(tmp_path.iterdir()) == []
