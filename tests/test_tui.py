"""The Textual app driven by keys, as a user would (pilot tests)."""

import json
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import DataTable, Input, Select

from tests.pilots import Notes, full_submission, press, send_with, settle, text, until
from workbench.engine.results.review import confused_pairs
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.curves import Curves
from workbench.tui.widgets.digit_grid import DigitGrid

pytestmark = pytest.mark.usefixtures("warm_children")  # the app's child, forked warm


async def test_data_screen_shows_the_dataset_and_filters(kaggle):
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "30 train (labelled), 12 test" in text(app, "#dataset")
        grid = app.screen.query_one(DigitGrid)
        assert len(grid.rows) == 30
        await pilot.press("3")
        assert grid.rows.tolist() == [3, 13, 23]
        assert all(c.endswith(" 3") for c in grid.captions)
        await pilot.press("right", "right")
        assert grid.cursor == 2 and "#24 3" in text(app, "#preview-text")
        await pilot.press("s")
        assert len(grid.rows) == 12 and "showing: test" in text(app, "#dataset")
        await pilot.press("a", "pagedown")
        assert grid.cursor == min(29, grid.per_page)
        await pilot.press("x")
        assert grid.ascii


async def test_bad_data_is_a_notification_not_a_crash(tmp_path):
    app = WorkbenchApp(str(tmp_path / "missing.zip"))
    heard = Notes()
    async with app.run_test(message_hook=heard) as pilot:
        await settle(pilot)
        assert any("does not exist" in n for n in heard)
        await pilot.press("t")
        assert app.current_mode == "train"
        await pilot.press("q")
    assert app.return_code == 0


