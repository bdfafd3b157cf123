"""An engine error carries its fix as data (the options that fix it), and each face words it:
a flag in the CLI, a field in the app."""

import json

import numpy as np
import pytest
from textual.widgets import Static

from workbench.cli import main
from workbench.engine.errors import Option, WorkbenchError, user_message
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
