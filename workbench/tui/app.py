"""`workbench`: the Textual app. It wires the screens; the engine does the work."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from textual.app import App
from textual.binding import Binding

from workbench import __version__
from workbench.tui.screens.home import HomeScreen


class WorkbenchApp(App):
    """Digit Workbench."""

    TITLE = "Digit Workbench"
    CSS_PATH = "workbench.tcss"
    BINDINGS = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(self, data: str | None = None) -> None:
        super().__init__()
        self.data = data

    def on_mount(self) -> None:
        self.push_screen(HomeScreen(self.data))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="workbench", description="Digit Workbench: browse, "
                                     "train, review and submit for Kaggle's Digit Recognizer.")
    parser.add_argument("--data", metavar="PATH", help="Kaggle zip, folder or CSV (default: "
                        "$WORKBENCH_DATA, else the embedded sample)")
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    args = parser.parse_args(argv)
    WorkbenchApp(args.data).run()
