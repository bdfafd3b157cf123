"""`workbench`: the Textual app. It wires the screens; the engine does the work."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_downloads_path
from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from workbench import __version__
from workbench.engine.data.cache import cache_dir
from workbench.engine.data.competition import Competition, load_competition
from workbench.engine.errors import WorkbenchError
from workbench.engine.store import workspace
from workbench.tui.heap import settle
from workbench.tui.internals import draw_on
from workbench.tui.messages import WorkFailed
from workbench.tui.screens.data import DataScreen
from workbench.tui.screens.draw import DrawScreen
from workbench.tui.screens.help import HelpScreen
from workbench.tui.screens.review import ReviewScreen
from workbench.tui.screens.runs import RunsScreen
from workbench.tui.screens.search import SearchScreen
from workbench.tui.screens.submit import SubmitScreen
from workbench.tui.screens.train import TrainScreen
from workbench.tui.serve import serve
from workbench.tui.workers import OWNERS, background, failure_text, say


@dataclass(frozen=True)
class ScreenEntry:
    """One screen of the app: the key that shows it, its class, and its line in the palette."""

    key: str
    title: str
    screen: type[Screen]
    help: str


# The one table of screens: the modes, the keys that switch to them and the palette come from it.
SCREENS = {
    "data": ScreenEntry("d", "Data", DataScreen, "Browse the digits: filter by label and split"),
    "train": ScreenEntry("t", "Train", TrainScreen, "Train a model with live curves"),
    "runs": ScreenEntry("r", "Runs", RunsScreen, "Compare and delete training runs"),
    "review": ScreenEntry("v", "Review", ReviewScreen, "Confusion matrix and mistakes of a run"),
    "submit": ScreenEntry("k", "Submit", SubmitScreen,
                          "Check a submission and send it to Kaggle"),
    "draw": ScreenEntry("w", "Draw", DrawScreen, "Draw a digit and watch a model's probabilities"),
    "search": ScreenEntry("o", "Search", SearchScreen,
                          "The convergence search: optimizers x learning rates x schedules"),
}


def titled(entry: ScreenEntry) -> Callable[[], Screen]:
    """Makes the entry's screen with its title as the header's subtitle: where you are."""

    def make() -> Screen:
        screen = entry.screen()
        screen.sub_title = entry.title
        return screen

    return make


class WorkbenchApp(App):
    """Digit Workbench."""

    TITLE = "Digit Workbench"
    CSS_PATH = "workbench.tcss"
    MODES = {mode: titled(entry) for mode, entry in SCREENS.items()}
    DEFAULT_MODE = "data"
    BINDINGS = [  # the keys help first: where a narrow footer is cut, it is still there
        Binding("f1,question_mark", "help", "Keys", key_display="F1/?", id="help"),
        *[Binding(entry.key, f"switch_mode({mode!r})", entry.title, id=f"screen.{mode}")
          for mode, entry in SCREENS.items()],
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

    def watch_competition(self, competition: Competition | None) -> None:
        """The data in the header of every screen: sample or full is never a guess."""
        short = {"sample": "sample", "full": "full data"}
        if competition is not None:
            what = short.get(competition.kind, Path(competition.source).name)
            self.title = f"{self.TITLE} · {what} ({competition.n_train:,} rows)"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The screen keys and q are letters: while a text field has the focus they are text,
        so the footer stops offering them (Escape leaves the field). The current screen's key
        is dimmed: it marks where you are."""
        if action in ("switch_mode", "quit") and getattr(self.screen, "typing", False):
            return False
        if action == "switch_mode" and parameters == (self.current_mode,):
            return None
        return True

    def action_help(self) -> None:
        """Every key of the current screen and the app, over the screen."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """Textual saves screenshots to ~/Downloads and fails without a word where there is
        none: then they go to screenshots/ beside the runs folder, not into the current folder
        (a git checkout would list them); the notification names the file."""
        if path is None and not user_downloads_path().is_dir():
            folder = workspace.screenshots_dir().absolute()
            with contextlib.suppress(OSError):  # then the failure is said, with its reason
                folder.mkdir(parents=True, exist_ok=True)
            path = str(folder)
        return super().deliver_screenshot(filename, path, time_format)

    @on(events.DeliveryFailed)
    def screenshot_failed(self, event: events.DeliveryFailed) -> None:
        """Textual's own notice says only that the screenshot failed: say why."""
        if event.name == "screenshot":
            event.prevent_default()
            self.notify(failure_text(event.exception), title="Could not save the screenshot",
                        severity="error", timeout=20, markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker is handled (every worker is the app's: see
        workbench/tui/workers.py): a notification, and a word to the screen that started it,
        which stays usable; the app never goes down with a worker."""
        worker = event.worker
        if event.state == WorkerState.ERROR:
            text = failure_text(worker.error)
            self.notify(text, title=f"{worker.description or worker.name} failed",
                        severity="error", timeout=20)
            owner = OWNERS.pop(worker, None)
            if owner is not None and owner is not self and owner.is_attached:
                owner.post_message(WorkFailed(worker.group, text))
        elif worker.is_finished:
            OWNERS.pop(worker, None)
            self.call_after_refresh(settle)

    @background("load", "Loading the data")
    def load_data(self) -> None:
        try:
            competition = load_competition(self.data)
        except (WorkbenchError, OSError) as error:
            self.call_from_thread(self.notify, say(error),
                                  title="Could not load the data",
                                  severity="error", timeout=30)
            return
        self.call_from_thread(setattr, self, "competition", competition)

    def get_system_commands(self, screen) -> Iterable[SystemCommand]:
        """Every screen, and every action of the current screen, in the command palette."""
        yield from (command for command in super().get_system_commands(screen)
                    if command.title != "Keys")  # Textual's own panel: ours is below
        for mode, entry in SCREENS.items():
            yield SystemCommand(f"Screen: {entry.title}", entry.help,
                                lambda mode=mode: self.switch_mode(mode))
        yield SystemCommand("Keys of this screen (F1)", "Every key of this screen and the app",
                            self.action_help)
        for binding in getattr(screen, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.description:
                yield SystemCommand(f"{binding.description} ({binding.key})",
                                    f"{type(screen).__name__.removesuffix('Screen')} screen",
                                    lambda action=binding.action: screen.run_action(action))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="workbench", description="Digit Workbench: browse, "
                                     "train, review and submit for Kaggle's Digit Recognizer.")
    parser.add_argument("--data", metavar="PATH", help="Kaggle zip, folder or CSV (default: "
                        "$WORKBENCH_DATA, else data/digit-recognizer.zip where 'workbench-engine "
                        "kaggle download' puts it, else the embedded 5,000-row sample)")
    parser.add_argument("--runs-dir", type=Path, metavar="DIR", help="the runs folder (default: "
                        "runs/ of the workspace: $WORKBENCH_HOME, else the nearest folder from "
                        "here up that holds runs/, else here); submissions go beside it")
    parser.add_argument("--serve", action="store_true", help="serve the app to a web browser "
                        "(one app per tab) instead of drawing it here")
    parser.add_argument("--port", type=int, default=8000, help="--serve's port (default 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="--serve's address (default "
                        "127.0.0.1: reach it through an SSH tunnel; 0.0.0.0 opens it to the "
                        "network, with no login)")
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    args = parser.parse_args(argv)
    if args.serve:
        try:
            serve(args.data, args.runs_dir, args.host, args.port)
        except WorkbenchError as error:
            parser.exit(2, f"workbench: error: {error}\n")
        return
    workspace.choose(args.runs_dir)
    _native_logs_off_screen()
    WorkbenchApp(args.data).run()


def _native_logs_off_screen() -> None:
    """Textual draws on file descriptor 2, where TensorFlow's C++ code writes its logs (and where
    the engine silences them while Keras loads). Give Textual its own copy of the terminal and
    send descriptor 2 to a log file, so neither can blank or garble the screen."""
    if not sys.__stderr__ or not sys.__stderr__.isatty():
        return
    terminal = os.fdopen(os.dup(2), "w", encoding=sys.__stderr__.encoding, errors="replace")
    log = cache_dir() / "workbench-stderr.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError:
        fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 2)
    os.close(fd)
    draw_on(terminal)
