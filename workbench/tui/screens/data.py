"""Data: browse every digit, filter by label and split, see one big, and the class balance."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Static

from workbench.engine.data import Competition
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.digit_grid import DigitGrid
from workbench.tui.widgets.preview import DigitPreview


class DataScreen(WorkbenchScreen):
    BINDINGS = [
        *[Binding(str(d), f"label({d})", show=False) for d in range(10)],
        Binding("a", "label(-1)", "All labels", id="data.all"),
        Binding("s", "split", "Train/test", id="data.split"),
        Binding("x", "ascii", "ASCII", id="data.ascii"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.split, self.label = "train", -1

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield DigitGrid(id="grid")
            with Vertical(id="side"):
                yield Static("Loading the data ...", id="dataset", markup=False)
                yield DigitPreview(id="detail")
                yield Static("", id="balance")
        yield Footer()

    def on_mount(self) -> None:
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
        counts = np.bincount(c.train_labels, minlength=10)
        top = max(int(counts.max()), 1)
        balance = Text("class balance (train)\n", style="bold")
        for digit, n in enumerate(counts.tolist()):
            balance.append(f"{digit} {'█' * round(20 * n / top):<20} {n:,}\n")
        self.query_one("#balance", Static).update(balance)

    def on_digit_grid_selected(self, message: DigitGrid.Selected) -> None:
        grid = self.query_one(DigitGrid)
        if not len(grid.rows):
            self.query_one(DigitPreview).show(np.zeros((28, 28), np.uint8), "")
            return
        row = int(grid.rows[message.position])
        self.query_one(DigitPreview).show(grid.images[row], grid.captions[message.position],
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
        self.on_digit_grid_selected(DigitGrid.Selected(grid.cursor))
