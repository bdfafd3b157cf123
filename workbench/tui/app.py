"""`workbench`: the Textual app. It wires the screens; the engine does the work."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterable, Sequence

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive

from workbench import __version__
from workbench.engine.data import Competition, load_competition
from workbench.engine.errors import WorkbenchError
from workbench.tui.screens.data import DataScreen
from workbench.tui.screens.review import ReviewScreen
from workbench.tui.screens.runs import RunsScreen
from workbench.tui.screens.submit import SubmitScreen
from workbench.tui.screens.train import TrainScreen

SCREENS = {
    "data": ("Data", "Browse the digits: filter by label and split"),
    "train": ("Train", "Train a model with live curves"),
    "runs": ("Runs", "Compare and delete training runs"),
    "review": ("Review", "Confusion matrix and mistakes of a run"),
    "submit": ("Submit", "Check a submission and send it to Kaggle"),
}


class WorkbenchApp(App):
    """Digit Workbench."""

    TITLE = "Digit Workbench"
    CSS_PATH = "workbench.tcss"
    MODES = {"data": DataScreen, "train": TrainScreen, "runs": RunsScreen,
             "review": ReviewScreen, "submit": SubmitScreen}
    DEFAULT_MODE = "data"
    BINDINGS = [
        Binding("d", "switch_mode('data')", "Data", id="screen.data"),
        Binding("t", "switch_mode('train')", "Train", id="screen.train"),
        Binding("r", "switch_mode('runs')", "Runs", id="screen.runs"),
        Binding("v", "switch_mode('review')", "Review", id="screen.review"),
        Binding("k", "switch_mode('submit')", "Submit", id="screen.submit"),
        Binding("q", "quit", "Quit", id="quit"),
    ]
    competition: reactive[Competition | None] = reactive(None)

    def __init__(self, data: str | None = None) -> None:
        super().__init__()
        self.data = data
        self.training_stop = threading.Event()

    async def action_quit(self) -> None:
        """Quitting mid-training stops it after the batch: the run is left interrupted."""
        running = [w for w in self.workers if w.group == "train" and w.is_running]
        if running:
            self.training_stop.set()
            self.notify("Stopping the training after this batch ...")
            for worker in running:
                await worker.wait()
        self.exit()

    def on_mount(self) -> None:
        self.load_data()

    @work(thread=True, exclusive=True, group="load")
    def load_data(self) -> None:
        try:
            competition = load_competition(self.data)
        except WorkbenchError as error:
            self.call_from_thread(self.notify, str(error), title="Could not load the data",
                                  severity="error", timeout=30)
            return
        self.call_from_thread(setattr, self, "competition", competition)

    def get_system_commands(self, screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, (title, help_text) in SCREENS.items():
            yield SystemCommand(f"Screen: {title}", help_text,
                                lambda mode=mode: self.switch_mode(mode))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="workbench", description="Digit Workbench: browse, "
                                     "train, review and submit for Kaggle's Digit Recognizer.")
    parser.add_argument("--data", metavar="PATH", help="Kaggle zip, folder or CSV (default: "
                        "$WORKBENCH_DATA, else the embedded sample)")
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    args = parser.parse_args(argv)
    WorkbenchApp(args.data).run()
