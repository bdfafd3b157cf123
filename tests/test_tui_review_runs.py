"""The Review and Runs screens on real-sized results (a validation split of 4,200 rows, a CV's
OOF over 42,000), driven by keys as a user would: the whole confusion matrix, legible, and
every choice kept across visits; the runs with their data, the CVs and ensembles with their
held-out accuracy, a damaged run with why, the delete question whole."""

from __future__ import annotations

import html
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from rich.style import Style
from textual.widgets import DataTable, Select, Static

from tests.pilots import Notes, press, settle, text
from workbench.engine.data.competition import Competition
from workbench.engine.runs.run import Run, write_history
from workbench.engine.store.atomic import write_json
from workbench.tui import app as app_module
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens import runs as runs_screen
from workbench.tui.widgets.digit_grid import DigitGrid

KAGGLE_ROWS = 42_000
FULL = "20260310-101500-simple-cnn"  # 42,000 rows: 4,200 held out
SMALL = "20260309-111500-simple-cnn"  # a 500-row CSV given as --data
CONFUSED = {0: 6, 1: 7, 2: 7, 3: 5, 4: 9, 5: 3, 6: 0, 7: 2, 8: 3, 9: 4}  # the usual mix-ups


# --- fixtures: real-sized results, made with NumPy in well under a second ---


def predictions(labels: np.ndarray, rng: np.random.Generator, wrong: float = 0.01) -> np.ndarray:
    """Probabilities that are right but for ``wrong`` of the rows, mostly the usual mix-ups."""
    n = len(labels)
    predicted = labels.astype(int).copy()
    miss = np.flatnonzero(rng.random(n) < wrong)
    usual = np.array([CONFUSED[int(label)] for label in labels[miss]], dtype=int)
    other = (labels[miss].astype(int) + rng.integers(1, 10, len(miss))) % 10
    predicted[miss] = np.where(rng.random(len(miss)) < 0.7, usual, other)
    probabilities = rng.dirichlet(np.full(10, 0.2), n).astype(np.float32) * 0.2
    probabilities[np.arange(n), predicted] += 0.8
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def real_run(runs_dir: Path, run_id: str, rows: int = KAGGLE_ROWS, data: str | None = None,
             seed: int = 0, held_out: np.ndarray | None = None) -> Path:
    """A finished run trained on ``rows`` labelled rows holding out 10% (or ``held_out``)."""
    rng = np.random.default_rng(seed)
    labels = np.random.default_rng(99).integers(0, 10, rows).astype(np.uint8)
    val = held_out if held_out is not None else np.sort(rng.choice(rows, rows // 10,
                                                                   replace=False))
    run = runs_dir / run_id
    run.mkdir(parents=True)
    write_json(run / "config.json", {"model": "simple-cnn", "epochs": 3, "data": data,
                                     "val_split": 0.1})
    write_json(run / "status.json", {"status": "finished", "seconds": 420.0})
    write_json(run / "state.json", {"epoch": 3, "best_val_accuracy": 0.99})
    write_history(run, [{"epoch": e, "loss": 1 / e, "accuracy": 0.9 + 0.03 * e,
                         "val_loss": 1.2 / e, "val_accuracy": 0.9 + 0.03 * e,
                         "learning_rate": 0.001, "seconds": 2.0} for e in (1, 2, 3)])
    np.savez(run / "val_predictions.npz", probabilities=predictions(labels[val], rng),
             labels=labels[val], ids=val + 1, last_probabilities=predictions(labels[val], rng))
    np.savez(run / "test_predictions.npz", probabilities=np.full((10, 10), 0.1, np.float32),
             image_ids=np.arange(1, 11))
    return run


