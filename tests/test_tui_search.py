"""The Search screen (o): a grid started from the form fills the heatmap, a cell opens its trial,
and trials that other processes write appear while the screen is open."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from textual.widgets import Input, Select

from tests.helpers import child_pids
from tests.pilots import Notes, settle, text, until
from tests.test_search_screen_engine import search_folder, trials_csv
from workbench.engine.events import Trial
from workbench.engine.plans.search import (
    DEFAULT_LEARNING_RATES,
    DEFAULT_OPTIMIZERS,
    DEFAULT_SCHEDULES,
)
from workbench.engine.recipes import OPTIMIZERS
from workbench.engine.training.child import run_in_child
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens import search as search_screen
from workbench.tui.widgets.curves import Curves
from workbench.tui.widgets.heatmap import Heatmap

pytestmark = pytest.mark.usefixtures("warm_children")  # the app's child, forked warm



def write_as_another_process(path: Path, content: bytes) -> None:
    """What the engine does (a temp file, then a rename), done outside the app."""
    tmp = path.with_name(f".{path.name}.other.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def seed_grid_trials() -> list[Trial]:
    """The seed's 128-trial grid with one trial in nine still to run, and plausible results:
    each optimizer best near its own default rate, four diverging at rate 1."""
    trials = []
    for number, (optimizer, lr, schedule) in enumerate(
            (o, lr, s) for o in DEFAULT_OPTIMIZERS for lr in DEFAULT_LEARNING_RATES
            for s in DEFAULT_SCHEDULES):
        if number % 9 == 8:
            continue
        distance = abs(len(f"{lr:g}") - len(f"{OPTIMIZERS[optimizer][1]:g}"))
        accuracy = 0.9912 - 0.0121 * distance - 0.0017 * DEFAULT_SCHEDULES.index(schedule)
        if lr == 1.0 and optimizer in ("sgd", "ftrl", "adam", "nadam"):
            accuracy = 0.1135
        trials.append(Trial(str(number), optimizer, lr, schedule, round(accuracy, 4),
                            round(accuracy - 0.002, 4), 1 + number % 3, 3, 41.5 + number % 7))
    return trials


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def test_a_grid_from_the_form_stops_resumes_fills_the_heatmap_and_opens_a_trial(
        tiny_data, tmp_path, monkeypatch):
    """The one real grid: 2 optimizers x 2 rates x 1 schedule, 1 epoch of the linear model, in
    a child process as the app runs it."""
    monkeypatch.chdir(tmp_path)
    grids, go_on = [], threading.Event()

    def first_held(job, folder, space, *, stop, **settings):
        """The first grid's child starts only once the test has seen it pending and pressed x:
        the stop then comes before any trial ends, whatever the machine's load (and a stop set
        before the child starts must end it, not fail). The second grid runs to its end."""
        if not grids:
            assert go_on.wait(120)
        grids.append((job, folder))
        return run_in_child(job, folder, space, stop=stop, **settings)

    monkeypatch.setattr(search_screen, "run_in_child", first_held)
    app = WorkbenchApp(str(tiny_data))
    heard = Notes()
    async with app.run_test(size=(160, 50), message_hook=heard) as pilot:
        await pilot.press("o")
        screen = app.screen
        assert "No search under runs/ yet" in text(app, "#search-status")
        screen.query_one("#search-model", Select).value = "linear"
        screen.query_one("#search-optimizers", Input).value = "adam sgd"
        screen.query_one("#search-rates", Input).value = "0.1, 0.01"
        screen.query_one("#search-schedules", Input).value = "constant"
        screen.query_one("#search-epochs", Input).value = "1"
        await pilot.press("g")
        heatmap = screen.query_one(Heatmap)  # the grid at once, every cell pending
        await until(pilot, lambda: heatmap.row_count == 2 or heard, 60)
        assert not heard, heard  # no "Cannot start", no failure
        assert heatmap.row_count == 2 and len(heatmap.columns) == 2 and not heatmap.cells
        await pilot.press("x")  # stopped before its first trial is over
        go_on.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Stopped; Start (g) with the same form resumes runs/search-linear" in text(
            app, "#search-status")
        assert not heatmap.cells

        await pilot.press("g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "4 of 4 trials" in text(app, "#search-status")
        assert len(heatmap.cells) == 4
        assert str(screen.query_one("#search-folder", Select).value) == "runs/search-linear"
        assert not child_pids(b"workbench.engine.training.child")  # the grid's child is gone

        await pilot.press("down", "right", "enter")  # sgd, lr 0.01
        figures = text(app, "#trial-figures")
        assert "sgd · lr 0.01 · constant" in figures and "converged at  epoch 1 of 1" in figures
        assert screen.query_one("#trial-accuracy", Curves).series["validation"][0] == [1]
    assert (tmp_path / "runs/search-linear/trials/sgd-lr0.01-constant/history.csv").is_file()


async def test_trials_written_by_other_processes_appear_while_the_screen_is_open(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    space = (("adam", "sgd"), (0.1, 0.01), ("constant", "plateau"))
    first = [Trial("0", "adam", 0.1, "constant", 0.95, 0.95, 2, 3, 10.0)]
    folder = search_folder(tmp_path / "runs/search-simple-cnn", first, space)
    app = WorkbenchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        heatmap = app.screen.query_one(Heatmap)
        assert heatmap.row_count == 4 and len(heatmap.cells) == 1
        assert app.screen.query_one("#search-dir", Input).value == "runs/search-simple-cnn"
        await pilot.press("down", "down", "enter")  # sgd constant, lr 0.1: still pending
        assert "sgd constant, lr 0.1: not finished yet" in text(app, "#trial-figures")

        # a CLI search resuming the grid, and a distributed worker, each with its own file
        late = Trial("1", "sgd", 0.1, "constant", 0.97, 0.96, 3, 3, 12.0)
        write_as_another_process(folder / "trials.csv", trials_csv([*first, late]))
        write_as_another_process(folder / "trials-tuner0.csv", trials_csv(
            [Trial("2", "adam", 0.01, "plateau", 0.91, 0.91, 3, 3, 11.0)]))
        await until(pilot, lambda: len(heatmap.cells) == 3)
        assert "3 of 8 trials" in text(app, "#search-status")
        assert "sgd · lr 0.1 · constant" in text(app, "#trial-figures")  # the opened cell

        await pilot.press("s")  # rows by optimizer: each cell the best of its schedules
        assert heatmap.row_count == 2
        assert heatmap.cells[("adam", None), 0.01].schedule == "plateau"

        search_folder(tmp_path / "runs/search-linear", [])  # a new search, started elsewhere
        await until(pilot, lambda: Path("runs/search-linear") in app.screen.folders)


async def test_a_search_the_engine_refuses_is_told_and_the_form_can_start_again(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    search_folder(tmp_path / "runs/search-simple-cnn", [])
    app = WorkbenchApp()
    heard = Notes()
    async with app.run_test(size=(120, 40), message_hook=heard) as pilot:
        await pilot.press("o")
        app.screen.query_one("#search-epochs", Input).value = "5"  # the folder's search has 3
        await pilot.press("g")
        await pilot.pause()  # refused by the form, before any child starts
        assert any("holds a search with other settings (epochs)" in note for note in heard)
        assert not app.screen.searching
        assert not app.screen.query_one("#search-start").disabled
        app.screen.query_one("#search-rates", Input).value = "0.1 fast"
        await pilot.press("g")
        assert not app.screen.searching


@pytest.fixture
def seed_search(tmp_path, monkeypatch, utc) -> Path:
    """The seed's full grid (8 optimizers x 4 rates x 4 schedules), 114 of its 128 trials done."""
    monkeypatch.chdir(tmp_path)
    return search_folder(tmp_path / "runs/search-simple-cnn", seed_grid_trials(),
                         (DEFAULT_OPTIMIZERS, DEFAULT_LEARNING_RATES, DEFAULT_SCHEDULES))


