"""Train: a recipe with every knob the CLI has, started, stopped or resumed; one run, a k-fold CV
or an ensemble; live curves, a progress bar and the ETA.

The screen watches a run through its event log (``events.jsonl``, see
``workbench.engine.runs.eventlog``): the runs it trains itself, and any run another process trains
(``workbench-engine train`` in another terminal, over SSH, a CV's folds, a search) when it
trains nothing itself. One way to watch a run, whoever started it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Header, Input, Label, ProgressBar, Select, Static
from textual.worker import get_current_worker

from workbench.engine import recipes
from workbench.engine.errors import WorkbenchError
from workbench.engine.events import (
    BatchEnded,
    EpochEnded,
    Estimated,
    Event,
    MemberEvent,
    MemberStarted,
    Predicting,
    TrainFinished,
    TrainStarted,
)
from workbench.engine.network.backend import PRECISIONS
from workbench.engine.network.models import MODELS
from workbench.engine.plans.cv import CVResult, check_name, default_name as cv_name
from workbench.engine.plans.ensemble import EnsembleResult, default_name as ensemble_name
from workbench.engine.plans.scale import Scale, check_scale
from workbench.engine.runs import listing, run as runs
from workbench.engine.runs.eventlog import EventFollower, live_runs
from workbench.engine.store import files, workspace
from workbench.engine.training.config import Recipe, TrainConfig
from workbench.engine.training.estimate import recall
from workbench.render import plural
from workbench.tui.messages import TrainingEnded, TrainingEvent, TrainingFailed, WatchRun
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.curves import Curves
from workbench.tui.widgets.keybar import KeyBar
from workbench.tui.workers import background, running, say

if TYPE_CHECKING:  # training imports Keras, which the app loads only when it trains
    from workbench.engine.training.fit import TrainResult

PLANS = [("one run", "run"), ("k-fold CV", "cv"), ("ensemble", "ensemble")]
FOLLOW_S = 0.25  # how often the watched run's event log is read
DISCOVER_S = 1.0  # how often, when idle, the runs folder is searched for a live run


def field(label: str, widget) -> Vertical:
    """A labelled form field."""
    return Vertical(Label(label), widget, classes="field")


def choice(widget_id: str, options: Iterable[str], value: object) -> Select:
    return Select([(o, o) for o in options], value=str(value), allow_blank=False, id=widget_id,
                  compact=True)


def entry(widget_id: str, value: str = "", placeholder: str = "",
          kind: Literal["integer", "number", "text"] = "text") -> Input:
    return Input(value, placeholder=placeholder, id=widget_id, type=kind, compact=True)


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class TrainScreen(WorkbenchScreen):
    BINDINGS = [
        Binding("g", "start", "Start", id="train.start"),
        Binding("x", "stop", "Stop", id="train.stop"),
        Binding("u", "resume", "Resume last", id="train.resume"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.follower: EventFollower | None = None  # the watched run's event log
        self.own = False  # the watched run is this screen's training (not another process's)
        self.member = ""  # an ensemble's or CV's member being trained, e.g. "fold 2 of 5"
        self.header = ""
        self.epochs = 0
        self.last_batch: tuple[int, int, float] | None = None  # epoch, step, running mean of loss
        self.epoch_lines: list[str] = []
        self.members: dict[int, str] = {}  # members training at once: a line each, by index
        self.log_read = False  # the watched run's log has been read to its end
        self.after_log: Callable[[], None] | None = None  # the summary, once it has

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with VerticalScroll(id="form"):
                with Horizontal(id="buttons"):
                    yield Button("Start (g)", id="start", variant="success")
                    yield Button("Stop (x)", id="stop", variant="error", disabled=True)
                yield field("Preset", Select([(p, p) for p in recipes.PRESETS], id="preset",
                                             prompt="none (choose below)", compact=True))
                yield field("Model", choice("model", MODELS, recipes.DEFAULTS["model"]))
                with Horizontal(classes="pair"):
                    yield field("Optimizer", choice("optimizer", recipes.OPTIMIZERS,
                                                    recipes.DEFAULTS["optimizer"]))
                    yield field("Learning rate", entry("lr", placeholder="optimizer's"))
                yield field("Schedule", choice("schedule", recipes.SCHEDULES,
                                               recipes.DEFAULTS["schedule"]))
                with Horizontal(classes="pair"):
                    yield field("Epochs", entry("epochs", str(recipes.DEFAULTS["epochs"]),
                                                kind="integer"))
                    yield field("Batch size", entry("batch-size",
                                                    placeholder=str(recipes.DEFAULTS["batch_size"]),
                                                    kind="integer"))
                with Horizontal(classes="pair"):
                    yield field("Validation split",
                                entry("val-split", str(recipes.DEFAULT_VAL_SPLIT), kind="number"))
                    yield field("Seed", entry("seed", str(recipes.DEFAULT_SEED), kind="integer"))
                with Horizontal(classes="pair"):
                    yield field("Early stop", entry("early-stopping", placeholder="off",
                                                    kind="integer"))
                    yield field("Label smoothing", entry("label-smoothing", placeholder="0",
                                                         kind="number"))
                yield field("Precision", choice("precision", PRECISIONS, "auto"))
                yield Checkbox("Augmentation (model default)", True, id="augment", compact=True)
                yield Checkbox("CPU only", False, id="cpu", compact=True)
                with Horizontal(classes="pair"):
                    yield field("Train", Select(PLANS, value="run", allow_blank=False,
                                                id="plan", compact=True))
                    yield field("Folds / members", entry("members", str(recipes.DEFAULT_FOLDS),
                                                         kind="integer"))
                with Horizontal(classes="pair", id="scale"):
                    yield field("Parallel", entry("parallel", placeholder="1",
                                                  kind="integer"))
                    yield field("Cluster", entry("cluster", placeholder="this machine"))
                yield entry("plan-name", placeholder="name (blank: automatic)")
                yield Static("", id="estimate", markup=False)
            with Vertical(id="live"):
                yield Static("Ready. Press g (or Start) to train.", id="status", markup=False)
                yield Static("", id="member-lines", markup=False)
                yield ProgressBar(total=1, id="progress", show_eta=False)
                with Horizontal(id="plots"):
                    yield Curves("loss", "loss", ("train (batches)", "validation"), id="loss")
                    yield Curves("accuracy", "accuracy", ("train", "validation"),
                                 id="accuracy")
                yield Static("", id="epochs-log", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self._show_plan("run")
        self.query_one("#estimate", Static).display = False
        self.watch(self.app, "competition", lambda _: self.show_estimate())
        self.query_one("#member-lines", Static).display = False
        self.set_interval(DISCOVER_S, self.discover)

    # The form ------------------------------------------------------------------------------

    @property
    def training(self) -> bool:
        """This screen's training (a run, a CV or an ensemble) is running; the Search screen's
        worker ("search") shares its group: one training at a time."""
        return running(self.app, "train", "train")

    def say_if_busy(self) -> bool:
        """Something trains already: say what, and where to stop it."""
        if self.training:
            self.notify("A training is already running; stop it first (x).", severity="warning")
        elif running(self.app, "train", "search"):
            self.notify("The search is running: stop it on the Search screen (o, then x) first.",
                        severity="warning")
        else:
            return False
        return True

    def _value(self, widget_id: str):
        select = self.query_one(f"#{widget_id}", Select)
        return None if select.is_blank() else select.value

    def _number(self, widget_id: str, name: str, kind: type, blank=None):
        """The number typed in ``widget_id`` (``blank`` if empty); the engine checks ranges."""
        text = self.query_one(f"#{widget_id}", Input).value.strip()
        if not text:
            return blank
        try:
            return kind(text)
        except ValueError:
            raise WorkbenchError(f"{name} must be a number (got {text[:20]!r}); fix the "
                                 f"{name} field.") from None

    def _config(self) -> Recipe:
        augment = self.query_one("#augment", Checkbox).value
        return TrainConfig(
            model=self._value("model"), epochs=self._number("epochs", "epochs", int),
            batch_size=self._number("batch-size", "batch size", int),
            optimizer=self._value("optimizer"),
            learning_rate=self._number("lr", "learning rate", float),
            schedule=self._value("schedule"), preset=self._value("preset"),
            val_split=self._number("val-split", "validation split", float,
                                   recipes.DEFAULT_VAL_SPLIT),
            seed=self._number("seed", "seed", int, recipes.DEFAULT_SEED),
            early_stopping=self._number("early-stopping", "early stop", int),
            label_smoothing=self._number("label-smoothing", "label smoothing", float),
            precision=self._value("precision"), cpu=self.query_one("#cpu", Checkbox).value,
            augment=None if augment else False, data=self.app.data).resolved()

    def _plan(self, config: TrainConfig) -> tuple[str, int, str | None]:
        """What to train: ("run", 0, None), ("cv", folds, name) or ("ensemble", members, name)."""
        plan = self._value("plan")
        if plan == "run":
            return plan, 0, None
        what = "folds" if plan == "cv" else "members"
        count = self._number("members", what, int)
        if count is None or count < 2:
            raise WorkbenchError(f"a{' CV' if plan == 'cv' else 'n ensemble'} needs at least 2 "
                                 f"{what} (got {count}); fix the Folds / members field.")
        name = self.query_one("#plan-name", Input).value.strip()
        if plan == "cv":
            return plan, count, check_name(name) if name else cv_name(config, count)
        return plan, count, (files.check_name(name, "an ensemble") if name
                             else ensemble_name(config, count))

    @on(Select.Changed, "#plan")
    def plan_changed(self, event: Select.Changed) -> None:
        self._show_plan(event.value)

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def form_changed(self) -> None:
        self.show_estimate()

    def show_estimate(self) -> None:
        """What the form's training would take, as the same recipe's last training on this
        machine ran (no Keras here); nothing until one has, or while the form is incomplete."""
        widget = self.query_one("#estimate", Static)
        competition = self.app.competition
        cost = None
        if competition is not None and competition.n_train:
            try:
                config = self._config()
                plan, count, _ = self._plan(config)
            except (WorkbenchError, OSError):
                pass
            else:
                held = 1 / count if plan == "cv" else config.val_split
                cost = recall(config, round(competition.n_train * (1 - held)), max(count, 1))
        widget.display = cost is not None
        widget.update(f"Estimate: {cost.sentence()}" if cost is not None else "")

    def _show_plan(self, plan: object) -> None:
        """Folds, members and a name are asked for only when the form trains several models."""
        several = plan in ("cv", "ensemble")
        self.query_one("#plan-name", Input).display = several
        members = self.query_one("#members", Input).parent
        if members is not None:
            members.display = several
        self.query_one("#scale").display = several

    def _scale(self, members: int) -> Scale:
        """How many members train at once, and where; the counts checked here, a cluster's
        address by the engine (it connects to it)."""
        cluster = self.query_one("#cluster", Input).value.strip() or None
        scale = Scale(self._number("parallel", "parallel", int), None, cluster)
        return scale if cluster else check_scale(scale, members)

    @on(Select.Changed, "#preset")
    def preset_chosen(self, event: Select.Changed) -> None:
        """Choosing a preset fills the form with its recipe, which stays editable."""
        if event.select.is_blank():
            return
        preset = recipes.PRESETS[str(event.value)]
        if preset.model:
            self.query_one("#model", Select).value = preset.model
        self.query_one("#optimizer", Select).value = preset.optimizer
        self.query_one("#schedule", Select).value = preset.schedule
        self.query_one("#lr", Input).value = f"{preset.learning_rate:g}"
        if preset.epochs:
            self.query_one("#epochs", Input).value = str(preset.epochs)
        if preset.batch_size:
            self.query_one("#batch-size", Input).value = str(preset.batch_size)
        if preset.label_smoothing is not None:
            self.query_one("#label-smoothing", Input).value = f"{preset.label_smoothing:g}"

    # Start, stop, resume -------------------------------------------------------------------

    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        if self.say_if_busy():
            return
        try:
            config = self._config()
            plan, count, name = self._plan(config)
            scale = self._scale(count) if plan != "run" else None
        except (WorkbenchError, OSError) as error:
            self.notify(say(error), title="Cannot start", severity="error")
            return
        what = {"run": config.model, "cv": f"CV {name}: {count} folds of {config.model}",
                "ensemble": f"ensemble {name}: {count} {config.model} members"}[plan]
        at_once = "" if scale is None or scale.in_process else (
            f", {scale.parallel or 'all'} at once on Ray"
            + (f" at {scale.cluster}" if scale.cluster else ""))
        self._begin(f"Starting {what}{at_once} (loading Keras) ...")
        self.train(config, None, plan, count, name, scale)

    @on(Button.Pressed, "#stop")
    def action_stop(self) -> None:
        if not self.training and self.follower is not None and not self.own:
            self.notify("This run is trained by another process: stop it there (Ctrl-C in its "
                        "terminal); the app only watches it.", severity="warning")
        if self.training:
            self.app.training_stop.set()
            self.query_one("#status", Static).update("Stopping after this batch ...")

    def action_resume(self) -> None:
        if self.say_if_busy():
            return
        interrupted = [run for run in listing.list_runs(workspace.runs_dir())
                       if run.status == "interrupted"]
        if not interrupted:
            self.notify("No interrupted run to resume.", severity="warning")
            return
        self._begin(f"Resuming {interrupted[-1].id} ...")
        self.train(None, interrupted[-1].path)

    def _begin(self, status: str) -> None:
        self.app.training_stop = threading.Event()
        self.follower, self.own, self.member = None, True, ""
        self.members = {}
        self.query_one("#member-lines", Static).display = False
        self._clear()
        self.query_one("#status", Static).update(status)
        self.query_one("#start", Button).disabled = True
        self.query_one("#stop", Button).disabled = False

    def _clear(self) -> None:
        for curves in self.query(Curves):
            curves.clear()
        self.query_one("#progress", ProgressBar).update(total=1, progress=0)
        self.epoch_lines = []
        self.query_one("#epochs-log", Static).update("")

    @background("train", "Training")
    def train(self, config: TrainConfig | None, run: Path | None, plan: str = "run",
              count: int = 0, name: str | None = None, scale: Scale | None = None) -> None:
        """Runs the engine in a child process at a lower priority (engine.child), watched from
        this worker thread: a run, a resumed run, a CV or an ensemble. The app's keys are then
        answered at once while Keras keeps every core busy. Progress is read from each run's
        event log; only which run to watch, and which member of a CV or ensemble it is, come
        straight from the engine."""
        from workbench.engine.training.child import run_in_child

        def publish(event: Event) -> None:
            if isinstance(event, TrainStarted):
                self.post_message(WatchRun(workspace.runs_dir() / event.run_id))
            elif isinstance(event, (MemberStarted, MemberEvent, Estimated)):
                self.post_message(TrainingEvent(event))

        # From the pipe, which run to watch and what spans runs; the rest from the run's log.
        watch: dict[str, Any] = {"subscribers": [publish], "stop": self.app.training_stop,
                                 "kinds": (TrainStarted, MemberStarted, MemberEvent, Estimated)}
        folders: dict[str, Any] = {"runs_dir": workspace.runs_dir()}
        try:
            if run is not None:
                result = run_in_child("resume", run, **watch)
            elif plan in ("cv", "ensemble"):
                result = run_in_child(plan, config, count, name=name, scale=scale, **folders,
                                      **watch)
            else:
                result = run_in_child("train", config, **folders, **watch)
        except (WorkbenchError, OSError) as error:
            self.post_message(TrainingFailed(say(error)))
        except Exception as error:  # the app keeps working whatever the engine raises
            self.post_message(TrainingFailed(f"{type(error).__name__}: {error}"))
        else:
            self.post_message(TrainingEnded(result))

    # Watching a run ------------------------------------------------------------------------

    def on_watch_run(self, message: WatchRun) -> None:
        self.watch_run(message.run, own=True)

    def watch_run(self, run: Path, own: bool) -> None:
        """Follow ``run``'s event log from its start: the curves hold every epoch, those of
        earlier sessions of a resumed run included (from history.csv where the log lacks them)."""
        self.follower, self.own, self.log_read = EventFollower(run), own, False
        self.last_batch = None
        for curves in self.query(Curves):
            curves.clear()
        for row in runs.Run(run).history:
            self._epoch_points(row["epoch"], row.get("loss"), row.get("accuracy"),
                               row.get("val_loss"), row.get("val_accuracy"))
        self.follow(self.follower)

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def follow(self, follower: EventFollower) -> None:
        """Read the watched run's new events off the UI thread (a long log is megabytes) and
        hand them to it, until its process has let go of it; watching another run cancels this
        one (exclusive)."""
        worker = get_current_worker()
        while not worker.is_cancelled:
            training = runs.Run(follower.run).running  # before the read: then it reads the end
            events = follower.poll()
            try:
                if events:
                    self.app.call_from_thread(self._show_followed, follower, events)
                if not training and not worker.is_cancelled:
                    self.app.call_from_thread(self._log_read, follower)
            except RuntimeError:  # the app is closing
                return
            if not training:
                return
            time.sleep(FOLLOW_S)

    def _log_read(self, follower: EventFollower) -> None:
        """``follower``'s log is read to its end: if it is the watched run's, what waited for
        that is shown now."""
        if follower is self.follower:
            self.log_read = True
            then, self.after_log = self.after_log, None
            if then is not None:
                then()

    def _after_log(self, then: Callable[[], None]) -> None:
        """``then`` once the watched run's log has been read to its end (its last events are
        drawn before the summary, which they would otherwise overwrite)."""
        if self.follower is None or self.log_read:
            then()
        else:
            self.after_log = then

    def _show_followed(self, follower: EventFollower, events: list[Event]) -> None:
        if follower is self.follower:  # not a run watched before
            for event in events:
                self.show(event)

    def discover(self) -> None:
        """When the screen trains nothing, watch the newest run another process trains."""
        if self.training or not self.screen.is_current:
            return
        if self.follower is not None and runs.Run(self.follower.run).running:
            return
        live = live_runs(workspace.runs_dir())
        if live and (self.follower is None or live[0] != self.follower.run
                     or not running(self.app, "follow")):  # the same run, trained again
            self.member = self._member_of(live[0])
            self.epoch_lines = []
            self.query_one("#epochs-log", Static).update("")
            self.watch_run(live[0], own=False)

    @staticmethod
    def _member_of(run: Path) -> str:
        config = runs.Run(run).config
        fold, folds = config.get("fold"), config.get("folds")
        return f"fold {fold + 1} of {folds}" if isinstance(fold, int) and folds else ""

    def on_training_event(self, message: TrainingEvent) -> None:
        self.show(message.event)

    def show(self, event: Event) -> None:
        """Draw one event of the watched run (or, for a member, of the plan around it)."""
        status = self.query_one("#status", Static)
        progress = self.query_one("#progress", ProgressBar)
        if isinstance(event, MemberEvent):
            self._member_line(event)
        elif isinstance(event, Estimated):
            self._log(f"estimate: {event.sentence()}")
        elif isinstance(event, MemberStarted):
            progress.update(total=1, progress=0)
            self.member = f"{event.kind} {event.index} of {event.members}"
            self._log(f"-- {self.member} --")
            status.update(self.member)
        elif isinstance(event, TrainStarted):
            self.epochs = event.epochs
            for curves in self.query(Curves):
                curves.x_max = event.epochs
            progress.update(total=event.epochs * event.steps_per_epoch,
                            progress=event.initial_epoch * event.steps_per_epoch)
            elsewhere = "" if self.own else " (started outside the app)"
            self.header = ((f"{self.member}: " if self.member else "")
                           + f"run {event.run_id}{elsewhere}\n{event.model} on {event.device}; "
                           + (f"{event.data}: " if event.data else "")
                           + f"{event.train_rows:,} train / {event.val_rows:,} validation rows")
            if event.initial_epoch:
                self._log(f"resumed after epoch {event.initial_epoch}")
            status.update(self.header)
        elif isinstance(event, BatchEnded):
            progress.update(progress=(event.epoch - 1) * event.steps + event.step)
            self._batch_loss(event)
            status.update(f"{self.header}\nepoch {event.epoch}/{self.epochs} · step {event.step}"
                          f"/{event.steps} · ETA {clock(event.eta_s)} · loss {event.loss:.4f} · "
                          f"acc {100 * event.accuracy:.2f}% · {event.samples_per_s:,.0f}/s")
        elif isinstance(event, EpochEnded):
            self._epoch_points(event.epoch, event.loss, event.accuracy, event.val_loss,
                               event.val_accuracy)
            val = "" if event.val_accuracy is None else f"  val acc {100 * event.val_accuracy:.2f}%"
            self._log(f"epoch {event.epoch}/{event.epochs}  loss {event.loss:.4f}{val}  "
                      f"{event.seconds:.1f} s" + ("  *" if event.best else ""))
        elif isinstance(event, Predicting):
            progress.update(total=None)  # no steps to count: the bar pulses until it is done
            rows = " and ".join(f"{n:,} {what}" for n, what in
                                ((event.val_rows, "validation"), (event.test_rows, "test")) if n)
            status.update(f"{self.header}\nTraining done; predicting {rows} rows ...")
        elif isinstance(event, TrainFinished):
            if progress.total is None:
                progress.update(total=1, progress=1)
            best = ("" if event.best_val_accuracy is None
                    else f", best val acc {100 * event.best_val_accuracy:.2f}%")
            done = plural(event.epochs_done, "epoch")
            self._log(f"{event.status}: {done}{best}")
            resume = "; u resumes the last interrupted run" if event.status == "interrupted" else ""
            status.update(f"{self.header}\n{event.status}: {done}{best}"
                          + (f" ({event.message}{resume})" if event.message else ""))

    def _member_line(self, wrapped: MemberEvent) -> None:
        """Members training at once: a line each; the curves follow one of them (the first
        to start, then the next that starts once it is done)."""
        event, who = wrapped.event, f"{wrapped.kind} {wrapped.index}"
        if isinstance(event, TrainStarted):
            line = f"{who}: run {event.run_id}, starting"
            if self.follower is None or not runs.Run(self.follower.run).running:
                self.member = f"{who} of {wrapped.members}"
                self.watch_run(workspace.runs_dir() / event.run_id, own=True)
        elif isinstance(event, BatchEnded):
            line = (f"{who}: epoch {event.epoch} · step {event.step}/{event.steps} · "
                    f"acc {100 * event.accuracy:.2f}% · ETA {clock(event.eta_s)}")
        elif isinstance(event, EpochEnded):
            val = ("" if event.val_accuracy is None
                   else f" · val acc {100 * event.val_accuracy:.2f}%")
            line = f"{who}: epoch {event.epoch}/{event.epochs} done{val}"
        elif isinstance(event, TrainFinished):
            best = ("" if event.best_val_accuracy is None
                    else f", best val acc {100 * event.best_val_accuracy:.2f}%")
            line = f"{who}: {event.status} after {plural(event.epochs_done, 'epoch')}{best}"
        else:
            line = f"{who}: predicting" if isinstance(event, Predicting) else self.members.get(
                wrapped.index, who)
        self.members[wrapped.index] = line
        widget = self.query_one("#member-lines", Static)
        widget.display = True
        widget.update("\n".join(self.members[index] for index in sorted(self.members)))

    def _batch_loss(self, event: BatchEnded) -> None:
        """Keras reports the running mean of the epoch's loss; the curve plots the mean over
        the batches since the last event, so it does not drop at each epoch's start."""
        mean = event.loss
        last = self.last_batch
        if last is not None and last[0] == event.epoch and last[1] < event.step:
            _, step, before = last
            mean = (event.step * event.loss - step * before) / (event.step - step)
        self.last_batch = (event.epoch, event.step, event.loss)
        self.query_one("#loss", Curves).add("train (batches)",
                                            event.epoch - 1 + event.step / event.steps, mean)

    def _epoch_points(self, epoch, loss, accuracy, val_loss, val_accuracy) -> None:
        self.query_one("#loss", Curves).add("validation", epoch, val_loss)
        curves = self.query_one("#accuracy", Curves)
        curves.add("train", epoch, accuracy)
        curves.add("validation", epoch, val_accuracy)

    def _log(self, line: str) -> None:
        self.epoch_lines.append(line)
        self.query_one("#epochs-log", Static).update("\n".join(self.epoch_lines[-8:]))

    # The end -------------------------------------------------------------------------------

    def on_training_ended(self, message: TrainingEnded) -> None:
        self.show_estimate()  # a training here has just recorded its steps' time
        self._end()
        self._after_log(lambda: self._show_result(message.result))

    def _show_result(self, result: TrainResult | CVResult | EnsembleResult) -> None:
        if isinstance(result, CVResult):
            text = self._cv_text(result)
        elif isinstance(result, EnsembleResult):
            text = self._ensemble_text(result)
        else:
            best = ("" if result.best_val_accuracy is None
                    else f", best val acc {100 * result.best_val_accuracy:.2f}%")
            text = (f"Run {result.run.name} {result.status}: "
                    f"{plural(result.epochs_done, 'epoch')}{best}")
            if result.status == "interrupted":
                text += "; u resumes it"
        self.query_one("#status", Static).update(f"{self.header}\n{text}")
        self.notify(text, timeout=10)

    @staticmethod
    def _cv_text(result: CVResult) -> str:
        summary = result.summary
        if summary is not None:
            low, high = summary.interval
            return (f"CV {result.name} finished: out-of-fold accuracy "
                    f"{100 * summary.accuracy:.2f}% (95% CI {100 * low:.2f}-{100 * high:.2f}%) "
                    f"on {summary.rows:,} rows; {summary.suspects} suspects to review (v)")
        if result.status == "interrupted":
            return f"CV {result.name} interrupted; start it again (same form) to continue it."
        return f"CV {result.name}: folds still training elsewhere; the last to finish gathers it."

    @staticmethod
    def _ensemble_text(result: EnsembleResult) -> str:
        if result.status != "finished":
            return (f"Ensemble {result.name} interrupted after {len(result.members) - 1} "
                    "members; start it again (same form) to continue it.")
        held_out = ("" if result.last_epoch_accuracy is None else
                    f"; their last epochs, averaged, score {100 * result.last_epoch_accuracy:.2f}%"
                    " on the rows they all held out")
        return (f"Ensemble {result.name} finished: {len(result.members)} members{held_out}; "
                f"submission {result.submission}")

    def on_training_failed(self, message: TrainingFailed) -> None:
        self._end()
        self.notify(message.error, title="Training failed", severity="error", timeout=15)
        self._after_log(lambda: self.query_one("#status", Static).update(
            f"Training failed: {message.error}"))

    def _end(self) -> None:
        self.own = False
        self.query_one("#start", Button).disabled = False
        self.query_one("#stop", Button).disabled = True
