"""An engine error carries its fix as data (the options and actions that fix it), and each face
words it: a flag or a command in the CLI, a field or a screen's key in the app."""

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import Static

from workbench.cli import main
from workbench.engine.errors import Action, Option, WorkbenchError, user_message
from workbench.engine.runs import listing
from workbench.engine.runs.run import RunDamaged
from workbench.engine.training.config import TrainConfig
from workbench.tui.app import WorkbenchApp
from workbench.tui.workers import say


def test_the_fix_names_its_option_as_data():
    labels = np.arange(20) % 10
    with pytest.raises(WorkbenchError) as caught:
        TrainConfig(val_split=0.99).check_rows(labels)
    error = caught.value
    assert error.options == (Option("val_split"),)
    assert error.problem.startswith("validation split 0.99 holds out all 20 labelled rows")
    assert str(error).endswith("use a smaller validation split (--val-split, e.g. 0.1).")
    assert say(error).endswith("use a smaller validation split (the Validation split field, "
                               "e.g. 0.1).")


def test_a_damaged_run_s_fix_is_the_delete_command_in_the_cli_and_the_key_in_the_app(tmp_path):
    error = RunDamaged(tmp_path / "runs" / "20260101-000000-linear", "config.json is missing")
    assert isinstance(error.fix[1], Action) and error.fix[1].command == "runs delete"
    assert "delete it with 'workbench-engine runs delete 20260101-000000-linear --runs-dir " in (
        str(error))
    assert say(error).startswith("run 20260101-000000-linear is damaged: config.json is missing; "
                                 "delete it with Delete on the Runs screen (or rm -r ")
    assert "workbench-engine" not in say(error)


def test_a_missing_run_names_the_listing_as_an_action(tmp_path):
    (tmp_path / "runs").mkdir()
    with pytest.raises(WorkbenchError) as caught:
        listing.find_run("nothing", tmp_path / "runs")
    assert caught.value.fix[0] == Action("runs list")
    assert str(caught.value).endswith("; 'workbench-engine runs list' shows the runs.")
    assert say(caught.value).endswith("; the Runs screen shows the runs.")


def engine_strings():
    """Every string the engine's code holds but its docstrings: what it may say to a user."""
    root = Path(__file__).resolve().parents[1] / "workbench" / "engine"
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        docs = {id(node.body[0].value) for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    id(node) not in docs):
                yield path.relative_to(root).as_posix(), node.value


def test_the_engine_speaks_no_cli_words():
    """Issue 33: a fix is an Option or an Action that each face words; no command line or flag
    is written into the engine's sentences (errors.py words them for the CLI)."""
    cli_words = [(path, text) for path, text in engine_strings() if path != "errors.py" and (
        "workbench-engine" in text or re.search(r"(^|[\s(])--[a-z]", text))
        and "xla" not in text and "ray start" not in text]  # XLA's flags and Ray's are no CLI's
    assert cli_words == []


def test_an_error_without_options_reads_the_same_everywhere():
    error = WorkbenchError("the data has no labelled rows to train on; give a train.csv.")
    assert str(error) == user_message(error) == say(error)


def test_os_errors_word_their_fix_for_each_face():
    full = OSError(28, "No space left on device", "runs/x/last.keras")
    assert "(--runs-dir, --name)" in user_message(full)
    assert "(start the app in another folder, the name field)" in say(full)


def existing_cv(root, name="tiny"):
    """A CV manifest made with another recipe than the one about to be asked for."""
    (root / "runs" / "cv").mkdir(parents=True)
    (root / "runs" / "cv" / f"{name}.json").write_text(json.dumps(
        {"recipe": {"model": "mlp", "epochs": 9, "folds": 2, "refit": 0}, "runs": {}}))


def test_the_cli_says_the_flag(tiny_data, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    existing_cv(tmp_path)
    assert main(["cv", "--model", "linear", "--epochs", "1", "--folds", "2", "--name", "tiny",
                 "--data", str(tiny_data)]) == 2
    assert ("CV 'tiny' already exists with another recipe; give a new name (--name), or the "
            "same settings to continue it.") in capsys.readouterr().err


async def test_the_app_says_the_field(tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    existing_cv(tmp_path)
    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        for widget_id, value in {"model": "linear", "epochs": "1", "plan": "cv",
                                 "members": "2", "plan-name": "tiny"}.items():
            app.screen.query_one(f"#{widget_id}").value = value
        await pilot.pause()
        await pilot.press("g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = str(app.screen.query_one("#status", Static).render())
        assert "give a new name (the name field)" in status and "--name" not in status