def real_cv(runs_dir: Path, name: str = "full5", folds: int = 5) -> None:
    """A CV over 42,000 rows, gathered by the engine from fold runs written directly."""
    from workbench.engine.plans.cv import gather, manifest_path

    rng = np.random.default_rng(3)
    labels = np.random.default_rng(99).integers(0, 10, KAGGLE_ROWS).astype(np.uint8)
    order = rng.permutation(KAGGLE_ROWS)
    members = {}
    for fold in range(folds):
        rows = np.sort(order[fold::folds])
        run = runs_dir / f"20260303-10000{fold}-simple-cnn"
        run.mkdir(parents=True)
        write_json(run / "config.json", {"model": "simple-cnn", "epochs": 1, "folds": folds,
                                         "fold": fold})
        write_json(run / "status.json", {"status": "finished", "seconds": 600.0})
        np.savez(run / "val_predictions.npz", probabilities=predictions(labels[rows], rng),
                 labels=labels[rows], ids=rows + 1)
        np.savez(run / "test_predictions.npz", probabilities=np.full((10, 10), 0.1, np.float32),
                 image_ids=np.arange(1, 11))
        members[str(fold)] = run.name
    write_json(manifest_path(name, runs_dir), {"recipe": {"model": "simple-cnn", "folds": folds,
                                                          "refit": 0}, "runs": members})
    gather(name, runs_dir=runs_dir, submissions_dir=runs_dir.parent / "submissions")


@pytest.fixture
def kaggle_sized(tmp_path, monkeypatch):
    """The app's data: 42,000 blank labelled digits (the mistakes' ids index them), loaded at
    once; the working folder is tmp_path."""
    monkeypatch.chdir(tmp_path)
    competition = Competition("digit-recognizer.zip", np.zeros((KAGGLE_ROWS, 28, 28), np.uint8),
                              np.zeros(KAGGLE_ROWS, np.uint8), np.zeros((10, 28, 28), np.uint8),
                              np.arange(1, 11, dtype=np.int32))
    monkeypatch.setattr(app_module, "load_competition", lambda path=None: competition)
    return tmp_path / "runs"


@pytest.fixture
def review_runs(kaggle_sized):
    """A CV (shown first), the run on the full data and a run on a 500-row CSV."""
    real_cv(kaggle_sized)
    real_run(kaggle_sized, FULL, data="/data/digit-recognizer.zip")
    real_run(kaggle_sized, SMALL, rows=500, data="/tmp/sample500.csv", seed=1)
    return kaggle_sized


