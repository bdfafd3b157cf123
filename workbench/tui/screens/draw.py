"""Draw: a digit on a 28x28 canvas (mouse, or arrows + space) and the chosen model's
probabilities, updated as you draw."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Header, Select, Static

from workbench.engine.data.drawing import centred
from workbench.engine.runs.run import Run
from workbench.engine.store import workspace
from workbench.render import bar_chart, digit_blocks
from workbench.tui.messages import CanvasChanged, DrawingPredicted, WorkFailed
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.choices import refill, runs_with
from workbench.tui.widgets.keybar import KeyBar
from workbench.tui.workers import background

BRUSH = np.array([[0.3, 0.7, 0.3], [0.7, 1.0, 0.7], [0.3, 0.7, 0.3]])
CENTRE = (14, 14)
HINT = "Draw a digit: the run's probabilities for it show here as you draw."


class Canvas(Widget, can_focus=True):
    """28x28 pixels as 28 x 14 half-block cells, or (class -big, where the screen has room)
    56 x 28 cells of two columns a pixel; drawn with the mouse or the keyboard.

    A drag draws: it does not select text (ALLOW_SELECT). The keyboard cursor is one pixel in
    the theme's accent colour, so it shows on ink and on black alike."""

    ALLOW_SELECT = False
    BINDING_GROUP_TITLE = "Canvas"
    COMPONENT_CLASSES = {"canvas--cursor"}
    DEFAULT_CSS = """
    Canvas > .canvas--cursor {
        color: $accent;
    }
    """
    BINDINGS = [
        Binding("up", "move(0,-1)", "Cursor up", show=False),
        Binding("down", "move(0,1)", "Cursor down", show=False),
        Binding("left", "move(-1,0)", "Cursor left", show=False),
        Binding("right", "move(1,0)", "Cursor right", show=False),
        Binding("space", "paint", "Paint"),
    ]
    cursor: reactive[tuple[int, int]] = reactive(CENTRE)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pixels = np.zeros((28, 28), np.float32)

    @property
    def image(self) -> np.ndarray:
        return (np.clip(self.pixels, 0, 1) * 255).astype(np.uint8)

    @property
    def big(self) -> bool:
        return self.has_class("-big")

    def render(self) -> Text:
        image = self.image
        if self.big:  # a pixel is two cells side by side: two rows of half blocks a row
            image = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
        drawing = digit_blocks(image)
        if self.has_focus:
            x, y = self.cursor
            accent = self.get_component_rich_style("canvas--cursor").color
            if self.big:
                cell = y * 57 + 2 * x  # 56 cells and a newline per line
                drawing.stylize(Style(color=accent, bgcolor=accent), cell, cell + 2)
            else:
                cell = y // 2 * 29 + x  # 28 cells and a newline per line; a cell: two pixels
                drawing.stylize(Style(color=accent) if y % 2 == 0 else Style(bgcolor=accent),
                                cell, cell + 1)
        return drawing

    def paint(self, x: int, y: int) -> None:
        for dy in range(-1, 2):
            for dx in range(-1, 2):
                if 0 <= y + dy < 28 and 0 <= x + dx < 28:
                    self.pixels[y + dy, x + dx] += BRUSH[dy + 1, dx + 1]
        self.refresh()
        self.post_message(CanvasChanged())

    def clear(self) -> None:
        """A blank canvas, the cursor back in the middle."""
        self.pixels[:] = 0
        self.cursor = CENTRE
        self.refresh()
        self.post_message(CanvasChanged())

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self.capture_mouse()
        self._mouse(event)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if event.button:
            self._mouse(event)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self.release_mouse()

    def _mouse(self, event: events.MouseEvent) -> None:
        offset = event.get_content_offset(self)  # inside the border; None on it
        if offset is None:
            return
        if self.big:
            x, y = offset.x // 2, offset.y
            if 0 <= x < 28 and 0 <= y < 28:
                self.paint(x, y)
        elif 0 <= offset.x < 28 and 0 <= offset.y * 2 < 28:
            self.paint(offset.x, offset.y * 2)
            self.paint(offset.x, offset.y * 2 + 1)

    def action_move(self, dx: int, dy: int) -> None:
        x, y = self.cursor
        self.cursor = (min(27, max(0, x + dx)), min(27, max(0, y + dy)))

    def action_paint(self) -> None:
        self.paint(*self.cursor)


