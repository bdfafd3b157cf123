"""Search: the convergence search (optimizers x learning rates x schedules) as a screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class SearchScreen(Screen):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Run `workbench-engine search` to fill the grid.", id="search-status")
        yield Footer()
