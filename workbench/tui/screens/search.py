"""Search: the convergence search (optimizers x learning rates x schedules) as a heatmap.

The screen follows a search folder, whoever fills it: it polls the folder's trials files (a few
stat calls a second) and redraws when one changes, so a search run by the CLI (its trials on
Ray or not) fills in here as one started from the form does. The form starts (or resumes: the same
folder and settings) a grid in the background, in the app's one training slot (the worker
group ``train``, stopped by ``app.training_stop``, as the Train screen's are). Enter on a cell
opens its trial: the figures, and the per-epoch curves the engine keeps in the search folder."""

from __future__ import annotations

import math
import re
import threading
import time
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Button, DataTable, Header, Input, Label, Select, Static

from workbench.engine.errors import WorkbenchError
from workbench.engine.events import Trial, TrialFinished
from workbench.engine.network.models import MODELS
from workbench.engine.plans.search import (
    DEFAULT_LEARNING_RATES,
    DEFAULT_OPTIMIZERS,
    DEFAULT_SCHEDULES,
    SETTINGS,
    SearchSpace,
    SearchState,
    check_folder,
    check_search,
    read_search,
    search_folders,
    search_stamp,
    trial_history,
)
from workbench.engine.store import workspace
from workbench.engine.training.child import run_in_child
from workbench.render import plural
from workbench.tui.messages import SearchEnded, SearchTrialFinished, WorkFailed
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.choices import refill
from workbench.tui.widgets.curves import Curves
from workbench.tui.widgets.heatmap import Cell, Heatmap, cell_name
from workbench.tui.widgets.keybar import KeyBar
from workbench.tui.workers import background, running, say

HIDDEN = ("batch_size", "val_split", "seed")  # settings the form leaves at the CLI's defaults


def words(text: str) -> list[str]:
    """A form field's values: separated by spaces or commas, as typed after the CLI's flag."""
    return [w for w in re.split(r"[\s,]+", text.strip()) if w]


def percent(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.2f}%"


def trial_number(trial: Trial) -> str:
    """The trial as the CLI counts them ([1/N]): trial ids count from 0."""
    return str(int(trial.trial) + 1) if trial.trial.isdigit() else trial.trial


