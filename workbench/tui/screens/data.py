"""Data: browse every digit, filter by label and split, go to one by its id, see one big, and
the class balance."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Header, Input, Static

from workbench.engine.data.competition import Competition
from workbench.render import bar_chart
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.digit_grid import DigitGrid
from workbench.tui.widgets.keybar import KeyBar
from workbench.tui.widgets.preview import DigitPreview

LABELS = Binding.Group("One label")


class DataScreen(WorkbenchScreen):
    BINDINGS = [
        *[Binding(str(d), f"label({d})", f"Label {d}", show=False, group=LABELS)
          for d in range(10)],
        Binding("a", "label(-1)", "All labels", id="data.all"),
        Binding("s", "split", "Train/test", id="data.split"),
        Binding("x", "ascii", "ASCII", id="data.ascii"),
        Binding("g", "jump", "Go to", tooltip="an image by its id", id="data.jump"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.split, self.label = "train", -1

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="grid-side"):
                yield DigitGrid(id="grid")
                yield Input(id="jump", restrict=r"[0-9]*", max_length=9)
            with VerticalScroll(id="side"):
                yield Static("Loading the data ...", id="dataset", markup=False)
                yield DigitPreview(id="detail")
                yield Static("", id="balance")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#jump", Input).display = False
        self.watch(self.app, "competition", self.refresh_data)

    @property
    def competition(self) -> Competition | None:
        return self.app.competition

    def refresh_data(self, competition: Competition | None = None) -> None:
        c = self.competition
        if c is None:
            return
        self.query_one("#dataset", Static).update(
            f"{c.source}\n{c.n_train:,} train (labelled), {c.n_test:,} test\n"
            f"showing: {self.split}" + (f", label {self.label}" if self.label >= 0 else ""))
        if self.split == "train":
            rows = np.arange(c.n_train) if self.label < 0 else np.flatnonzero(
                c.train_labels == self.label)
            captions = [f"#{r + 1} {c.train_labels[r]}" for r in rows.tolist()]
            images = c.train_images
        else:
            rows, images = np.arange(c.n_test), c.test_images
            captions = [f"#{i}" for i in c.test_ids.tolist()]
        self.query_one(DigitGrid).show(images, rows, captions)
        self.query_one("#balance", Static).update(Text.assemble(
            ("class balance (train)\n", "bold"),
            bar_chart(np.bincount(c.train_labels, minlength=10), 20)))

    @on(DigitGrid.Selected)
    def show_selected(self) -> None:
        grid = self.query_one(DigitGrid)
        if not len(grid.rows):
            self.query_one(DigitPreview).show(np.zeros((28, 28), np.uint8), "")
            return
        row = int(grid.rows[grid.cursor])
        self.query_one(DigitPreview).show(grid.images[row], grid.captions[grid.cursor],
                                          grid.ascii)

    def action_label(self, label: int) -> None:
        self.split, self.label = "train", label
        self.refresh_data()

    def action_split(self) -> None:
        self.split, self.label = ("test" if self.split == "train" else "train"), -1
        self.refresh_data()

    def action_ascii(self) -> None:
        grid = self.query_one(DigitGrid)
        grid.ascii = not grid.ascii
        self.show_selected()

    def action_jump(self) -> None:
        """Open the go-to field under the grid: an id, then Enter (Escape cancels)."""
        if self.competition is None:
            return
        jump = self.query_one("#jump", Input)
        jump.border_title = f"Go to {self.ids()}"
        jump.border_subtitle = "enter goes, esc cancels"
        jump.value = ""
        jump.display = True
        jump.focus()

    def ids(self) -> str:
        """The ids of the split shown: a training image's is its row in train.csv (as in the
        CLI and the captions), a test image's its ImageId."""
        c = self.competition
        if c is None:
            return ""
        if self.split == "train":
            return f"train row 1-{c.n_train:,}"
        if not c.n_test:
            return "test ImageId (there are none)"
        return f"test ImageId {int(c.test_ids.min()):,}-{int(c.test_ids.max()):,}"

    @on(Input.Submitted, "#jump")
    def go_to(self, event: Input.Submitted) -> None:
        """Go to the image with that id: a training image's is its row in train.csv, a test
        image's its ImageId. Under a label filter, an image of another label shows all."""
        c = self.competition
        if c is None or not event.value:
            return
        number = int(event.value)
        if self.split == "train":
            row = number - 1 if 1 <= number <= c.n_train else None
        else:
            found = np.flatnonzero(c.test_ids == number)
            row = int(found[0]) if len(found) else None
        if row is None:
            event.input.border_subtitle = f"no {self.split} image #{number:,} ({self.ids()})"
            return
        if self.split == "train" and self.label >= 0 and c.train_labels[row] != self.label:
            self.label = -1
            self.refresh_data()
        grid = self.query_one(DigitGrid)
        grid.select(int(np.flatnonzero(grid.rows == row)[0]))
        self.action_leave_field()

    def action_leave_field(self) -> None:
        """Escape (or Enter) in the go-to field closes it; the grid has the keys again."""
        self.query_one("#jump", Input).display = False
        self.query_one(DigitGrid).focus()
