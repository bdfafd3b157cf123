"""Finding one's way in the app (the keys help, the current screen, screenshots) and the Data
and Draw screens, driven by keys and the mouse as a user would."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from rich.style import Style
from textual import events
from textual.message import Message
from textual.widgets import Input, Select

from tests.helpers import synthetic_run
from tests.pilots import press, settle, text, until
from workbench.engine.data.competition import load_competition
from workbench.engine.data.drawing import centred
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.digit_grid import DigitGrid

# --- orientation: the keys help, the current screen, screenshots ---


async def test_question_mark_and_f1_list_every_key_of_the_screen_and_the_app(kaggle):
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        keys = text(app, "#help-keys")
        for line in ("g  Go to: an image by its id", "a  All labels", "0-9  One label",
                     "s  Train/test", "→  Next", "pgdn  Page down",  # the focused grid's keys
                     "d  Data", "o  Search", "w  Draw", "q  Quit", "F1/?  Keys", "^p  palette"):
            assert line in keys, line
        assert "Data screen" in keys and "Everywhere" in keys
        await pilot.press("escape")
        assert not app.screen.query("#help-keys") and app.current_mode == "data"
        await pilot.press("w", "f1")
        keys = text(app, "#help-keys")
        assert "c  Clear" in keys and "space  Paint" in keys and "↑  Cursor up" in keys
        await pilot.press("question_mark")
        assert not app.screen.query("#help-keys") and app.current_mode == "draw"


async def test_the_header_names_the_current_screen_and_its_key_is_dimmed(kaggle):
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(120, 40)) as pilot:
        for key, title in (("d", "Data"), ("w", "Draw"), ("o", "Search"), ("r", "Runs")):
            await pilot.press(key)
            await pilot.pause()
            header = str(app.screen.query_one("HeaderTitle").render())
            assert header.startswith("Digit Workbench · digit-recognizer.zip (30 rows)")
            assert header.endswith(f" — {title}")
            footer = app.screen.active_bindings
            assert not footer[key].enabled  # dimmed in the footer: this is where you are
            assert all(footer[other].enabled for other in "dtrvkwo" if other != key)


@pytest.fixture
def no_downloads(tmp_path, monkeypatch) -> Path:
    """A home without ~/Downloads, and a working folder to save in."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.chdir(work)
    return work


def delivery() -> tuple[asyncio.Event, Callable[[Message], None]]:
    """An event set once a file delivery (the screenshot) has succeeded or failed, and the
    message hook that sets it."""
    delivered = asyncio.Event()

    def hook(message: Message) -> None:
        if isinstance(message, (events.DeliveryComplete, events.DeliveryFailed)):
            delivered.set()

    return delivered, hook


async def take_screenshot(app, pilot, delivered: asyncio.Event, **where) -> list[str]:
    notes: list[str] = []
    notify = app.notify
    app.notify = lambda message, **options: (notes.append(str(message)),
                                             notify(message, **options))[1]
    app.action_screenshot(**where)
    await asyncio.wait_for(delivered.wait(), 10)
    await pilot.pause()
    return notes


async def test_a_screenshot_without_a_downloads_folder_is_saved_beside_the_runs(
        kaggle, no_downloads):
    delivered, hook = delivery()
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        notes = await take_screenshot(app, pilot, delivered)
    assert not list(no_downloads.glob("*.svg"))  # not in the working folder: git would list it
    saved = list((no_downloads / "screenshots").glob("*.svg"))
    assert len(saved) == 1 and saved[0].read_text().startswith("<svg")
    assert any(str(saved[0]) in note for note in notes)


async def test_a_screenshot_that_cannot_be_saved_says_why(kaggle, no_downloads):
    delivered, hook = delivery()
    (no_downloads / "shots").write_text("a file, not a folder")
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        notes = await take_screenshot(app, pilot, delivered, path=str(no_downloads / "shots"))
    assert any("shots" in note and "not a folder" in note for note in notes), notes


# --- Data ---


@pytest.mark.parametrize("size", [(100, 30), (160, 50), (220, 60)])
async def test_the_position_line_is_on_screen(size):
    app = WorkbenchApp()  # the embedded sample: 5,000 labelled digits
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        grid = app.screen.query_one(DigitGrid)
        await pilot.press("right", "right", "pagedown")
        lines = str(grid.render()).split("\n")
        assert len(lines) <= grid.content_size.height  # nothing cut off at the bottom
        assert f"{grid.cursor + 1:,} of 5,000" in lines[-1]