class SearchScreen(WorkbenchScreen):
    BINDINGS = [
        Binding("g", "start", "Start / resume", id="search.start"),
        Binding("x", "stop", "Stop", id="search.stop"),
        Binding("s", "regroup(False)", "Rows: by optimizer", id="search.by-optimizer"),
        Binding("s", "regroup(True)", "Rows: by schedule", id="search.by-schedule"),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    AUTO_FOCUS = "#heatmap"
    POLL_S = 1.0

    watched: reactive[Path | None] = reactive(None)  # the search folder shown
    by_schedule: reactive[bool] = reactive(True)  # rows: optimizer x schedule, or optimizer

    def __init__(self) -> None:
        super().__init__()
        self.state: SearchState | None = None
        self.stamp: tuple | None = None  # the folder's files when last read; None: read now
        self.folders: list[Path] = []
        self.running: tuple[Path, SearchSpace] | None = None  # the grid this screen runs
        self.opened: Cell | None = None  # the cell whose trial is shown under the heatmap
        self.shown: Trial | None = None  # that trial, once it has finished
        self.curves_shown = False  # and whether its per-epoch history was there to draw
        self.progress = ""  # the screen's own search, in words

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with VerticalScroll(id="search-form"):
                yield Label("Model")
                yield Select([(m, m) for m in MODELS], value=SETTINGS["model"],
                             allow_blank=False, id="search-model")
                yield Label("Optimizers")
                yield Input(" ".join(DEFAULT_OPTIMIZERS), id="search-optimizers")
                yield Label("Learning rates")
                yield Input(" ".join(f"{lr:g}" for lr in DEFAULT_LEARNING_RATES),
                            id="search-rates")
                yield Label("Schedules")
                yield Input(" ".join(DEFAULT_SCHEDULES), id="search-schedules")
                with Horizontal(id="search-epochs-row"):
                    yield Label("Epochs per trial")
                    yield Input(str(SETTINGS["epochs"]), id="search-epochs", type="integer")
                yield Label("Folder")
                yield Input(placeholder=f"runs/search-{SETTINGS['model']}", id="search-dir")
                with Horizontal(id="search-buttons"):
                    yield Button("Start", id="search-start", variant="success")
                    yield Button("Stop", id="search-stop", variant="error", disabled=True)
            with Vertical(id="search-main"):
                yield Select([], prompt="No search under runs/ yet", id="search-folder")
                yield Static("", id="search-status", markup=False)
                yield Heatmap(id="heatmap")
                with Horizontal(id="search-trial"):
                    yield Static("Enter on a cell opens its trial.", id="trial-figures",
                                 markup=False)
                    yield Curves("accuracy", "accuracy", id="trial-accuracy")
                    yield Curves("loss", "loss", id="trial-loss")
        yield KeyBar()

    def on_mount(self) -> None:
        self._list_folders()
        self.set_interval(self.POLL_S, self._tick)

    def on_screen_resume(self) -> None:
        self._refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed and action == "stop":  # listed (dimmed) while nothing runs: the keys help
            return self.searching or None  # shows every key of the screen
        if allowed and action == "regroup":  # one of its two bindings: the other grouping
            return parameters[0] != self.by_schedule
        return allowed

    # -- following a search folder ------------------------------------------------------------

    @property
    def searching(self) -> bool:
        return self.running is not None

    def _tick(self) -> None:
        if self.is_current:
            self._refresh()

    def _refresh(self) -> None:
        """List the searches; read the watched one again if its trials or grids changed (a
        stat of each file: cheap enough to do every tick, whoever writes them)."""
        self._list_folders()
        if self.watched is None:
            if self.folders:
                self._watch(self.folders[0], fill_form=True)
            else:
                self._status()
            return
        stamp = search_stamp(self.watched)
        if stamp != self.stamp:
            self.stamp = stamp
            grid = self.running[1] if self.running and self.running[0] == self.watched else None
            self.state = read_search(self.watched, grid)
            self._draw()
        elif self.shown is not None and not self.curves_shown:
            self._show_trial()  # its history is written just after its row

    def _list_folders(self) -> None:
        """The searches under runs/ in the folder Select (and the watched one, which may not
        have its search.json yet)."""
        folders = search_folders(workspace.runs_dir())
        if self.watched is not None and self.watched not in folders:
            folders.insert(0, self.watched)
        if folders == self.folders:
            return
        self.folders = folders
        select = self.query_one("#search-folder", Select)
        with self.prevent(Select.Changed):
            refill(select, [str(f) for f in folders])
            if self.watched is not None:
                select.value = str(self.watched)

    @on(Select.Changed, "#search-folder")
    def pick_folder(self, event: Select.Changed) -> None:
        if event.value != Select.BLANK and Path(str(event.value)) != self.watched:
            if not self.searching:
                self.progress = ""  # the last search's word is not about this one
            self._watch(Path(str(event.value)), fill_form=True)

    def _watch(self, folder: Path, fill_form: bool = False) -> None:
        self.watched, self.stamp, self.state = folder, None, None
        self.opened = self.shown = None
        self._show_trial()
        self._refresh()
        if fill_form and self.state is not None:
            self._fill_form(self.state)

    def watch_by_schedule(self) -> None:
        self._draw()
        self.refresh_bindings()

    def _draw(self) -> None:
        heatmap = self.query_one(Heatmap)
        state = self.state
        heatmap.show(state.space if state else SearchSpace((), (), ()),
                     state.trials if state else [], self.by_schedule)
        self._status()
        if (self.opened is not None and heatmap.has(self.opened)
                and heatmap.cells.get(self.opened) != self.shown):  # finished since, or bettered
            self._open(self.opened)

    def _status(self) -> None:
        status = self.query_one("#search-status", Static)
        if self.watched is None:
            status.update("No search under runs/ yet: start one with the form (g), or run "
                          "`workbench-engine search`; it fills in here as its trials finish.")
            return
        line = str(self.watched)
        state = self.state
        if state is not None:
            if state.settings:
                line += (f": {state.settings.get('model', '?')}, "
                         f"{plural(state.settings.get('epochs', '?'), 'epoch')} a trial")
            line += f" · {len(state.trials)} of {state.space.size} trials"
            if state.trials:
                best = state.trials[0]
                line += (f" · best {best.optimizer} lr {best.learning_rate:g} {best.schedule} "
                         f"{percent(best.best_val_accuracy)}")
        if self.stamp:
            latest = max(t for _, t, _ in self.stamp) / 1e9
            line += time.strftime(" · updated %H:%M:%S", time.localtime(latest))
        hint = "cell: best val acc @ the epoch it converged · Enter opens its trial"
        status.update(f"{line}\n{self.progress or hint}")

    # -- a trial -------------------------------------------------------------------------------

    @on(DataTable.CellSelected, "#heatmap")
    def open_cell(self, event: DataTable.CellSelected) -> None:
        cell = self.query_one(Heatmap).cell_at(event.coordinate)
        if cell is not None:
            self._open(cell)

    def _open(self, cell: Cell) -> None:
        self.opened = cell
        self.shown = self.query_one(Heatmap).cells.get(cell)
        self._show_trial()

    def _show_trial(self) -> None:
        """The opened trial's figures and per-epoch curves (or why there are none)."""
        figures = self.query_one("#trial-figures", Static)
        accuracy = self.query_one("#trial-accuracy", Curves)
        loss = self.query_one("#trial-loss", Curves)
        accuracy.series.clear()
        loss.series.clear()
        trial = self.shown
        history = trial_history(self.watched, trial) if trial and self.watched else []
        self.curves_shown = bool(history)
        if trial is None:
            figures.update(f"{cell_name(self.opened)}: not finished yet." if self.opened
                           else "Enter on a cell opens its trial.")
        else:
            lines = [f"{trial.optimizer} · lr {trial.learning_rate:g} · {trial.schedule}",
                     f"best val acc  {percent(trial.best_val_accuracy)}",
                     f"final val acc {percent(trial.final_val_accuracy)}",
                     f"converged at  epoch {trial.epochs_to_converge} of {trial.epochs}",
                     f"time          {trial.seconds:.1f} s (trial {trial_number(trial)})"]
            if history:
                lines.append("epoch  val acc  rate")
                lines += [f"{row['epoch']:>5}  {percent(row['val_accuracy']):>7}  "
                          f"{row['learning_rate'] or 0:.3g}" for row in history]
            else:
                lines.append("No per-epoch history for this trial (searched before the "
                             "engine kept them, or killed as it wrote it).")
            figures.update("\n".join(lines))
        for curves, key, name in ((accuracy, "accuracy", "train"),
                                  (accuracy, "val_accuracy", "validation"),
                                  (loss, "loss", "train"), (loss, "val_loss", "validation")):
            points = [(row["epoch"], row[key]) for row in history
                      if row[key] is not None and not math.isnan(row[key])]
            if points:
                curves.series[name] = ([e for e, _ in points], [y for _, y in points])
        accuracy.redraw()
        loss.redraw()

    def action_regroup(self, by_schedule: bool) -> None:
        self.by_schedule = by_schedule

    # -- running a grid -------------------------------------------------------------------------

    def _fill_form(self, state: SearchState) -> None:
        """The folder's search in the form, so Start resumes it."""
        settings, space = state.settings, state.space
        if settings.get("model") in MODELS:
            self.query_one("#search-model", Select).value = settings["model"]
        if isinstance(settings.get("epochs"), int):
            self.query_one("#search-epochs", Input).value = str(settings["epochs"])
        if space.size:
            self.query_one("#search-optimizers", Input).value = " ".join(space.optimizers)
            self.query_one("#search-rates", Input).value = " ".join(
                f"{lr:g}" for lr in space.learning_rates)
            self.query_one("#search-schedules", Input).value = " ".join(space.schedules)
        self.query_one("#search-dir", Input).value = str(state.folder)

    @on(Select.Changed, "#search-model")
    def name_default_folder(self, event: Select.Changed) -> None:
        self.query_one("#search-dir", Input).placeholder = f"runs/search-{event.value}"

    def _request(self) -> tuple[Path, SearchSpace, dict]:
        """The form's search, checked by the engine: its folder, grid and settings (a
        folder's own search.json gives the settings the form does not show)."""
        model = str(self.query_one("#search-model", Select).value)
        text = self.query_one("#search-epochs", Input).value.strip() or str(SETTINGS["epochs"])
        try:
            epochs = int(text)
            rates = [float(w) for w in words(self.query_one("#search-rates", Input).value)]
        except ValueError:
            raise WorkbenchError("the epochs and learning rates must be numbers (e.g. epochs 3, "
                                 "rates 1 0.1 0.01 0.001).") from None
        folder_text = self.query_one("#search-dir", Input).value.strip()
        folder = Path(folder_text) if folder_text else workspace.runs_dir() / f"search-{model}"
        saved = read_search(folder).settings
        settings = {"model": model, "epochs": epochs,
                    **{k: saved.get(k, SETTINGS[k]) for k in HIDDEN},
                    "data": self.app.data}  # the app's data: a folder of other data is refused
        space = SearchSpace(words(self.query_one("#search-optimizers", Input).value), rates,
                            words(self.query_one("#search-schedules", Input).value))
        space = check_search(space, model=model, epochs=epochs,
                             batch_size=settings["batch_size"], val_split=settings["val_split"],
                             seed=settings["seed"])
        check_folder(folder, settings)
        return folder, space, settings

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "search-start":
            self.action_start()
        elif event.button.id == "search-stop":
            self.action_stop()

    def action_start(self) -> None:
        if self.searching:
            self.notify("The search is already running; stop it first (x).", severity="warning")
            return
        if running(self.app, "train"):
            self.notify("A training is running (Train screen); let it finish or stop it first.",
                        severity="warning")
            return
        try:
            folder, space, settings = self._request()
        except (WorkbenchError, OSError) as error:
            self.notify(say(error), title="Cannot start", severity="error")
            return
        self.app.training_stop = threading.Event()
        self.running = (folder, space)
        self.progress = (f"Searching {space.size} trials of {settings['epochs']} epochs "
                         "(loading Keras) ...")
        self._buttons()
        self._watch(folder)
        self.search(folder, space, settings, self.app.training_stop)

    def action_stop(self) -> None:
        if self.searching:
            self.app.training_stop.set()
            self.progress = "Stopping after this batch ..."
            self._status()

    @background("train", "The search")
    def search(self, folder: Path, space: SearchSpace, settings: dict,
               stop: threading.Event) -> None:
        """The grid, in a child process at a lower priority (as a training is: the keys stay
        answered); each finished trial comes back as a message."""
        def on_event(event) -> None:
            if isinstance(event, TrialFinished):
                self.post_message(SearchTrialFinished(event.trial, event.done, event.total))

        stopped = run_in_child("search", folder, space, subscribers=[on_event], stop=stop,
                               kinds=(TrialFinished,), **settings)
        self.post_message(SearchEnded(folder, stopped=stopped))

    def on_search_trial_finished(self, message: SearchTrialFinished) -> None:
        trial = message.trial
        self.progress = (f"[{message.done}/{message.total}] {trial.optimizer} lr "
                         f"{trial.learning_rate:g} {trial.schedule}: "
                         f"{percent(trial.best_val_accuracy)} ({trial.seconds:.1f} s) ...")
        self.stamp = None  # read it now, not at the next tick
        self._refresh()

    def on_search_ended(self, message: SearchEnded) -> None:
        self.running = None
        self.progress = (f"Stopped; Start (g) with the same form resumes {message.folder}."
                         if message.stopped else f"The grid in {message.folder} is done.")
        self._buttons()
        self.stamp = None
        self._refresh()
        self.notify(self.progress, timeout=10)

    def on_work_failed(self, message: WorkFailed) -> None:
        if self.searching:
            self.running = None
            self.progress = f"The search failed: {message.text}"
            self._buttons()
            self._status()

    def _buttons(self) -> None:
        self.query_one("#search-start", Button).disabled = self.searching
        self.query_one("#search-stop", Button).disabled = not self.searching
        self.refresh_bindings()