@pytest.mark.parametrize("size", [(100, 30), (160, 50)], ids=["100x30", "160x50"])
def test_search_screen_snapshot(snap_compare, seed_search, size):
    async def show(pilot):
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("down", "right", "enter")  # adam constant... plateau, lr 0.1
        await settle(pilot)

    assert snap_compare(WorkbenchApp(), run_before=show, terminal_size=size)


async def test_while_the_search_runs_the_train_screen_says_so_and_leaves_it_running(
        tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    released = threading.Event()

    def held(job, folder, space, *, stop, **settings):
        assert released.wait(60)
        return stop.is_set()  # "stopped" if anything stopped it meanwhile

    monkeypatch.setattr(search_screen, "run_in_child", held)
    app = WorkbenchApp(str(tiny_data))
    heard = Notes()
    async with app.run_test(size=(160, 50), message_hook=heard) as pilot:
        await pilot.press("o")
        app.screen.query_one("#search-model", Select).value = "linear"
        await pilot.press("g", "t", "g", "x", "u")
        await pilot.pause()
        assert heard.count("The search is running: stop it on the Search screen (o, then x) "
                           "first.") == 2  # g and u
        assert not app.training_stop.is_set()  # x on the Train screen left the search alone
        released.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("o")
        assert "is done" in text(app, "#search-status")


async def test_a_folder_searched_on_other_data_is_refused_naming_the_folder_field(
        tiny_data, tmp_path, monkeypatch):
    """The form searches the app's data: a folder whose search ran on other data (here the
    embedded sample) is refused, as the CLI refuses it, never resumed on that other data."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "runs" / "search-linear"
    folder.mkdir(parents=True)
    (folder / "search.json").write_text(json.dumps(
        {"model": "linear", "epochs": 1, "batch_size": 128, "val_split": 0.1, "seed": 0,
         "data": None}))
    app = WorkbenchApp(str(tiny_data))
    heard = Notes()
    async with app.run_test(size=(160, 50), message_hook=heard) as pilot:
        await pilot.press("o")
        screen = app.screen
        screen.query_one("#search-model", Select).value = "linear"
        screen.query_one("#search-epochs", Input).value = "1"
        screen.query_one("#search-dir", Input).value = str(folder)
        await pilot.press("g")
        await pilot.pause()
        assert any("holds a search with other settings (data)" in note
                   and "the Search screen's Folder field" in note for note in heard), heard
        assert not app.workers._workers  # nothing started
