"""`workbench-engine` through its real entry point: output, exit codes, one-line errors."""

import json

import numpy as np
import pytest

from tests.helpers import csv_bytes, make_images
from workbench.engine.data.competition import sample_path

COMMANDS = [[], ["data"], ["data", "info"], ["data", "show"], ["data", "export-png"],
            ["baseline"], ["baseline", "random"], ["submission"], ["submission", "check"]]


def assert_one_line_error(result, *phrases):
    """Exit 2, no traceback, and one error line (after any progress lines) naming the problem."""
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), result.stderr
    for phrase in phrases:
        assert phrase in errors[0]


def test_version(cli):
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("workbench-engine 0.")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help(cli, command):
    result = cli(*command, "--help")
    assert result.returncode == 0
    assert "usage: workbench-engine" in result.stdout


def test_info_on_the_kaggle_zip(cli, kaggle):
    result = cli("data", "info", "--data", kaggle.zip())
    assert result.returncode == 0, result.stderr
    assert "30 train (labelled), 12 test" in result.stdout
    assert "Class balance" in result.stdout and "Duplicates" in result.stdout


def test_info_json_on_the_embedded_sample(cli):
    result = cli("data", "info", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert (info["train_rows"], info["test_rows"]) == (5000, 1000)
    assert sum(info["class_counts"].values()) == 5000
    assert info["source"] == "embedded sample"


def test_workbench_data_variable(cli, kaggle, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA", str(kaggle.folder()))
    assert '"train_rows": 30' in cli("data", "info", "--json").stdout


def test_show_ascii(cli, kaggle, tmp_path):
    images = np.zeros((2, 28, 28), np.uint8)
    images[1, 14, :] = 255
    path = tmp_path / "train.csv"
    path.write_bytes(csv_bytes(images, np.array([4, 7], np.uint8)))
    result = cli("data", "show", "2", "--data", path, "--style", "ascii")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "train #2: label 7"
    assert lines[15] == "@" * 56 and lines[14].strip() == ""


def test_show_blocks_and_test_split(cli, kaggle):
    result = cli("data", "show", "12", "--split", "test", "--style", "blocks", "--data",
                 kaggle.zip())
    assert result.returncode == 0, result.stderr
    assert "test ImageId 12 (unlabelled)" in result.stdout
    assert result.stdout.count("▀") == 28 * 14


def test_show_unknown_id(cli, kaggle):
    assert_one_line_error(cli("data", "show", "13", "--split", "test", "--data", kaggle.zip()),
                          "test has ids 1..12; 13 is not one of them")


def test_export_png_and_resume(cli, kaggle, tmp_path):
    out = tmp_path / "png"
    result = cli("data", "export-png", out, "--data", kaggle.zip())
    assert result.returncode == 0, result.stderr
    assert "Wrote 42 PNGs" in result.stderr
    assert len(list(out.rglob("*.png"))) == 42
    (out / "test/03.png").unlink()
    again = cli("data", "export-png", out, "--data", kaggle.zip())
    assert "Wrote 1 PNGs" in again.stderr and "41 already there" in again.stderr


def test_random_baseline_writes_a_checked_submission(cli, tmp_path):
    result = cli("baseline", "random")
    assert result.returncode == 0, result.stderr
    accuracy = float(result.stdout.split("rows: ")[1].split("%")[0])
    assert 7 < accuracy < 13
    submission = tmp_path / "submissions/random.csv"
    assert submission.read_text().count("\n") == 1001
    check = cli("submission", "check", submission, "--data", sample_path())
    assert check.returncode == 0, check.stderr
    assert "is a valid submission: 1,000 rows" in check.stdout


def test_random_baseline_refuses_to_overwrite(cli, tmp_path):
    cli("baseline", "random", "--seed", "1")
    before = (tmp_path / "submissions/random.csv").read_bytes()
    assert_one_line_error(cli("baseline", "random", "--seed", "2"), "already exists",
                          "--force")
    assert (tmp_path / "submissions/random.csv").read_bytes() == before
    assert cli("baseline", "random", "--seed", "2", "--force").returncode == 0
    assert (tmp_path / "submissions/random.csv").read_bytes() != before


def test_check_reports_each_problem(cli, tmp_path):
    path = tmp_path / "sub.csv"
    rows = "".join(f"{i},1\n" for i in range(1, 1000)) + "1000,12\n5,3\n1001,0\n"
    path.write_text("ImageId,Label\n" + rows)
    result = cli("submission", "check", path, "--data", sample_path())
    assert result.returncode == 2 and "Traceback" not in result.stderr
    problems = result.stderr.strip().splitlines()
    assert len(problems) == 3
    assert "line 1001: Label '12' is not a digit 0-9" in problems[0]
    assert "ImageIds appear more than once: 5 (lines 6, 1002)" in problems[1]
    assert "not in the test set (1..1000): 1001" in problems[2]


def test_bad_csv_exits_2_with_one_line(cli, tmp_path):
    path = tmp_path / "train.csv"
    good = csv_bytes(make_images(3), np.array([1, 2, 3], np.uint8))
    path.write_bytes(good.replace(b"\n2,", b"\n2,0.5", 1))
    assert_one_line_error(cli("data", "info", "--data", path), "train.csv line 3, column 2",
                          "'0.5", "not a whole number")


def test_missing_data_exits_2(cli, tmp_path):
    assert_one_line_error(cli("data", "info", "--data", tmp_path / "none.zip"), "does not exist")


@pytest.mark.parametrize("args", [["data", "show", "x"], ["data", "info", "--bogus"],
                                  ["frobnicate"], ["data", "show", "1", "--split", "val"]])
def test_bad_flags_exit_2_with_one_line(cli, args):
    assert_one_line_error(cli(*args), "error:", "--help")


def help_of(capsys, *command: str) -> str:
    """A command's --help as argparse prints it (one line a flag, whatever the width)."""
    from workbench.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args([*command, "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_cv_help_gives_the_defaults_cv_trains_with(capsys):
    """cv trains kaggle-best unless told otherwise: its help said simple-cnn and 5 epochs."""
    text = help_of(capsys, "cv")
    assert "default kaggle-best unless --model is given" in text
    assert "epochs (default: kaggle-best's;" in text and "default simple-cnn" not in text
    assert "--seed SEED seeds the weights" in text
    assert "default simple-cnn" in help_of(capsys, "train")


def test_search_help_gives_every_default(capsys):
    text = help_of(capsys, "search")
    for said in ("--model", "default simple-cnn", "--lrs LR [LR ...] default: 1 0.1 0.01 0.001",
                 "default: constant plateau triangular triangular2", "default 128",
                 "default 0.1", "seeds the weights and the validation split (default 0)"):
        assert said in text


def test_ctrl_c_before_the_first_epoch_says_no_checkpoint_was_kept(tmp_path):
    from workbench.cli.train import interrupted_line
    from workbench.engine.training.fit import TrainResult

    run = tmp_path / "20260101-120000-linear"
    line = interrupted_line(TrainResult(run, "interrupted", 0, None))
    assert line == ("Interrupted before its first epoch ended, so no checkpoint was kept; "
                    "workbench-engine train --resume 20260101-120000-linear starts it again in "
                    "the same folder.")
    assert "the last checkpoint is kept" in interrupted_line(
        TrainResult(run, "interrupted", 2, 0.9))


def test_runs_help_names_delete(capsys):
    assert "list, show, compare and delete training runs" in help_of(capsys)


def test_a_default_name_taken_in_the_same_second_gets_a_number_not_force(tmp_path):
    """Two `ensemble RUN...` in one second made the same default name, and the second was told
    to --force, which overwrites the first."""
    from workbench.engine.results.submission import unused_name

    subs, manifests = tmp_path / "submissions", tmp_path / "runs" / "ensembles"
    assert unused_name("ensemble-20260101-120000", subs, manifests) == "ensemble-20260101-120000"
    subs.mkdir()
    (subs / "ensemble-20260101-120000.csv").write_text("ImageId,Label\n")
    assert unused_name("ensemble-20260101-120000", subs) == "ensemble-20260101-120000-2"
    manifests.mkdir(parents=True)
    (manifests / "ensemble-20260101-120000-2.json").write_text("{}")
    assert unused_name("ensemble-20260101-120000", subs, manifests) == (
        "ensemble-20260101-120000-3")