def screen_lines(app) -> list[str]:
    """The screen as text, one string per line (from the SVG screenshot, as a user sees it)."""
    lines: dict[int, dict[int, str]] = {}
    for match in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
                             r'clip-path="url\(#[^)]*-line-(\d+)\)">([^<]*)</text>',
                             app.export_screenshot()):
        x, line, content = float(match[1]), int(match[2]), match[3]
        lines.setdefault(line, {})[round(x / 12.2)] = html.unescape(content).replace("\xa0", " ")
    rows = []
    for line in range(max(lines) + 1):
        text = ""
        for column, content in sorted(lines.get(line, {}).items()):
            text = text.ljust(column) + content
        rows.append(text)
    return rows


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance."""
    def linear(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def cell_colour(table: DataTable, row: int, column: int, which: str = "color"
                ) -> tuple[int, int, int]:
    text = table.get_cell_at((row, column))
    return getattr(Style.parse(str(text.style)), which).get_truecolor()



# --- Review ---


@pytest.mark.parametrize("size", [(100, 30), (160, 50), (220, 60)])
@pytest.mark.parametrize("chosen", ["cv", "run"])
async def test_the_whole_matrix_shows_with_real_sized_counts(review_runs, size, chosen):
    app = WorkbenchApp()
    async with app.run_test(size=size) as pilot:
        await press(pilot, "v")
        if chosen == "run":  # the second choice: the run on the full data, 4,200 held out
            await press(pilot, "enter", "down", "enter")
        table = app.screen.query_one("#confusion", DataTable)
        confusion = app.screen.review.confusion
        assert int(confusion.sum()) == (42_000 if chosen == "cv" else 4_200)
        assert confusion.diagonal().min() >= (3_500 if chosen == "cv" else 350)
        assert table.max_scroll_x == 0  # nothing to scroll to: every column is in view
        grid = app.screen.query_one("#mistakes", DigitGrid)
        assert table.region.right <= grid.region.x and table.region.right <= size[0]
        lines = screen_lines(app)
        header = next(line for line in lines if re.search(r"\b0 +1 +2 +3 +4 +5 +6 +7 +8 +9\b",
                                                          line))
        assert header
        for true in range(10):  # each row: its label, then all ten counts in order
            cells = [str(c) if c else "·" for c in confusion[true]]
            pattern = rf"^ *{true} +" + " +".join(re.escape(c) for c in cells) + r"(?!\S)"
            assert any(re.match(pattern, line) for line in lines), (true, cells)


async def test_off_diagonal_counts_are_legible_and_show_their_size(review_runs):
    app = WorkbenchApp()
    async with app.run_test(size=(160, 50)) as pilot:
        await press(pilot, "v")
        table = app.screen.query_one("#confusion", DataTable)
        confusion = app.screen.review.confusion
        background = table.background_colors[1].rgb
        wrong = [(int(confusion[t, p]), t, p) for t in range(10) for p in range(10)
                 if t != p and confusion[t, p]]
        for _, true, predicted in wrong:  # every count reads: WCAG AA for text, 4.5:1
            assert contrast(cell_colour(table, true, predicted + 1),
                            cell_colour(table, true, predicted + 1, "bgcolor")) >= 4.5
        for true in range(10):
            assert contrast(cell_colour(table, true, true + 1), background) >= 4.5
        heat = [cell_colour(table, t, p + 1, "bgcolor") for _, t, p in sorted(wrong)]
        assert heat[0] != heat[-1]
        assert [sum(colour) for colour in heat] == sorted(sum(colour) for colour in heat)


async def test_review_keeps_the_choice_the_cell_and_the_mistake_across_visits(review_runs):
    app = WorkbenchApp()
    async with app.run_test(size=(160, 50)) as pilot:
        await press(pilot, "v")
        await pilot.press("enter", "down", "enter")  # the full-data run, not the CV
        await settle(pilot)
        await pilot.press("tab", *["down"] * 4, *["right"] * 10, "enter")  # true 4, predicted 9
        await settle(pilot)
        await pilot.press("tab", "right")  # the second mistake of that cell
        await settle(pilot)
        screen = app.screen
        assert "showing" in text(app, "#review-summary")
        assert "true 4, predicted 9" in text(app, "#review-summary")
        grid = screen.query_one("#mistakes", DigitGrid)
        assert grid.cursor == 1
        detail = text(app, "#mistake-detail")
        real_run(review_runs, "20260311-090000-simple-cnn", seed=4)  # newer: listed first
        await pilot.press("r")
        await press(pilot, "v")
        assert screen.query_one("#review-run", Select).value == FULL
        assert screen.query_one("#confusion", DataTable).cursor_coordinate == (4, 10)
        assert "true 4, predicted 9" in text(app, "#review-summary")
        assert grid.cursor == 1 and text(app, "#mistake-detail") == detail


# --- Runs ---


def runs_rows(app, table: str = "#runs-table") -> dict[str, list[str]]:
    widget = app.screen.query_one(table, DataTable)
    return {str(key.value): [str(cell) for cell in widget.get_row(key)] for key in widget.rows}


def cursor_key(app, table: str = "#runs-table") -> str:
    widget = app.screen.query_one(table, DataTable)
    return str(widget.coordinate_to_cell_key(widget.cursor_coordinate).row_key.value)


async def test_the_runs_cursor_stays_on_its_run(review_runs):
    app = WorkbenchApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await press(pilot, "r")
        await pilot.press("down", "down")
        chosen = cursor_key(app)
        real_run(review_runs, "20260311-090000-simple-cnn", seed=4)  # a new run, listed first
        await pilot.press("v")
        await press(pilot, "r")
        assert cursor_key(app) == chosen
        await press(pilot, "f5")
        assert cursor_key(app) == chosen


async def test_the_runs_list_shows_whole_ids_and_the_data_each_run_trained_on(review_runs):
    real_run(review_runs, "20260302-120000-simple-cnn", rows=5_000, seed=2)  # no --data
    app = WorkbenchApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await press(pilot, "r")
        rows = runs_rows(app)
        assert rows[FULL][:2] == [FULL, "full"]
        assert rows[SMALL][:2] == [SMALL, "/tmp/sample500.csv"]
        assert rows["20260302-120000-simple-cnn"][1] == "sample"
        table = app.screen.query_one("#runs-table", DataTable)
        assert table.max_scroll_x == 0
        screen = "\n".join(screen_lines(app))
        for run in (FULL, SMALL, "20260303-100004-simple-cnn"):
            assert run in screen


def test_trained_on_tells_the_full_data_from_the_sample_and_a_path(tmp_path):
    from workbench.engine.runs.listing import held_out_ids, trained_on

    full = real_run(tmp_path, FULL, data="/anywhere/digit-recognizer.zip")
    default_full = real_run(tmp_path, "20260301-101501-simple-cnn", data=None, seed=5)
    sample = real_run(tmp_path, "20260301-101502-simple-cnn", rows=5_000, seed=6)
    small = real_run(tmp_path, SMALL, rows=500, data="/tmp/sample500.csv", seed=1)
    long = "/a/very/long/folder/name/of/the/data/small.csv"
    assert [trained_on(Run(run).config["data"], held_out_ids(Run(run)))
            for run in (full, default_full, sample, small)] == [
        "full", "full", "sample", "/tmp/sample500.csv"]
    assert trained_on(long, held_out_ids(Run(small))) == "..." + long[-21:]


async def test_an_ensemble_s_result_stays_on_the_screen_and_in_the_list(review_runs,
                                                                     monkeypatch):
    from workbench.engine.plans.ensemble import average, manifest_path

    held_out = np.sort(np.random.default_rng(8).choice(KAGGLE_ROWS, 4_200, replace=False))
    for seed in (11, 12, 13):
        real_run(review_runs, f"20260312-10000{seed - 10}-simple-cnn", seed=seed,
                 data="/data/digit-recognizer.zip", held_out=held_out)
    write_json(manifest_path("cnn-x2-seed11", review_runs), {  # trained by the CLI
        "recipe": {"model": "simple-cnn"}, "members": ["20260312-100001-simple-cnn",
                                                       "20260312-100002-simple-cnn"]})
    held, made = threading.Event(), []

    def average_held(run_paths, **options):
        """The first ensemble waits until the test has pressed e a second time."""
        assert held.wait(60)
        made.append(run_paths)
        return average(run_paths, **options)

    monkeypatch.setattr(runs_screen, "average", average_held)
    app = WorkbenchApp()
    async with app.run_test(size=(160, 50)) as pilot:
        await press(pilot, "r")
        groups = runs_rows(app, "#cvs-table")
        assert groups["ensemble/cnn-x2-seed11"][:2] == ["cnn-x2-seed11", "2/2 members"]
        assert re.fullmatch(r"9\d\.\d\d% \(9\d\.\d\d-9\d\.\d\d\)",
                            groups["ensemble/cnn-x2-seed11"][2])
        assert re.fullmatch(r"9\d\.\d\d% \(9\d\.\d\d-9\d\.\d\d\)", groups["full5"][2])  # the CV
        await pilot.press("c", "down", "c", "e", "e")  # the two newest runs, averaged once
        held.set()
        await settle(pilot)
        assert len(made) == 1
        note = text(app, "#runs-note")
        assert re.search(r"ensemble ensemble-\d{8}-\d{6} of 2 runs: 9\d\.\d\d% on the 4,200 rows"
                         r" every run held out", note)
        assert "submissions/ensemble-" in note and "Submit screen (k)" in note
        name = re.search(r"ensemble (ensemble-\d{8}-\d{6})", note)[1]
        await press(pilot, "v", "r")
        assert name in text(app, "#runs-note")  # still there after a visit elsewhere
    app = WorkbenchApp()
    async with app.run_test(size=(160, 50)) as pilot:  # and listed in a new session
        await press(pilot, "r")
        row = runs_rows(app, "#cvs-table")[f"ensemble/{name}"]
        assert row[1] == "2/2 members" and re.match(r"9\d\.\d\d% ", row[2])


async def test_the_delete_question_shows_whole_at_100x30(review_runs):
    app = WorkbenchApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await press(pilot, "r")
        run = cursor_key(app)
        await press(pilot, "delete")
        dialog = app.screen.query_one("#confirm").region
        shown = " ".join(line[dialog.x:dialog.right].strip("▊▎▌▐█ ")
                         for line in screen_lines(app)[dialog.y:dialog.bottom])
        assert f"Delete run {run} and all its files?" in " ".join(shown.split())
        await pilot.press("n")


async def test_a_damaged_run_says_what_is_wrong_and_how_to_delete_it(review_runs):
    from workbench.engine.plans.ensemble import manifest_path

    damaged = review_runs / "20260313-080000-simple-cnn"
    damaged.mkdir()
    (damaged / "config.json").write_text('{"model": "simple-cnn", "epo')
    (review_runs / "ensembles").mkdir()
    manifest_path("cut", review_runs).write_text('{"recipe": {}, "memb')
    app = WorkbenchApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await press(pilot, "r")
        assert cursor_key(app) == damaged.name and runs_rows(app)[damaged.name][5] == "damaged"
        note = text(app, "#runs-note")
        assert "config.json is not valid JSON (cut short?)" in note
        assert "delete it with Delete on the Runs screen" in note  # the app's words, not the CLI's
        assert "workbench-engine" not in note
        await pilot.press("down")
        assert "damaged" not in text(app, "#runs-note")
        await pilot.press("tab", "down")  # the CVs and ensembles: the damaged ensemble
        assert runs_rows(app, "#cvs-table")["ensemble/cut"][1] == "damaged"
        assert "manifest" in text(app, "#runs-note") and "cut.json is damaged" in text(
            app, "#runs-note")
        await pilot.press("shift+tab", "up")
        await pilot.press("up", "delete")
        await press(pilot, "y")
        assert not damaged.exists() and damaged.name not in runs_rows(app)


# --- snapshots ---


@pytest.mark.parametrize("size", [(100, 30), (160, 50), (220, 60)])
def test_review_snapshot_of_a_cv_over_42000_rows(snap_compare, review_runs, size):
    async def show(pilot):
        await press(pilot, "v")
        await pilot.press("tab", *["down"] * 8, *["right"] * 4, "enter")  # true 8, predicted 3
        await settle(pilot)

    assert snap_compare(WorkbenchApp(), run_before=show, terminal_size=size)


@pytest.mark.parametrize("size", [(100, 30), (160, 50)])
def test_review_snapshot_of_a_run_s_4200_held_out_rows(snap_compare, review_runs, size):
    async def show(pilot):
        await press(pilot, "v")
        await press(pilot, "enter", "down", "enter")

    assert snap_compare(WorkbenchApp(), run_before=show, terminal_size=size)


@pytest.fixture
def runs_to_list(review_runs):
    """Runs on each kind of data, a damaged one, the CV, and an ensemble."""
    from workbench.engine.plans.ensemble import manifest_path

    damaged = review_runs / "20260313-080000-simple-cnn"
    damaged.mkdir()
    (damaged / "config.json").write_text('{"model": "simple-cnn", "epo')
    held_out = np.load(review_runs / FULL / "val_predictions.npz")["ids"] - 1
    sibling = real_run(review_runs, "20260308-090000-simple-cnn", seed=7,
                       data="/data/digit-recognizer.zip", held_out=held_out)
    write_json(manifest_path("cnn-x2-seed0", review_runs), {
        "recipe": {"model": "simple-cnn"}, "members": [FULL, sibling.name]})
    return review_runs


@pytest.mark.parametrize("size", [(100, 30), (160, 50)])
@pytest.mark.parametrize("keys", [(), ("down", "down"), ("delete",)],
                         ids=["damaged", "csv-data", "delete"])
def test_runs_snapshot(snap_compare, runs_to_list, size, keys):
    async def show(pilot):
        await press(pilot, "r")
        await press(pilot, *keys)

    assert snap_compare(WorkbenchApp(), run_before=show, terminal_size=size)


# --- issue 31 (13): every screen whole at 100x30 and 160x50 ---


@pytest.mark.parametrize("size", [(100, 30), (160, 50)])
async def test_every_screen_s_key_bar_keeps_quit_and_the_keys_help(review_runs, size):
    app = WorkbenchApp()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for key in "dtrvkwo":
            await press(pilot, key)
            bar = app.screen.query_one("KeyBar")
            shown = {key.description for _, _, key in bar._spans}
            line = str(bar.render())
            assert "Quit" in line and "Keys" in line, (key, line)
            assert shown  # and each key shown can be clicked
            if key == "o":  # the screen's own keys keep a word where the room allows
                assert " g Start" in line and " x Stop" in line, line


async def test_review_at_100x30_shows_two_columns_of_mistakes_and_their_whole_position_line(
        review_runs):
    from workbench.tui.widgets.digit_grid import DigitGrid

    app = WorkbenchApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await press(pilot, "v")
        app.screen.query_one("#review-run", Select).value = FULL
        await settle(pilot)
        grid = app.screen.query_one("#mistakes", DigitGrid)
        assert grid.columns >= 2
        last_line = str(grid.render()).splitlines()[-1]
        assert re.fullmatch(r"1 of \d+  ·  page 1/\d+", last_line)
        assert grid.content_region.width >= len(last_line)
        assert "top 3:" in str(app.screen.query_one("#mistake-line", Static).render())


@pytest.mark.parametrize("size", [(100, 30), (160, 50)])
async def test_search_s_buttons_and_both_trial_charts_are_on_screen(review_runs, size):
    app = WorkbenchApp()
    async with app.run_test(size=size) as pilot:
        await press(pilot, "o")
        screen = app.screen.region
        for selector in ("#search-start", "#search-stop", "#trial-accuracy", "#trial-loss"):
            widget = app.screen.query_one(selector)
            assert widget.display and widget.region.width > 0, selector
            assert screen.contains_region(widget.region), selector


async def test_data_at_160x50_leaves_few_lines_empty(review_runs):
    from workbench.tui.widgets.digit_grid import DigitGrid, tile_size

    app = WorkbenchApp()
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        grid = app.screen.query_one(DigitGrid)
        rows = grid.per_page // grid.columns
        assert grid.size.height - 1 - rows * tile_size(grid.side)[1] <= 4


async def test_the_runs_screen_exports_the_overlaid_runs_as_png_and_csv(review_runs):
    app = WorkbenchApp()
    heard = Notes()
    async with app.run_test(size=(160, 50), message_hook=heard) as pilot:
        await press(pilot, "r")
        app.screen.query_one("#runs-table", DataTable).focus()
        await press(pilot, "p")
    folders = list((review_runs.parent / "exports").iterdir())
    assert len(folders) == 1
    names = {path.name for path in folders[0].iterdir()}
    assert {"curves.png", "curves.csv"} <= names and any(n.startswith("confusion-") for n in names)
    assert any("Exported" in note and str(folders[0]) in note for note in heard)


async def test_review_of_a_run_trained_on_more_rows_than_the_app_s_data_says_so(
        review_runs, monkeypatch):
    small = Competition("sample", np.zeros((500, 28, 28), np.uint8), np.zeros(500, np.uint8),
                        np.zeros((10, 28, 28), np.uint8), np.arange(1, 11, dtype=np.int32))
    monkeypatch.setattr(app_module, "load_competition", lambda path=None: small)
    app = WorkbenchApp()
    heard = Notes()
    async with app.run_test(size=(160, 50), message_hook=heard) as pilot:
        await press(pilot, "v")
        app.screen.query_one("#review-run", Select).value = FULL
        await settle(pilot)
        assert app.screen.choice != FULL  # not shown: its rows are not in this data
    assert any("was trained on other data" in note and "--data" in note for note in heard)
