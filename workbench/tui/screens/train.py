"""Train: choose a recipe, start, stop, resume; live curves, a progress bar, samples/s, device.
With K folds it trains a K-fold CV instead: fold after fold, each with its curves, then the CV's
out-of-fold accuracy."""

from __future__ import annotations

import threading
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (Button, Checkbox, Footer, Header, Input, Label, ProgressBar, Select,
                             Static)

from workbench.engine.config import TrainConfig
from workbench.engine.cv import check_name, default_name
from workbench.engine.errors import WorkbenchError, user_message
from workbench.engine.events import (BatchEnded, EpochEnded, MemberStarted, TrainFinished,
                                     TrainStarted)
from workbench.engine.models import MODELS
from workbench.engine.recipes import OPTIMIZERS, PRESETS, SCHEDULES
from workbench.engine.runs import RUNS_DIR, list_runs
from workbench.tui.messages import CrossValidated, TrainingEvent, TrainingFailed
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.curves import Curves
from workbench.tui.workers import background


class TrainScreen(WorkbenchScreen):
    BINDINGS = [
        Binding("g", "start", "Start", id="train.start"),
        Binding("x", "stop", "Stop", id="train.stop"),
        Binding("u", "resume", "Resume last", id="train.resume"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.run_header = ""
        self.cv: str | None = None  # the name of the CV training; None for a single run
        self.member = ""  # which of its folds is training
        self.epoch_lines: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with VerticalScroll(id="form"):
                yield Label("Model")
                yield Select([(m, m) for m in MODELS], value="simple-cnn", allow_blank=False,
                             id="model")
                yield Label("Preset")
                yield Select([(p, p) for p in PRESETS], prompt="none (choose below)",
                             id="preset")
                yield Label("Optimizer")
                yield Select([(o, o) for o in OPTIMIZERS], value="adam", allow_blank=False,
                             id="optimizer")
                yield Label("Learning rate (blank: the optimizer's)")
                yield Input(placeholder="e.g. 0.001", id="lr")
                yield Label("Schedule")
                yield Select([(s, s) for s in SCHEDULES], value="constant", allow_blank=False,
                             id="schedule")
                yield Label("Epochs / CV folds (0: one run)")
                with Horizontal(id="epochs-folds"):
                    yield Input("5", id="epochs", type="integer")
                    yield Input("0", id="folds", type="integer")
                yield Input(placeholder="CV name (blank: automatic)", id="cv-name")
                yield Checkbox("Augmentation (model default)", value=True, id="augment")
                with Horizontal(id="buttons"):
                    yield Button("Start", id="start", variant="success")
                    yield Button("Stop", id="stop", variant="error", disabled=True)
            with Vertical(id="live"):
                yield Static("Ready. Press g (or Start) to train.", id="status", markup=False)
                yield ProgressBar(total=1, id="progress", show_eta=True)
                with Horizontal(id="plots"):
                    yield Curves("loss", "loss", id="loss")
                    yield Curves("accuracy", "accuracy", id="accuracy")
                yield Static("", id="epochs-log", markup=False)
        yield Footer()

    @property
    def training(self) -> bool:
        return any(w.group == "train" and w.is_running for w in self.app.workers)

    def _config(self) -> TrainConfig:
        def value(widget_id: str):
            select = self.query_one(f"#{widget_id}", Select)
            return None if select.is_blank() else select.value

        lr_text = self.query_one("#lr", Input).value.strip()
        epochs_text = self.query_one("#epochs", Input).value.strip() or "5"
        try:
            lr = float(lr_text) if lr_text else None
            epochs = int(epochs_text)
        except ValueError:
            raise WorkbenchError("the learning rate and epochs must be numbers.") from None
        augment = self.query_one("#augment", Checkbox).value
        model = value("model")
        return TrainConfig(
            model=model, epochs=epochs, optimizer=value("optimizer"), learning_rate=lr,
            schedule=value("schedule"), preset=value("preset"),
            augment=None if augment else False, data=self.app.data).resolved()

    def _cv(self, config: TrainConfig) -> tuple[int, str | None]:
        """The form's folds (0: a single run) and the CV's name (None for a single run)."""
        text = self.query_one("#folds", Input).value.strip() or "0"
        try:
            folds = int(text)
        except ValueError:
            raise WorkbenchError("the folds must be a number: 0 for one run, 2 or more for a "
                                 "CV.") from None
        if folds == 0:
            return 0, None
        if folds < 2:
            raise WorkbenchError(f"a CV needs at least 2 folds (got {folds}); 0 trains one run.")
        name = self.query_one("#cv-name", Input).value.strip()
        return folds, check_name(name) if name else default_name(config, folds)

    @on(Input.Changed, "#folds")
    def offer_cv_name(self, event: Input.Changed) -> None:
        """The CV name is asked for only when the form trains a CV."""
        self.query_one("#cv-name", Input).display = event.value.strip() not in ("", "0")

    def on_select_changed(self, event: Select.Changed) -> None:
        """Choosing a preset fills the form with its recipe, which stays editable."""
        if event.select.id != "preset" or event.select.is_blank():
            return
        preset = PRESETS[event.value]
        if preset.model:
            self.query_one("#model", Select).value = preset.model
        self.query_one("#optimizer", Select).value = preset.optimizer
        self.query_one("#schedule", Select).value = preset.schedule
        self.query_one("#lr", Input).value = f"{preset.learning_rate:g}"
        if preset.epochs:
            self.query_one("#epochs", Input).value = str(preset.epochs)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        elif event.button.id == "stop":
            self.action_stop()

    def action_start(self) -> None:
        if self.training:
            self.notify("A training is already running; stop it first.", severity="warning")
            return
        try:
            config = self._config()
            folds, name = self._cv(config)
        except (WorkbenchError, OSError) as error:
            self.notify(user_message(error), title="Cannot start", severity="error")
            return
        if folds:
            self._begin(f"Starting CV {name}: {folds} folds of {config.model} (loading Keras) ...")
            self.cv = name
        else:
            self._begin(f"Starting {config.model} (loading Keras) ...")
        self.train(config, None, folds, name)

    def action_resume(self) -> None:
        if self.training:
            self.notify("A training is already running.", severity="warning")
            return
        runs = [r for r in list_runs(RUNS_DIR) if r.status == "interrupted"]
        if not runs:
            self.notify("No interrupted run to resume.", severity="warning")
            return
        self._begin(f"Resuming {runs[-1].id} ...")
        self.train(None, runs[-1].path)

    def action_stop(self) -> None:
        if self.training:
            self.app.training_stop.set()
            self.query_one("#status", Static).update("Stopping after this batch ...")

    def _begin(self, status: str) -> None:
        self.app.training_stop = threading.Event()
        self.query_one("#status", Static).update(status)
        self.query_one("#start", Button).disabled = True
        self.query_one("#stop", Button).disabled = False
        for curves in self.query(Curves):
            curves.clear()
        self.query_one("#epochs-log", Static).update("")
        self.epoch_lines = []
        self.cv, self.member = None, ""

    @background("train", "Training")
    def train(self, config: TrainConfig | None, run: Path | None, folds: int = 0,
              name: str | None = None) -> None:
        """Runs the engine in this worker thread (a run, a resumed run, or CV ``name`` with
        ``folds`` folds); events come back as messages."""
        from workbench.engine.cv import train_cv
        from workbench.engine.training import resume, train

        def publish(event) -> None:
            self.post_message(TrainingEvent(event))

        try:
            if run is not None:
                resume(run, subscribers=[publish], stop=self.app.training_stop)
            elif folds:
                self.post_message(CrossValidated(train_cv(config, folds, name=name,
                                                     subscribers=[publish],
                                                     stop=self.app.training_stop)))
            else:
                train(config, subscribers=[publish], stop=self.app.training_stop)
        except (WorkbenchError, OSError) as error:
            self.post_message(TrainingFailed(user_message(error)))
        except Exception as error:  # the app keeps working whatever the engine raises
            self.post_message(TrainingFailed(f"{type(error).__name__}: {error}"))

    def on_training_event(self, message: TrainingEvent) -> None:
        event = message.event
        status = self.query_one("#status", Static)
        progress = self.query_one("#progress", ProgressBar)
        if isinstance(event, MemberStarted):  # a CV's next fold: its own curves and bar
            self.member = f"CV {self.cv}: {event.kind} {event.index} of {event.members}"
            for curves in self.query(Curves):
                curves.clear()
            progress.update(total=1, progress=0)
            self._log(f"-- {event.kind} {event.index} of {event.members} --")
            status.update(self.member)
        elif isinstance(event, TrainStarted):
            progress.update(total=event.epochs * event.steps_per_epoch,
                            progress=event.initial_epoch * event.steps_per_epoch)
            self.run_header = ((f"{self.member}\n" if self.cv else "")
                               + f"Run {event.run_id}: {event.model} on {event.device}\n"
                               f"{event.train_rows:,} train / {event.val_rows:,} validation rows")
            status.update(self.run_header)
        elif isinstance(event, BatchEnded):
            progress.update(progress=(event.epoch - 1) * event.steps + event.step)
            x = event.epoch - 1 + event.step / event.steps
            self.query_one("#loss", Curves).add("train (batches)", x, event.loss)
            status.update(f"{self.run_header}\nepoch {event.epoch}, step {event.step}/"
                          f"{event.steps}  loss {event.loss:.4f}  {event.samples_per_s:,.0f} "
                          f"samples/s  ETA {event.eta_s:.0f} s")
        elif isinstance(event, EpochEnded):
            self.query_one("#loss", Curves).add("validation", event.epoch, event.val_loss)
            accuracy = self.query_one("#accuracy", Curves)
            accuracy.add("train", event.epoch, event.accuracy)
            accuracy.add("validation", event.epoch, event.val_accuracy)
            val = "" if event.val_accuracy is None else f"  val acc {100 * event.val_accuracy:.2f}%"
            self._log(f"epoch {event.epoch}/{event.epochs}  loss {event.loss:.4f}{val}  "
                      f"{event.seconds:.1f} s" + ("  *" if event.best else ""))
        elif isinstance(event, TrainFinished) and self.cv:  # a fold: the CV goes on
            self._log(f"{event.status}: {event.epochs_done} epochs")
        elif isinstance(event, TrainFinished):
            self._end()
            best = ("" if event.best_val_accuracy is None
                    else f", best val acc {100 * event.best_val_accuracy:.2f}%")
            status.update(f"{self.run_header}\n{event.status}: {event.epochs_done} epochs{best}")
            self.notify(f"Run {event.run_id} {event.status}{best}.")

    def _log(self, line: str) -> None:
        self.epoch_lines.append(line)
        self.query_one("#epochs-log", Static).update("\n".join(self.epoch_lines[-8:]))

    def on_cross_validated(self, message: CrossValidated) -> None:
        """The CV is over: its OOF accuracy, or why not (stopped, or folds elsewhere)."""
        self._end()
        result, summary = message.result, message.result.summary
        if summary is not None:
            low, high = summary.interval
            text = (f"CV {result.name} finished: out-of-fold accuracy {100 * summary.accuracy:.2f}%"
                    f" (95% CI {100 * low:.2f}-{100 * high:.2f}%) on {summary.rows:,} rows; "
                    f"{summary.suspects} suspects to review (v)")
        elif result.status == "interrupted":
            text = f"CV {result.name} interrupted; start it again (same form) to continue it."
        else:
            text = (f"CV {result.name}: folds still training elsewhere; the last to finish "
                    "gathers it.")
        self.query_one("#status", Static).update(text)
        self.notify(text, timeout=10)

    def on_training_failed(self, message: TrainingFailed) -> None:
        self._end()
        self.query_one("#status", Static).update(f"Training failed: {message.error}")
        self.notify(message.error, title="Training failed", severity="error", timeout=15)

    def _end(self) -> None:
        self.query_one("#start", Button).disabled = False
        self.query_one("#stop", Button).disabled = True
