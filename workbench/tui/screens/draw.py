"""Draw: a digit on a 28x28 canvas (mouse, or arrows + space) and the chosen model's
probabilities, updated as you draw."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Footer, Header, Select, Static

from workbench.engine.runs import RUNS_DIR
from workbench.render import digit_blocks
from workbench.tui.messages import WorkFailed
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.choices import refill, runs_with
from workbench.tui.workers import background

BRUSH = np.array([[0.3, 0.7, 0.3], [0.7, 1.0, 0.7], [0.3, 0.7, 0.3]])


class Canvas(Widget, can_focus=True):
    """28x28 pixels as 28 x 14 half-block cells; drawn with the mouse or the keyboard."""

    BINDINGS = [("up", "move(0,-1)", ""), ("down", "move(0,1)", ""), ("left", "move(-1,0)", ""),
                ("right", "move(1,0)", ""), ("space", "paint", "Paint"),
                ("c", "clear", "Clear")]
    cursor = reactive((14, 14))

    class Changed(Message):
        """The drawing changed."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pixels = np.zeros((28, 28), np.float32)

    @property
    def image(self) -> np.ndarray:
        return (np.clip(self.pixels, 0, 1) * 255).astype(np.uint8)

    def render(self) -> Text:
        shown = self.image.copy()
        x, y = self.cursor
        if self.has_focus:
            shown[y, x] = 128 if shown[y, x] > 128 else 200
        return digit_blocks(shown)

    def paint(self, x: int, y: int) -> None:
        for dy in range(-1, 2):
            for dx in range(-1, 2):
                if 0 <= y + dy < 28 and 0 <= x + dx < 28:
                    self.pixels[y + dy, x + dx] += BRUSH[dy + 1, dx + 1]
        self.refresh()
        self.post_message(self.Changed())

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self.capture_mouse()
        self._mouse(event)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if event.button:
            self._mouse(event)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self.release_mouse()

    def _mouse(self, event) -> None:
        x, y = event.x, event.y * 2
        if 0 <= x < 28 and 0 <= y < 28:
            self.paint(x, y)
            self.paint(x, y + 1)

    def action_move(self, dx: int, dy: int) -> None:
        x, y = self.cursor
        self.cursor = (min(27, max(0, x + dx)), min(27, max(0, y + dy)))

    def action_paint(self) -> None:
        self.paint(*self.cursor)

    def action_clear(self) -> None:
        self.pixels[:] = 0
        self.refresh()
        self.post_message(self.Changed())


class DrawScreen(WorkbenchScreen):
    BINDINGS = [Binding("c", "clear", "Clear", id="draw.clear")]

    @dataclass
    class Probabilities(Message):
        values: np.ndarray | None
        note: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.model = None
        self.model_path: Path | None = None
        self.failed_path: Path | None = None  # its model would not load: not retried per stroke

    def compose(self) -> ComposeResult:
        yield Header()
        yield Select([], prompt="choose a trained run", id="draw-run")
        with Horizontal():
            with Vertical(id="canvas-side"):
                yield Canvas(id="canvas")
                yield Static("Draw with the mouse, or arrows + space; c clears.", id="draw-help")
            yield Static("", id="probabilities")
        yield Footer()

    def on_screen_resume(self) -> None:
        refill(self.query_one("#draw-run", Select), runs_with("best.keras"))
        self.query_one(Canvas).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.model_path = RUNS_DIR / event.value / "best.keras"
            self.model, self.failed_path = None, None
            self.predict(self.query_one(Canvas).image)

    def on_canvas_changed(self, message: Canvas.Changed) -> None:
        self.predict(self.query_one(Canvas).image)

    def action_clear(self) -> None:
        self.query_one(Canvas).action_clear()

    def predict(self, image: np.ndarray) -> None:
        """Predict the drawing in a worker, unless the chosen run's model would not load."""
        if self.model_path is not None and self.model_path == self.failed_path:
            return
        self._predict(self.model_path, image)

    @background("draw", "Predicting the drawing")
    def _predict(self, path: Path | None, image: np.ndarray) -> None:
        """Loads the model once (Keras in this thread), then predicts the drawing. A failure
        (a damaged checkpoint, say) is the app's to show (on_work_failed here)."""
        if path is None:
            self.post_message(self.Probabilities(None, "Train a run first (t)."))
            return
        if self.model is None:
            from workbench.engine.prediction import load_checkpoint

            self.post_message(self.Probabilities(None, "Loading the model ..."))
            self.model = load_checkpoint(path)
        probabilities = np.asarray(self.model(image[None], training=False))[0]
        self.post_message(self.Probabilities(probabilities))

    def on_work_failed(self, message: WorkFailed) -> None:
        self.model, self.failed_path = None, self.model_path
        self.query_one("#probabilities", Static).update(
            f"Could not predict with this run:\n{message.text}\n\nChoose another run.")

    def on_draw_screen_probabilities(self, message: Probabilities) -> None:
        panel = self.query_one("#probabilities", Static)
        if message.values is None:
            panel.update(message.note)
            return
        best = int(message.values.argmax())
        text = Text(f"prediction: {best}\n\n", style="bold")
        for digit, p in enumerate(message.values.tolist()):
            style = "bold green" if digit == best else ""
            text.append(f"{digit} {'█' * round(30 * p):<30} {100 * p:5.1f}%\n", style=style)
        panel.update(text)