async def test_an_engine_error_in_training_is_a_notification(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    test_only = tmp_path / "test.csv"  # no labels: the engine refuses to train on it
    test_only.write_text(",".join(f"pixel{i}" for i in range(784)) + "\n"
                         + ",".join(["0"] * 784) + "\n")
    app = WorkbenchApp(str(test_only))
    heard = Notes()
    async with app.run_test(message_hook=heard, size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        app.screen.query_one("#model", Select).value = "linear"
        await pilot.press("g")
        await until(pilot, lambda: any("no labelled rows" in n for n in heard))
        assert "Training failed" in text(app, "#status")
        assert not app.screen.query_one("#start").disabled  # ready for another try
        await pilot.press("r")
        assert app.current_mode == "runs"
        await pilot.press("t")
        assert app.current_mode == "train"
    assert not (tmp_path / "runs").exists()  # refused before any run folder was made


async def test_quit_mid_training_leaves_the_run_interrupted(tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        app.screen.query_one("#model", Select).value = "mlp"
        app.screen.query_one("#epochs", Input).value = "500"
        await pilot.press("g")
        await until(pilot, lambda: "epoch 1/500" in text(app, "#epochs-log"))
        await pilot.press("d")          # the UI answers while the worker trains
        assert app.current_mode == "data"
        await pilot.press("t")
        assert app.current_mode == "train" and app.screen.training
        await pilot.press("q")
    run = next((tmp_path / "runs").iterdir())
    assert json.loads((run / "status.json").read_text())["status"] == "interrupted"
    assert (run / "last.keras").is_file()


@pytest.fixture
def one_run(tiny_data, tmp_path, monkeypatch) -> Path:
    """tmp_path as the working folder, holding a finished one-epoch linear run on tiny_data."""
    from workbench.engine.training.config import TrainConfig
    from workbench.engine.training.fit import train

    monkeypatch.chdir(tmp_path)
    return train(TrainConfig(model="linear", epochs=1, data=str(tiny_data))).run


async def test_runs_screen_lists_overlays_and_deletes(tiny_data, tmp_path, monkeypatch):
    from workbench.engine.training.config import TrainConfig
    from workbench.engine.training.fit import train

    monkeypatch.chdir(tmp_path)
    for seed in (0, 1):
        train(TrainConfig(model="linear", epochs=2, seed=seed, data=str(tiny_data)))
    app = WorkbenchApp(str(tiny_data))
    heard = Notes()
    async with app.run_test(message_hook=heard, size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        table = app.screen.query_one("#runs-table")
        assert table.row_count == 2
        await pilot.press("c", "down")
        await pilot.pause()
        assert len(app.screen.query_one("#run-accuracy", Curves).series) == 2
        await pilot.press("c", "e")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert len(list((tmp_path / "submissions").glob("ensemble-*.csv"))) == 1
        assert any("with the last epochs" in n for n in heard)
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert table.row_count == 2
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert table.row_count == 1
    # one run left; the ensemble of the two is recorded beside them, in runs/ensembles
    assert sorted(p.name for p in (tmp_path / "runs").iterdir())[1:] == ["ensembles"]


async def test_review_screen_matrix_mistakes_and_flags(one_run, tiny_data):
    from workbench.engine.data.suspects import read_suspects

    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(140, 40)) as pilot:
        await press(pilot, "v")
        screen = app.screen
        review = screen.review
        assert review is not None and int(review.confusion.sum()) == 30
        assert "validation accuracy" in text(app, "#review-summary")
        true, predicted, count = confused_pairs(review.confusion, 1)[0]
        assert f"most confused: {true}→{predicted} {count}×" in text(app, "#review-summary")
        grid = screen.query_one("#mistakes", DigitGrid)
        assert len(grid.rows) == len(review.mistakes) > 0
        first = review.mistakes[0]
        assert f"label {first.label}, predicted {first.predicted}" in text(app, "#mistake-detail")
        await pilot.press("f")
        await pilot.pause()
        assert read_suspects(one_run.parent / "suspects.csv") == {first.id}
        screen._show(review.cell(first.label, first.predicted), "one cell")
        assert all(m.label == first.label for m in screen.shown)


@pytest.fixture
def fake_kaggle(monkeypatch):
    from tests.fake_kaggle import served

    with served(monkeypatch) as server:
        yield server


async def test_submit_screen_checks_and_submits(kaggle, tmp_path, monkeypatch, fake_kaggle):
    monkeypatch.chdir(tmp_path)
    path = full_submission(tmp_path / "submissions/full.csv")
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(140, 40)) as pilot:
        await press(pilot, "k")
        assert "valid for Kaggle's digit-recognizer test set" in text(app, "#verdict")  # not 12
        await send_with(pilot, "from the app")
        await pilot.press("y")  # the confirmation names the file, the run and the message
        await settle(pilot)
        assert "COMPLETE, public score 0.99123" in text(app, "#kaggle-status") or \
            "submissions." in text(app, "#kaggle-status")
        assert app.screen.query_one("#history").row_count == 1
    assert list(fake_kaggle.uploads.values()) == [path.read_bytes()]


async def test_draw_screen_predicts_what_is_drawn(one_run, tiny_data):
    app = WorkbenchApp(str(tiny_data))
    async with app.run_test(size=(120, 36)) as pilot:
        await press(pilot, "w")
        canvas = app.screen.query_one("#canvas")
        for _ in range(6):
            await pilot.press("up", "space")
        assert canvas.image.max() == 255 and canvas.image[8:15, 13:16].min() > 0
        await settle(pilot)
        assert "prediction:" in text(app, "#probabilities")
        await pilot.click("#canvas", offset=(5, 3))
        assert canvas.image[6:8, 4:7].max() > 0
        await pilot.press("c")
        assert canvas.image.max() == 0


async def test_command_palette_lists_screens_and_actions(kaggle):
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"Screen: Data", "Screen: Train", "Screen: Runs", "Screen: Review",
                "Screen: Submit", "Screen: Draw"} <= set(titles)
        assert "Start (g)" in titles and "Stop (x)" in titles
        command = next(c for c in app.get_system_commands(app.screen)
                       if c.title == "Screen: Runs")
        command.callback()
        await pilot.pause()
        assert app.current_mode == "runs"


def synthetic_cv(root: Path, labels: np.ndarray, name: str = "kb20", folds: int = 2,
                 test_rows: int = 12) -> None:
    """A CV gathered by the engine from ``folds`` fold runs written directly (no training):
    every row predicted right with 80%, but rows 4 and 17 confidently wrong (the suspects) and
    row 26 wrong without conviction."""
    from workbench.engine.plans.cv import gather, manifest_path
    from workbench.engine.store.atomic import write_json

    runs_dir = root / "runs"
    wrong = {3: 0.95, 16: 0.9, 25: 0.5}  # row index: the probability of label + 1
    ids = {}
    for fold in range(folds):
        rows = np.arange(fold, len(labels), folds)
        probabilities = np.empty((len(rows), 10), np.float32)
        for i, row in enumerate(rows):
            guess, p = ((labels[row] + 1) % 10, wrong[row]) if row in wrong else (labels[row], 0.8)
            probabilities[i] = (1 - p) / 9
            probabilities[i, guess] = p
        run = runs_dir / f"20260102-10000{fold}-simple-cnn"
        run.mkdir(parents=True)
        write_json(run / "config.json", {"model": "simple-cnn", "epochs": 1, "folds": folds,
                                         "fold": fold})
        write_json(run / "status.json", {"status": "finished", "seconds": 60.0})
        np.savez(run / "val_predictions.npz", probabilities=probabilities, labels=labels[rows],
                 ids=rows + 1)
        np.savez(run / "test_predictions.npz", probabilities=np.full((test_rows, 10), 0.1),
                 image_ids=np.arange(1, test_rows + 1))
        ids[str(fold)] = run.name
    write_json(manifest_path(name, runs_dir), {"recipe": {"model": "simple-cnn", "folds": folds,
                                                          "refit": 0}, "runs": ids})
    gather(name, runs_dir=runs_dir, submissions_dir=root / "submissions")


def verdicts(app) -> dict[int, str]:
    table = app.screen.query_one("#suspects", DataTable)
    return {int(row.value): str(table.get_cell(row, "verdict")) for row in table.rows}


async def test_review_screen_reviews_a_cv_and_its_suspects(kaggle, tmp_path, monkeypatch):
    from workbench.engine.data.suspects import read_suspects
    from workbench.engine.plans.cv import read_proposed

    monkeypatch.chdir(tmp_path)
    synthetic_cv(tmp_path, kaggle.train_labels)
    assert [s.id for s in read_proposed("kb20")] == [4, 17]
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(140, 40)) as pilot:
        await press(pilot, "v")
        assert app.screen.query_one("#review-run", Select).value == "cv/kb20"
        assert "CV kb20 (OOF 90.00%, 30 rows)" in text(app, "#review-run SelectCurrent #label")
        review = app.screen.review
        assert int(review.confusion.sum()) == 30 and [m.id for m in review.mistakes] == [4, 17, 26]
        assert "out-of-fold accuracy 90.00% (95% CI" in text(app, "#review-summary")
        assert "label 3, predicted 4" in text(app, "#mistake-detail")
        await pilot.press("s")
        await pilot.pause()
        assert verdicts(app) == {4: "undecided", 17: "undecided"}
        assert "2 suspects proposed: 0 confirmed, 0 dismissed" in text(app, "#review-summary")
        await pilot.press("y")   # confirm #4; the cursor moves on to #17
        await pilot.pause()
        await pilot.press("n")   # dismiss #17
        await pilot.pause()
        assert verdicts(app) == {4: "confirmed", 17: "dismissed"}
        assert read_suspects(tmp_path / "runs" / "suspects.csv") == {4}
        assert (tmp_path / "runs/cv/kb20/dismissed.csv").read_text() == "id\n17\n"
        await pilot.press("r", "v")   # away and back: the same CV, still its suspects
        await settle(pilot)
        assert verdicts(app) == {4: "confirmed", 17: "dismissed"}
        await pilot.press("y")   # confirming the dismissed #17 takes the dismissal back
        await pilot.pause()
        assert verdicts(app) == {4: "confirmed", 17: "confirmed"}
        assert (tmp_path / "runs/cv/kb20/dismissed.csv").read_text() == "id\n"
        await pilot.press("up", "n")   # dismissing the confirmed #4 unconfirms it
        await pilot.pause()
        assert read_suspects(tmp_path / "runs" / "suspects.csv") == {17}
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.query_one("#mistakes", DigitGrid).captions[1].endswith(" !")
    app = WorkbenchApp(str(kaggle.zip()))   # and in a new session
    async with app.run_test(size=(140, 40)) as pilot:
        await press(pilot, "v")
        await pilot.press("s")
        await pilot.pause()
        assert verdicts(app) == {4: "dismissed", 17: "confirmed"}


async def test_runs_screen_lists_cvs(kaggle, tmp_path, monkeypatch):
    from workbench.engine.plans.cv import manifest_path
    from workbench.engine.store.atomic import write_json

    monkeypatch.chdir(tmp_path)
    synthetic_cv(tmp_path, kaggle.train_labels)
    write_json(manifest_path("waiting"), {"recipe": {"model": "mlp", "folds": 3, "refit": 1},
                                          "runs": {"0": "20260102-100000-simple-cnn"}})
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        table = app.screen.query_one("#cvs-table", DataTable)
        rows = {str(key.value): [str(cell) for cell in table.get_row(key)] for key in table.rows}
        assert rows == {"kb20": ["kb20", "2/2", "90.00% (74.38-96.54)", "2.0 min"],
                        "waiting": ["waiting", "1/3 + 0/1 refit", "-", "1.0 min"]}
        assert app.screen.query_one("#runs-table", DataTable).row_count == 2