async def test_g_jumps_to_an_image_id(kaggle):
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        grid = app.screen.query_one(DigitGrid)
        await pilot.press("3", "g")  # label 3 shown; #25 is a 4: the filter makes way
        jump = app.screen.query_one("#jump", Input)
        assert jump.display and jump.has_focus
        await pilot.press("2", "5", "enter")
        assert not jump.display and grid.has_focus
        assert grid.captions[grid.cursor] == "#25 4" and len(grid.rows) == 30
        assert "#25 4" in text(app, "#preview-text")
        await pilot.press("g", "7", "escape")  # Escape cancels
        assert not jump.display and grid.captions[grid.cursor] == "#25 4"
        await pilot.press("s", "g", "1", "1", "enter")  # the test split: its ImageIds
        assert grid.captions[grid.cursor] == "#11"
        await pilot.press("g", "9", "9", "enter")  # no such image: said, and nothing moves
        assert grid.captions[grid.cursor] == "#11" and jump.display
        assert "1-12" in str(jump.border_subtitle)


# --- Draw ---


class FakeModel:
    """Says 7 to anything; keeps the images it was asked about."""

    seen: list[np.ndarray] = []

    def __call__(self, batch, training=False):
        FakeModel.seen.append(np.asarray(batch))
        return np.eye(10, dtype=np.float32)[[7] * len(batch)]


@pytest.fixture
def draw_run(tmp_path, monkeypatch, kaggle):
    """A run with a best.keras that loads as FakeModel (no Keras)."""
    from workbench.engine.network import inference

    monkeypatch.chdir(tmp_path)
    run = synthetic_run(tmp_path / "runs", load_competition(str(kaggle.zip())))
    (run / "best.keras").write_bytes(b"stand-in")
    loads: list[Path] = []
    monkeypatch.setattr(inference, "load_checkpoint",
                        lambda path: (loads.append(path), FakeModel())[1])
    return loads


async def draw_some(pilot) -> None:
    for _ in range(4):
        await pilot.press("up", "space")
    await settle(pilot)


async def test_an_empty_canvas_shows_a_hint_not_a_prediction(kaggle, draw_run):
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(120, 36)) as pilot:
        await press(pilot, "w")
        assert "prediction" not in text(app, "#probabilities")
        assert "Draw a digit" in text(app, "#probabilities")
        await draw_some(pilot)
        assert "prediction: 7" in text(app, "#probabilities")
        await press(pilot, "c")
        assert "prediction" not in text(app, "#probabilities")


async def test_the_model_is_loaded_once_until_the_run_changes(kaggle, draw_run, tmp_path):
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("w")
        await draw_some(pilot)
        await pilot.press("d", "w")  # another screen, and back
        await settle(pilot)
        await pilot.press("ctrl+p")  # the palette, and back
        await pilot.pause()
        await pilot.press("escape")
        await draw_some(pilot)
        assert "prediction: 7" in text(app, "#probabilities")
        assert len(draw_run) == 1
        second = synthetic_run(tmp_path / "runs", load_competition(str(kaggle.zip())),
                               "20260102-120000-mlp")
        (second / "best.keras").write_bytes(b"stand-in")
        await press(pilot, "d", "w")
        app.screen.query_one("#draw-run", Select).value = second.name
        await draw_some(pilot)
        assert draw_run == [draw_run[0], Path("runs") / second.name / "best.keras"]


async def test_the_cursor_is_plain_and_c_clears_and_recentres(kaggle, draw_run):
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(120, 36)) as pilot:
        await press(pilot, "w")
        canvas = app.screen.query_one("#canvas")
        await pilot.press("left", "left", "down", "down")
        x, y = canvas.cursor
        cell = canvas.render().split("\n")[y // 2][x]
        style = Style.combine(span.style for span in cell.spans)
        colour = style.color if y % 2 == 0 else style.bgcolor
        red, green, blue = colour.get_truecolor()
        assert max(red, green, blue) - min(red, green, blue) > 100  # a colour, not a grey
        await pilot.press("space", "c")
        assert canvas.image.max() == 0 and canvas.cursor == (14, 14)


async def test_a_drawing_reaches_the_model_centred_as_mnist_s_digits_are(kaggle, draw_run):
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(120, 36)) as pilot:
        await press(pilot, "w")
        FakeModel.seen.clear()
        await pilot.press(*["left"] * 12)  # a "1" at the left edge
        for _ in range(6):
            await pilot.press("up", "space")
        await settle(pilot)
        drawn = app.screen.query_one("#canvas").image
        assert np.flatnonzero(drawn.any(axis=0)).max() < 6  # drawn at the edge
        seen = FakeModel.seen[-1][0]
        columns = np.flatnonzero(seen.any(axis=0))
        rows = np.flatnonzero(seen.any(axis=1))
        assert 11 <= columns.mean() <= 16 and rows.max() - rows.min() + 1 == 20


