"""The home screen: which dataset is loaded, and its counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from workbench.engine.data import Competition, data_path, describe_source, load_competition
from workbench.engine.errors import WorkbenchError


class HomeScreen(Screen):
    """Loads the competition in a worker and shows what it holds."""

    @dataclass
    class Loaded(Message):
        competition: Competition

    @dataclass
    class Failed(Message):
        error: str

    def __init__(self, data: str | None) -> None:
        super().__init__()
        self.data = data

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Loading {describe_source(data_path(self.data))} ...", id="dataset", markup=False)
        yield Static("", id="counts", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="load")
    def load(self) -> None:
        try:
            self.post_message(self.Loaded(load_competition(self.data)))
        except WorkbenchError as error:
            self.post_message(self.Failed(str(error)))

    def on_home_screen_loaded(self, message: Loaded) -> None:
        competition = message.competition
        per_digit = np.bincount(competition.train_labels, minlength=10)
        counts = "  ".join(f"{digit}: {n:,}" for digit, n in enumerate(per_digit.tolist()))
        self.query_one("#dataset", Static).update(f"Dataset: {competition.source}")
        self.query_one("#counts", Static).update(
            f"{competition.n_train:,} train images (labelled), {competition.n_test:,} test images"
            f"\nPer digit: {counts}")

    def on_home_screen_failed(self, message: Failed) -> None:
        self.query_one("#dataset", Static).update(f"Could not load the data: {message.error}")
        self.query_one("#dataset").add_class("error")
