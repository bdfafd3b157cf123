"""The CLI's commands agree with each other (issue 19): `predict` takes --data as the README says
every command does; `submission check` and `kaggle submit` check a file against the same test
set (that of --data or $WORKBENCH_DATA, else Kaggle's 28,000 ImageIds) and say the same about it;
`kaggle submit` names the run, states the score with its place on the public leaderboard, and
the history remembers the run. In-process through `workbench.cli.main`, the real `kaggle` client
talking to the fake server."""

import json
from pathlib import Path

import pytest

from tests.fake_kaggle import served
from tests.helpers import synthetic_run
from workbench.cli import main
from workbench.engine.data.competition import load_competition

RUN = "20261130-101010-simple-cnn"
SECRET = "fake-key-c0n515t3nt-42"


def rows(n: int) -> str:
    return "ImageId,Label\n" + "".join(f"{i},{i % 10}\n" for i in range(1, n + 1))


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("workbench-engine: error: ")
    assert sum("error:" in line for line in lines) == 1, err
    return lines[-1]


@pytest.fixture
def fake(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with served(monkeypatch, SECRET, tmp_path / "kcfg", pending_polls=0,
                leaderboard=["1.00000", "0.99500", "0.99000"]) as server:
        yield server


# -- predict --data -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory) -> Path:
    from workbench.engine.training.config import TrainConfig
    from workbench.engine.training.fit import train

    runs_dir = tmp_path_factory.mktemp("runs")
    return train(TrainConfig(model="linear", epochs=1, batch_size=32, data=str(tiny_data)),
                 runs_dir=runs_dir).run


def test_predict_takes_data_and_predicts_its_test_set(trained, kaggle, tiny_data, tmp_path,
                                                      monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    other = kaggle.folder("other")  # 12 test images; the run was trained on 40
    runs = ["--runs-dir", str(trained.parent)]
    assert main(["predict", trained.name, "--data", str(other), "--name", "other", *runs]) == 0
    written = trained.parent.parent / "submissions/other.csv"  # beside the runs folder
    assert written.read_text().count("\n") == 13
    assert f"12 test images of {other}" in capsys.readouterr().err
    assert main(["submission", "check", str(written), "--data", str(other)]) == 0

    assert main(["predict", trained.name, "--data", str(tiny_data), "--name", "own", *runs]) == 0
    assert "Validation accuracy" in capsys.readouterr().out  # its own data: its saved figures
    assert (written.parent / "own.csv").read_text().count("\n") == 41

    assert main(["predict", trained.name, "--data", str(tmp_path / "missing.zip"), *runs]) == 2
    assert "missing.zip does not exist" in error_line(capsys.readouterr().err)


# -- submission check and kaggle submit: one expectation, one verdict ---------------------------


def test_a_sample_sized_file_is_refused_by_both_in_the_same_words(fake, tmp_path, capsys):
    path = tmp_path / "random.csv"
    path.write_text(rows(1000))  # made on the embedded sample: Kaggle has 28,000 test images
    assert main(["submission", "check", str(path)]) == 2
    checked = capsys.readouterr().err.splitlines()
    assert main(["kaggle", "submit", str(path), "-m", "x"]) == 2
    submitted = capsys.readouterr().err
    assert "was not uploaded" in error_line(submitted)
    problems = [line for line in submitted.splitlines() if line.startswith(f"{path}: ")]
    assert problems == checked and len(problems) == 2
    assert "27000 of the 28000 test ImageIds are missing" in problems[0]
    assert "a whole submission for a test set of 1,000 images, where 28,000 are expected " \
           "(Kaggle's digit-recognizer test set)" in problems[1]
    assert fake.requests == []


def test_a_kaggle_shaped_file_is_valid_for_both(fake, tmp_path, capsys):
    path = tmp_path / "full.csv"
    path.write_text(rows(28000))
    assert main(["submission", "check", str(path)]) == 0
    assert "28,000 rows, ImageId 1..28,000 once each, labels 0-9 (Kaggle's digit-recognizer " \
           "test set)" in capsys.readouterr().out
    assert main(["kaggle", "submit", str(path), "-m", "full"]) == 0
    assert list(fake.uploads.values()) == [path.read_bytes()]


def test_both_check_against_workbench_data(fake, kaggle, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORKBENCH_DATA", str(kaggle.zip()))  # 12 test images
    small, full = tmp_path / "small.csv", tmp_path / "full.csv"
    small.write_text(rows(12))
    full.write_text(rows(28000))
    assert main(["submission", "check", str(small)]) == 0
    assert f"({kaggle.zip()})" in capsys.readouterr().out
    assert main(["kaggle", "submit", str(small), "-m", "small"]) == 0
    assert fake.calls("CreateSubmission") == 1
    capsys.readouterr()

    assert main(["submission", "check", str(full)]) == 2
    checked = capsys.readouterr().err.splitlines()
    assert main(["kaggle", "submit", str(full), "-m", "full"]) == 2
    problems = [line for line in capsys.readouterr().err.splitlines() if "error:" not in line
                and line.startswith(str(full))]
    assert problems == checked and "27988 ImageIds are not in the test set" in problems[0]
    assert fake.calls("CreateSubmission") == 1


# -- kaggle submit: the run named, the score and its place stated, the run remembered -----------


def test_submit_names_the_run_and_states_the_score_and_place(fake, kaggle, tmp_path, capsys):
    run = synthetic_run(tmp_path / "runs", load_competition(kaggle.zip()), RUN)
    (run / "submission.csv").write_text(rows(28000))
    assert main(["kaggle", "submit", RUN[:15], "--runs-dir", str(tmp_path / "runs")]) == 0
    said = capsys.readouterr()
    assert said.out.strip() == (f"submission.csv (run {RUN}) scored: public score 0.99123, #3 "
                                "on the public leaderboard.")
    assert "as 'simple-cnn run 20261130-101010, val acc 90.00%'" in said.err
    assert fake.submissions[0]["description"] == "simple-cnn run 20261130-101010, val acc 90.00%"

    assert main(["kaggle", "submissions", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["run"] == RUN and listed[0]["file_name"] == "submission.csv"
    assert SECRET not in json.dumps(listed)


def test_the_cli_help_and_the_app_s_form_show_the_engine_s_defaults(capsys):
    """One source for defaults (issue 33): change one in recipes.py and both faces follow."""
    from workbench.engine.recipes import DEFAULT_FOLDS, DEFAULT_VAL_SPLIT, DEFAULTS
    from workbench.engine.training.config import TrainConfig

    recipe = TrainConfig().resolved()
    assert (recipe.model, recipe.epochs, recipe.batch_size, recipe.val_split) == (
        DEFAULTS["model"], DEFAULTS["epochs"], DEFAULTS["batch_size"], DEFAULT_VAL_SPLIT)
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for default in (f"default {DEFAULTS['model']}", f"default {DEFAULTS['optimizer']}",
                    f"default {DEFAULTS['epochs']}", f"default {DEFAULTS['batch_size']}",
                    f"default {DEFAULT_VAL_SPLIT}"):
        assert default in text, default
    with pytest.raises(SystemExit):
        main(["cv", "--help"])
    assert f"default {DEFAULT_FOLDS}" in " ".join(capsys.readouterr().out.split())