@pytest.mark.parametrize(("size", "cells"), [((100, 30), (28, 14)), ((160, 50), (56, 28))])
async def test_the_canvas_has_a_border_and_grows_with_the_screen(kaggle, draw_run, size, cells):
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=size) as pilot:
        await press(pilot, "w")
        canvas = app.screen.query_one("#canvas")
        assert (canvas.content_region.width, canvas.content_region.height) == cells
        assert canvas.region.width == cells[0] + 2  # the border
        assert app.screen.region.contains_region(canvas.region)
        await pilot.click("#canvas", offset=(1 + cells[0] // 2, 1 + cells[1] // 2))
        assert canvas.image[13:16, 13:16].max() > 0  # a click in the middle paints there


async def test_dragging_on_the_canvas_draws_and_selects_no_text(kaggle, draw_run):
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(120, 36)) as pilot:
        await press(pilot, "w")
        canvas = app.screen.query_one("#canvas")
        await pilot.mouse_down("#canvas", offset=(5, 4))  # inside the border: pixel (4, 6)
        for x in range(6, 21):
            await pilot.hover("#canvas", offset=(x, 7))
        await pilot.mouse_up("#canvas", offset=(21, 7))
        assert canvas.image[6:8, 4:7].max() > 0
        assert not app.screen.selections and app.screen.get_selected_text() is None


# --- snapshots: the screens as a user sees them at 100x30 and 160x50 ---


@pytest.fixture
def sample_run(tmp_path, monkeypatch):
    """The embedded sample (5,000 labelled digits) and a run whose model is FakeModel."""
    from workbench.engine.network import inference

    monkeypatch.chdir(tmp_path)
    run = synthetic_run(tmp_path / "runs", load_competition())
    (run / "best.keras").write_bytes(b"stand-in")
    monkeypatch.setattr(inference, "load_checkpoint", lambda path: FakeModel())


@pytest.mark.parametrize("size", [(100, 30), (160, 50)], ids=["100x30", "160x50"])
@pytest.mark.parametrize("keys", [
    ("right", "pagedown"),  # Data: the position line under the grid
    ("g", "1", "2", "3"),  # Data: going to an image
    ("w", *["up", "space"] * 5, "left", "left"),  # Draw: a stroke, the cursor, a prediction
    ("w", "question_mark"),  # the keys of the Draw screen
], ids=["data", "data-go-to", "draw", "help"])
def test_snapshot(snap_compare, sample_run, size, keys):
    async def press(pilot):
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
        for field in pilot.app.screen.query(Input):  # a blinking cursor is drawn half the time
            field.cursor_blink = False
        await settle(pilot)

    assert snap_compare(WorkbenchApp(), run_before=press, terminal_size=size)


async def test_strokes_while_the_model_loads_load_it_once_and_the_last_stroke_is_shown(
        kaggle, tmp_path, monkeypatch):
    """Each stroke starts a prediction; the first waits for the model: the strokes after it
    wait for that load (one load), and whatever order they end in, the newest is shown."""
    from workbench.engine.network import inference

    monkeypatch.chdir(tmp_path)
    run = synthetic_run(tmp_path / "runs", load_competition(str(kaggle.zip())))
    (run / "best.keras").write_bytes(b"stand-in")
    loads, released = [], threading.Event()

    def pixels_mod_10(images, training=False):  # "predicts" the ink's total, mod 10
        return np.eye(10)[[int(images[0].astype(np.int64).sum()) % 10]]

    def slow_load(path):
        loads.append(path)
        assert released.wait(60)
        return pixels_mod_10

    monkeypatch.setattr(inference, "load_checkpoint", slow_load)
    app = WorkbenchApp(str(kaggle.zip()))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("w")
        await until(pilot, lambda: loads)
        canvas, counts = app.screen.query_one("#canvas"), []
        for _ in range(3):
            await pilot.press("space", "up")  # 3 strokes
            counts.append(int(centred(canvas.image).astype(np.int64).sum()) % 10)  # as seen
        assert counts[-1] not in counts[:-1]  # an older stroke's answer would show otherwise
        released.set()
        await settle(pilot)
        assert len(loads) == 1
        assert f"prediction: {counts[-1]}" in text(app, "#probabilities")
