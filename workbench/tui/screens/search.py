"""Search: the convergence search (optimizers x learning rates x schedules) as a screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from workbench.tui.screens.base import WorkbenchScreen


class SearchScreen(WorkbenchScreen):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Run `workbench-engine search` to fill the grid.", id="search-status")
        yield Footer()