class DrawScreen(WorkbenchScreen):
    BINDINGS = [Binding("c", "clear", "Clear", id="draw.clear")]

    def __init__(self) -> None:
        super().__init__()
        self.model_path: Path | None = None  # the chosen run's best.keras
        self.failed_path: Path | None = None  # its model would not load: not retried per stroke
        # The loaded model and its file, kept until another run is chosen (set by the worker).
        self.model: tuple[Path, Any] | None = None  # (checkpoint, its Keras model)
        # Each stroke starts a worker; while a model loads, the next strokes wait for it, and
        # only the newest goes on (one load, one answer); an older answer never replaces a
        # newer one (workers may end in any order).
        self.model_lock = threading.Lock()
        self.asked = self.shown = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Select([], prompt="choose a trained run", id="draw-run")
        with Horizontal():
            with Vertical(id="canvas-side"):
                yield Canvas(id="canvas")
                yield Static("Draw with the mouse, or arrows + space; c clears.", id="draw-help")
            yield Static("", id="probabilities")
        yield KeyBar()

    def on_resize(self, event: events.Resize) -> None:
        """The canvas twice as large where the screen has room for it (160x50 and up)."""
        big = event.size.width >= 120 and event.size.height >= 42
        self.query_one(Canvas).set_class(big, "-big")
        self.query_one("#canvas-side").set_class(big, "-big")

    def on_screen_resume(self) -> None:
        if not refill(self.query_one("#draw-run", Select),
                      [run.id for run in runs_with(lambda run: run.best_checkpoint)]):
            self.model_path = None
            self.predict()
        self.query_one(Canvas).focus()

    @on(Select.Changed, "#draw-run")
    def run_chosen(self, event: Select.Changed) -> None:
        """Coming back to the screen refills the list, which chooses the same run again: its
        model is kept; only another run loads its own."""
        path = (Run(workspace.runs_dir() / event.value).best_checkpoint
                if isinstance(event.value, str) else None)
        if path is not None and path != self.model_path:
            self.model_path, self.failed_path = path, None
            self.predict()

    @on(CanvasChanged)
    def drawing_changed(self) -> None:
        self.predict()

    def action_clear(self) -> None:
        self.query_one(Canvas).clear()

    def predict(self) -> None:
        """Predict the drawing in a worker (an empty canvas: only load the model, for the
        first stroke), unless there is no run or the chosen run's model would not load."""
        self.asked += 1
        if self.model_path is None:
            self.shown = self.asked
            self.query_one("#probabilities", Static).update(
                "Train a run first (t): its probabilities show here as you draw.")
            return
        if self.model_path == self.failed_path:
            return
        image = self.query_one(Canvas).image
        self._predict(self.model_path, centred(image) if image.any() else None, self.asked)

    @background("draw", "Predicting the drawing")
    def _predict(self, path: Path, image: np.ndarray | None, asked: int) -> None:
        """Loads the run's model unless it is the one loaded (Keras in this thread), then
        predicts the drawing. A failure (a damaged checkpoint, say) is the app's to show
        (model_failed here)."""
        with self.model_lock:
            if asked != self.asked:
                return  # a newer stroke waits for this lock too: it answers
            loaded = self.model
            if loaded is None or loaded[0] != path:
                from workbench.engine.network.inference import load_checkpoint

                self.post_message(DrawingPredicted(None, "Loading the model ...", asked))
                loaded = self.model = (path, load_checkpoint(path))
        if image is None:
            self.post_message(DrawingPredicted(None, HINT, asked))
            return
        probabilities = np.asarray(loaded[1](image[None], training=False))[0]
        self.post_message(DrawingPredicted(probabilities, asked=asked))

    @on(WorkFailed)
    def model_failed(self, message: WorkFailed) -> None:
        self.failed_path, self.shown = self.model_path, self.asked
        self.query_one("#probabilities", Static).update(
            f"Could not predict with this run:\n{message.text}\n\nChoose another run.")

    @on(DrawingPredicted)
    def show_probabilities(self, message: DrawingPredicted) -> None:
        if message.asked < self.shown:
            return  # a newer stroke's answer is on the screen already
        self.shown = message.asked
        panel = self.query_one("#probabilities", Static)
        if message.probabilities is None:
            panel.update(message.note)
            return
        best = int(message.probabilities.argmax())
        panel.update(Text.assemble(
            (f"prediction: {best}\n\n", "bold"),
            bar_chart(message.probabilities, 30, top=1.0, value=lambda p: f"{100 * p:5.1f}%",
                      highlight=best)))
