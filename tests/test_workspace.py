"""Which data and which runs, named everywhere (issue 31: 3-6): the downloaded zip becomes the
default, runs are found from any folder of the workspace, every listing says sample or full and
marks folds and members, piped output keeps whole ids, and --json serves scripts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import synthetic_run
from workbench.cli import main
from workbench.engine.data.competition import data_path, load_competition, sample_path
from workbench.engine.data.suspects import read_suspects, toggle_suspect
from workbench.engine.events import TrainStarted
from workbench.engine.plans import cv
from workbench.engine.store import workspace
from workbench.engine.training.config import TrainConfig


def test_the_downloaded_zip_is_the_default_data_once_it_is_there(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert data_path() == sample_path()
    (tmp_path / "data").mkdir()
    shutil.copy(sample_path(), tmp_path / "data" / "digit-recognizer.zip")
    assert data_path() == Path("data") / "digit-recognizer.zip"
    # A recipe names it: a CV begun on it and continued after it moves is refused, not mixed.
    assert TrainConfig(model="linear").resolved().data == str(
        (tmp_path / "data" / "digit-recognizer.zip").resolve())
    monkeypatch.setenv("WORKBENCH_DATA", "elsewhere.zip")
    assert data_path() == Path("elsewhere.zip")


def test_competitions_say_sample_full_or_their_path(tiny_data):
    assert load_competition().kind == "sample"
    assert load_competition().label == "the embedded sample (5,000 labelled rows)"
    tiny = load_competition(tiny_data)
    assert tiny.kind == "other" and tiny.label.endswith("(300 labelled rows)")
    assert str(tiny_data) in tiny.label


def test_runs_are_found_from_a_subfolder_of_the_workspace_and_from_workbench_home(
        tmp_path, monkeypatch):
    home = tmp_path / "home"
    project = home / "digits"
    (project / "runs").mkdir(parents=True)
    (project / "data").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project / "data")
    assert workspace.runs_dir() == project / "runs"
    assert workspace.submissions_dir() == project / "submissions"
    monkeypatch.chdir(home)  # the home itself is never taken for a workspace
    (home / "runs").mkdir()
    monkeypatch.chdir(tmp_path)  # outside the home: the current folder
    assert workspace.runs_dir() == Path("runs")
    monkeypatch.setenv("WORKBENCH_HOME", str(project))
    assert workspace.runs_dir() == project / "runs"
    assert workspace.downloaded_data() == project / "data" / "digit-recognizer.zip"


def test_the_suspect_list_lives_in_the_runs_folder_and_an_old_one_is_still_read(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "suspects.csv").write_text("id\n7\n")
    assert read_suspects() == {7}  # the older place, while runs/ holds none
    (tmp_path / "suspects.csv").unlink()
    toggle_suspect(9)
    assert (tmp_path / "runs" / "suspects.csv").read_text() == "id\n9\n"
    assert not (tmp_path / "suspects.csv").exists()
    workspace.choose(tmp_path / "other-runs")
    toggle_suspect(4)
    assert read_suspects(tmp_path / "other-runs" / "suspects.csv") == {4}


def test_the_cli_s_runs_dir_carries_submissions_beside_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["baseline", "random"]) == 0
    assert (tmp_path / "submissions").is_dir()
    assert main(["runs", "list", "--runs-dir", str(tmp_path / "w" / "runs")]) == 0
    said = capsys.readouterr().out
    assert str(tmp_path / "w" / "runs") in said and "--runs-dir" in said


@pytest.fixture(scope="module")
def plans(tmp_path_factory, tiny_data):
    """A finished 3-fold CV, an ensemble of its folds, and a lone run, on the tiny data."""
    root = tmp_path_factory.mktemp("plans")
    config = TrainConfig(model="linear", epochs=1, batch_size=64, seed=7, data=str(tiny_data))
    events = []
    result = cv.train_cv(config, 3, name="tiny", runs_dir=root / "runs",
                         subscribers=[events.append])
    synthetic_run(root / "runs", load_competition(tiny_data),
                  "20260101-120000-a-run-id-long-enough-to-be-cut-in-a-narrow-table")
    return root, result, events


def test_the_start_line_names_the_data(plans, tiny_data):
    _, _, events = plans
    started = [event for event in events if isinstance(event, TrainStarted)]
    assert started and all(event.data == load_competition(tiny_data).label for event in started)


def test_runs_list_marks_folds_says_the_rows_and_keeps_whole_ids_when_piped(plans, cli):
    root, result, _ = plans
    folds = [run.name for run in result.runs]
    listing = cli("runs", "list", cwd=root)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    for index, run in enumerate(folds):
        line = next(line for line in lines if run in line)
        assert f"CV tiny fold {index}/3" in line and "100" in line  # a third of 300 rows
    narrow = cli("runs", "list", cwd=root, env={"COLUMNS": "20"})
    assert "20260101-120000-a-run-id-long-enough-to-be-cut-in-a-narrow-table" in narrow.stdout
    assert "…" not in narrow.stdout


def test_runs_list_show_and_compare_speak_json(plans, cli):
    root, result, _ = plans
    listing = json.loads(cli("runs", "list", "--json", cwd=root).stdout)
    by_id = {run["id"]: run for run in listing["runs"]}
    first = by_id[result.runs[0].name]
    assert first["part"] == "CV tiny fold 0/3" and first["held_out_rows"] == 100
    assert listing["cvs"][0]["name"] == "tiny" and listing["cvs"][0]["summary"]["rows"] == 300
    shown = json.loads(cli("runs", "show", result.runs[1].name, "--json", cwd=root).stdout)
    assert shown["config"]["fold"] == 1 and len(shown["history"]) == 1
    compared = json.loads(cli("runs", "compare", *(run.name for run in result.runs[:2]),
                              "--json", cwd=root).stdout)
    assert [run["part"] for run in compared] == ["CV tiny fold 0/3", "CV tiny fold 1/3"]
    table = cli("runs", "compare", *(run.name for run in result.runs[:2]), cwd=root).stdout
    assert "None" not in table and "CV tiny fold 1/3" in table


def test_an_ensemble_of_folds_says_why_it_has_no_held_out_accuracy(plans, cli):
    root, result, _ = plans
    made = cli("ensemble", *(run.name for run in result.runs), "--name", "folds", cwd=root)
    assert made.returncode == 0, made.stderr
    assert "No validation accuracy: its members held out no row in common" in made.stdout
    assert "ensemble folds: no held-out accuracy" in cli("runs", "list", cwd=root).stdout


def test_deleting_a_fold_asks_for_force_and_withdraws_the_cv_s_figure(tmp_path, plans, cli):
    root, result, _ = plans
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    fold = result.runs[2].name
    refused = cli("runs", "delete", fold, cwd=copy)
    assert refused.returncode == 2
    assert "is CV tiny fold 2/3" in refused.stderr and "--force" in refused.stderr
    assert (copy / "runs" / fold).is_dir()
    deleted = cli("runs", "delete", fold, "--force", cwd=copy)
    assert deleted.returncode == 0, deleted.stderr
    state = cv.cv_status("tiny", copy / "runs")
    assert state.progress.startswith("2/3") and state.summary is None


def test_cv_speaks_json(plans, cli, tiny_data):
    root, _, _ = plans
    again = cli("cv", "--model", "linear", "--epochs", "1", "--batch-size", "64", "--seed", "7",
                "--folds", "3", "--name", "tiny", "--data", tiny_data, "--json", cwd=root)
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert result["name"] == "tiny" and result["finished"] == 3
    assert result["summary"]["rows"] == 300


def test_a_cv_lists_its_most_confused_pairs(plans, cli):
    root, _, _ = plans
    shown = cli("runs", "show", "tiny", cwd=root)
    assert shown.returncode == 0, shown.stderr
    assert "most confused (true -> predicted): " in shown.stdout


def test_runs_and_a_cv_export_as_png_and_csv(plans, cli, tmp_path):
    from PIL import Image

    root, result, _ = plans
    made = cli("runs", "export", "tiny", result.runs[0].name, "--out", tmp_path / "figs",
               cwd=root)
    assert made.returncode == 0, made.stderr
    names = sorted(path.name for path in (tmp_path / "figs").iterdir())
    assert names == sorted(["curves.png", "curves.csv", "confusion-tiny.png",
                            "confusion-tiny.csv", f"confusion-{result.runs[0].name}.png",
                            f"confusion-{result.runs[0].name}.csv"])
    with Image.open(tmp_path / "figs" / "curves.png") as picture:
        assert picture.format == "PNG" and picture.width >= 800
    rows = (tmp_path / "figs" / "curves.csv").read_text().splitlines()
    assert rows[0] == "run,epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds"
    assert {row.split(",")[0] for row in rows[1:]} == {run.name for run in result.runs}
    matrix = [list(map(int, row.split(",")[1:]))
              for row in (tmp_path / "figs" / "confusion-tiny.csv").read_text().splitlines()[1:]]
    assert sum(map(sum, matrix)) == 300  # every row, out of fold
    default = cli("runs", "export", "tiny", cwd=root)
    assert default.returncode == 0 and "exports/tiny-" in default.stdout
    assert cli("runs", "export", "nothing", cwd=root).returncode == 2
