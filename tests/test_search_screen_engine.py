"""What the Search screen reads of a search folder (no Keras)."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import fields
from pathlib import Path

from workbench.engine.events import Trial
from workbench.engine.plans.search import (
    SearchSpace,
    read_search,
    search_folders,
    search_stamp,
    trial_folder,
    trial_history,
)
from workbench.engine.runs.run import write_history

FIXED_TIME = 1_767_268_800  # 2026-01-01 12:00:00 UTC: the fixture's files' change time


def trials_csv(trials: list[Trial]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f.name for f in fields(Trial)])
    writer.writerows([getattr(t, f.name) for f in fields(Trial)] for t in trials)
    return buffer.getvalue().encode()


def search_folder(folder: Path, trials: list[Trial], grid: tuple | None = None) -> Path:
    """A search folder written directly: search.json, trials.csv, each trial's history and,
    with ``grid``, the grid file naming the grid's axes (so pending cells show)."""
    folder.mkdir(parents=True)
    (folder / "search.json").write_text(json.dumps(
        {"model": "simple-cnn", "epochs": 3, "batch_size": 128, "val_split": 0.1, "seed": 0,
         "data": None}))
    (folder / "trials.csv").write_bytes(trials_csv(trials))
    for t in trials:
        write_history(trial_folder(folder, t.optimizer, t.learning_rate, t.schedule), [
            {"epoch": e, "loss": 1.5 / e, "accuracy": t.best_val_accuracy - 0.02 * (3 - e),
             "val_loss": 1.6 / e, "val_accuracy": t.best_val_accuracy - 0.03 * (3 - e),
             "learning_rate": t.learning_rate, "seconds": 4.0} for e in (1, 2, 3)])
    if grid is not None:
        (folder / "grid-000000000000.json").write_text(json.dumps(dict(zip(
            ("optimizers", "learning_rates", "schedules"), grid))))
    for path in folder.rglob("*"):
        os.utime(path, (FIXED_TIME, FIXED_TIME))
    return folder


def trial(optimizer: str, lr: float, schedule: str = "constant", accuracy: float = 0.9) -> Trial:
    return Trial("0", optimizer, lr, schedule, accuracy, accuracy, 1, 1, 1.0)


def test_the_grid_comes_from_grid_files_the_trials_and_the_grid_being_started(tmp_path):
    folder = search_folder(tmp_path / "s", [trial("sgd", 0.5, "plateau")],
                           (["adam", "nadam"], [0.01, 0.1], ["constant"]))
    state = read_search(folder, SearchSpace(("ftrl",), (1.0,), ("constant",)))
    assert state.space == SearchSpace(("adam", "nadam", "sgd", "ftrl"), (1.0, 0.5, 0.1, 0.01),
                                      ("constant", "plateau"))
    assert state.settings["model"] == "simple-cnn" and len(state.trials) == 1


def test_damaged_and_foreign_files_read_as_empty_not_as_errors(tmp_path):
    folder = search_folder(tmp_path / "s", [trial("adam", 0.1)])
    (folder / "trials.csv").write_bytes(trials_csv(
        [trial("adam", 0.1), trial("../../x", 0.1), trial("adam", float("nan"))]))
    (folder / "search.json").write_text('{"model": "simple')
    (folder / "grid-1.json").write_text('{"optimizers": ["sgd"')
    (folder / "grid-2.json").write_text('{"optimizers": "sgd", "schedules": [["plateau"]]}')
    state = read_search(folder)
    assert state.settings == {} and [t.optimizer for t in state.trials] == ["adam"]
    assert state.space == SearchSpace(("adam",), (0.1,), ("constant",))
    assert trial_history(folder, trial("../../x", 0.1)) == []


def test_the_stamp_changes_when_a_trial_is_written_and_lists_the_searches(tmp_path):
    folder = search_folder(tmp_path / "runs/search-linear", [])
    (tmp_path / "runs/20260101-120000-linear").mkdir()  # a training run, not a search
    before = search_stamp(folder)
    (folder / "trials-tuner0.csv").write_bytes(trials_csv([trial("adam", 0.1)]))
    assert search_stamp(folder) != before
    assert search_folders(tmp_path / "runs") == [folder]
