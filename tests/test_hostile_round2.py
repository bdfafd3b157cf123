"""Trust, round 2 (issue 32): the files the workbench keeps are read defensively. Deep JSON,
NUL-filled CSVs, FIFOs where files should be and fields of the wrong type end as "damaged" (or
are skipped), never as a traceback or a hang."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.engine.data.suspects import read_suspects, toggle_suspect
from workbench.engine.errors import WorkbenchError
from workbench.engine.events import EpochEnded, TrainStarted
from workbench.engine.kaggle import account, ledger
from workbench.engine.plans import search
from workbench.engine.runs import eventlog, listing
from workbench.engine.store import files

DEEP = "[" * 200_000  # deep enough for json's recursion limit


def finishes(work, seconds: float = 20) -> object:
    """``work()``'s result; fails if it is still waiting after ``seconds`` (a FIFO opened for
    reading blocks until a writer comes: the test then releases it)."""
    result: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as error:  # handed to the test below
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "it hangs on a FIFO"
    if errors:
        raise errors[0]
    return result[0]


@pytest.fixture
def fifo(tmp_path):
    made: list[Path] = []

    def make(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        made.append(path)
        return path

    yield make
    for path in made:  # a reader still blocked on one gets its end of file
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def test_a_deeply_nested_cv_manifest_is_damaged_and_runs_list_still_works(tmp_path, capsys):
    (tmp_path / "runs" / "cv").mkdir(parents=True)
    (tmp_path / "runs" / "cv" / "deep.json").write_text(DEEP)
    assert main(["runs", "list", "--runs-dir", str(tmp_path / "runs")]) == 0
    said = capsys.readouterr().out
    assert "deep" in said and "nested too deeply" in said


def test_deep_json_in_search_json_is_a_damaged_folder(tmp_path):
    (tmp_path / "search.json").write_text(DEEP)
    with pytest.raises(WorkbenchError, match="is damaged"):
        search.check_folder(tmp_path, {"model": "linear"})


def test_deep_or_fifo_kaggle_state_files_read_as_empty(fifo):
    ledger.sent_path().parent.mkdir(parents=True, exist_ok=True)
    ledger.sent_path().write_text(DEEP)
    assert finishes(ledger.sent) == []
    fifo(ledger.journal_path())
    assert finishes(ledger.journal) == {}


def test_a_deep_kaggle_json_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path))
    (tmp_path / "kaggle.json").write_text("[" * 50_000)  # deep, yet small enough to be read
    with pytest.raises(WorkbenchError, match="is not valid JSON"):
        account._check_kaggle_json(tmp_path / "kaggle.json")


def test_a_kaggle_token_that_is_a_fifo_is_refused_not_waited_on(tmp_path, fifo):
    token = fifo(tmp_path / "access_token")
    with pytest.raises(WorkbenchError, match="is not a file"):
        finishes(lambda: account._read_secret_file(token, str(token)))


def test_a_trials_file_full_of_nul_bytes_reads_as_no_trials(tmp_path):
    (tmp_path / "trials.csv").write_bytes(b"optimizer,learning_rate\n" + b"\0" * (1 << 20))
    assert search.read_trials(tmp_path) == []
    (tmp_path / "trials.csv").write_bytes(b'optimizer\n"' + b"x" * (1 << 18))
    assert search.read_trials(tmp_path) == []


def test_an_event_log_that_is_a_fifo_neither_hangs_the_trainer_nor_the_watcher(tmp_path,
                                                                             fifo):
    fifo(tmp_path / eventlog.EVENTS_FILE)
    log = finishes(lambda: eventlog.EventLog(tmp_path))
    finishes(lambda: log(TrainStarted("r", "linear", "cpu", 1, 0, 1, 1, 1)))
    assert finishes(eventlog.EventFollower(tmp_path).poll) == []


def test_events_with_fields_of_the_wrong_type_are_skipped(tmp_path):
    good = {"event": "EpochEnded", "epoch": 1, "epochs": 2, "loss": 0.5, "accuracy": 0.9,
            "val_loss": None, "val_accuracy": None, "learning_rate": 0.001, "seconds": 1.0,
            "samples_per_s": 10.0, "eta_s": 1.0, "best": True}
    bad = [{**good, "loss": "0.5"}, {**good, "epoch": True}, {**good, "best": 1},
           {**good, "epochs": 2.5}, {**good, "val_loss": [1]}]
    lines = [json.dumps(line) for line in [*bad, good]] + ["[" * 100_000]
    (tmp_path / eventlog.EVENTS_FILE).write_text("\n".join(lines) + "\n")
    events = eventlog.EventFollower(tmp_path).poll()
    assert events == [EpochEnded(1, 2, 0.5, 0.9, None, None, 0.001, 1.0, 10.0, 1.0, True)]


def test_a_suspect_list_that_is_a_fifo_is_neither_read_nor_replaced(tmp_path, fifo):
    path = fifo(tmp_path / "suspects.csv")
    assert finishes(lambda: read_suspects(path)) == set()
    with pytest.raises(WorkbenchError, match="not a regular file"):
        finishes(lambda: toggle_suspect(4, path))
    assert path.is_fifo()


def test_small_files_are_read_without_following_a_swap_to_a_fifo(tmp_path, fifo):
    path = fifo(tmp_path / "state.json")
    with pytest.raises(ValueError, match="not a regular file"):
        finishes(lambda: files.read_small(path))


# -- values of the wrong type or range (class 3) ------------------------------------------------


def test_a_cv_summary_with_a_number_for_its_folds_reads_as_none(tmp_path, capsys):
    from workbench.engine.plans import cv

    path = cv.manifest_path("odd", tmp_path / "runs")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"recipe": {"folds": 2, "refit": 0}, "runs": {}, "summary": {
        "name": "odd", "folds": 2, "rows": 10, "accuracy": 0.9, "interval": [0.8, 0.95],
        "class_errors": [0] * 10, "confusion": [], "fold_accuracies": 0.9, "seconds": 1.0,
        "suspects": 0, "submission": None}}))
    assert cv.read_summary("odd", tmp_path / "runs") is None
    assert main(["runs", "list", "--runs-dir", str(tmp_path / "runs")]) == 0


def test_probabilities_stored_as_text_are_damaged(tmp_path):
    import numpy as np

    from workbench.engine.results.prediction import load_npz

    np.savez(tmp_path / "test.npz", probabilities=np.array([["0.1"] * 10]),
             image_ids=np.array([1]))
    with pytest.raises(ValueError, match="'probabilities' array holds <U3, not numbers"):
        load_npz(tmp_path / "test.npz", "probabilities", "image_ids")


def test_a_thirty_digit_suspect_id_is_no_train_id(tmp_path):
    path = tmp_path / "suspects.csv"
    path.write_text("id\n7\n" + "9" * 30 + "\n")
    assert read_suspects(path) == {7}
    with pytest.raises(WorkbenchError, match="is not a train id"):
        read_suspects(path, strict=True)


def test_suspects_that_exclude_every_row_are_refused_before_a_run(tiny_data, tmp_path,
                                                                 monkeypatch):
    from workbench.engine.training import fit as training
    from workbench.engine.training.config import TrainConfig

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "suspects.csv").write_text("id\n" + "".join(f"{i}\n"
                                                                     for i in range(1, 301)))
    config = TrainConfig(model="linear", epochs=1, data=str(tiny_data), exclude_suspects=True)
    with pytest.raises(WorkbenchError, match="exclude every training row"):
        training.train(config, runs_dir=tmp_path / "runs")
    assert listing.run_folders(tmp_path / "runs") == []


# -- nothing made before the plan is checked (class 4), parts that agree (class 5) -------------


def test_more_folds_than_the_rarest_digit_has_rows_leave_no_manifest(tiny_data, tmp_path):
    from workbench.engine.plans import cv
    from workbench.engine.training.config import TrainConfig

    config = TrainConfig(model="linear", epochs=1, data=str(tiny_data))
    with pytest.raises(WorkbenchError, match="folds need at least"):
        cv.train_cv(config, 60, name="many", runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_pseudo_labels_made_for_other_data_leave_no_manifest(tiny_data, tmp_path):
    import numpy as np

    from workbench.engine.plans import cv
    from workbench.engine.training.config import TrainConfig

    other = tmp_path / "other-test.npz"
    np.savez(other, probabilities=np.eye(10, dtype=np.float32)[[1] * 5],
             image_ids=np.arange(1, 6))
    config = TrainConfig(model="linear", epochs=1, data=str(tiny_data),
                         pseudo_labels=str(other))
    with pytest.raises(WorkbenchError):
        cv.train_cv(config, 3, name="pseudo", runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_a_cv_combined_with_itself_is_refused(tmp_path):
    from workbench.engine.plans import cv

    with pytest.raises(WorkbenchError, match="given more than once"):
        cv.combine(["a", "a"], "mix", runs_dir=tmp_path / "runs")


# -- deleting, and messages that help (class 8) ------------------------------------------------


def run_folder(root: Path, name: str = "20260101-120000-linear") -> Path:
    run = root / "runs" / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "linear", "epochs": 1}))
    (run / "history.csv").write_text("epoch\n")
    return run


def test_a_run_whose_lock_is_a_folder_can_still_be_deleted(tmp_path, capsys):
    run = run_folder(tmp_path)
    (run / ".lock").mkdir()
    assert main(["runs", "delete", run.name, "--runs-dir", str(tmp_path / "runs")]) == 0
    assert not run.exists() and not list((tmp_path / "runs").iterdir())


def test_a_delete_that_cannot_rename_loses_nothing(tmp_path, monkeypatch, capsys):
    run = run_folder(tmp_path)

    def refuse(*_):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "rename", refuse)
    assert main(["runs", "delete", run.name, "--runs-dir", str(tmp_path / "runs")]) == 2
    said = capsys.readouterr().err
    assert "cannot be deleted (Permission denied" in said and "nothing was deleted" in said
    assert {path.name for path in run.iterdir()} >= {"config.json", "history.csv"}


def test_a_run_id_too_long_for_a_file_name_asks_for_name(tmp_path, capsys):
    run = run_folder(tmp_path, "20260101-120000-" + "x" * 220)
    assert main(["predict", run.name, "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "--name NAME" in capsys.readouterr().err


def test_an_in_place_edit_that_keeps_size_and_mtime_is_not_served_from_the_cache(tmp_path):
    from tests.helpers import tiny_competition_folder
    from workbench.engine.data.competition import load_competition

    folder = tiny_competition_folder(tmp_path / "d", n_train=20, n_test=5)
    train = folder / "train.csv"
    before = load_competition(folder)
    info = train.stat()
    text = train.read_text().splitlines()
    first_label = text[1][0]
    text[1] = ("3" if first_label != "3" else "4") + text[1][1:]  # the same size
    train.write_text("\n".join(text) + "\n")
    os.utime(train, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert train.stat().st_size == info.st_size and train.stat().st_mtime_ns == info.st_mtime_ns
    after = load_competition(folder)
    assert after.train_labels[0] != before.train_labels[0]
