"""Training: Keras ``fit`` with callbacks that write the run folder and publish events.

Importing this module imports Keras. Each epoch ends by writing history.csv, last.keras (and
best.keras when validation accuracy improves, or every epoch when no rows are held out), then
state.json, each atomically: state.json is the commit point that ``--resume`` continues from. A
stop request (Ctrl-C, the app's stop key) ends training after the current batch; the last
finished epoch's checkpoint is kept.
"""

from __future__ import annotations

import filecmp
import importlib.util
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench import __version__
from workbench.engine.data.competition import Competition
from workbench.engine.errors import WorkbenchError
from workbench.engine.events import (
    BatchEnded,
    EpochEnded,
    Predicting,
    Subscriber,
    TrainFinished,
    TrainStarted,
    publisher,
)
from workbench.engine.network import backend
from workbench.engine.network.inference import load_checkpoint, predict_probabilities
from workbench.engine.network.models import build_model, model_spec
from workbench.engine.results.prediction import write_npz
from workbench.engine.results.submission import write_submission
from workbench.engine.runs import run as runs
from workbench.engine.runs.eventlog import EventLog
from workbench.engine.store import atomic
from workbench.engine.store.atomic import naming
from workbench.engine.training.config import Recipe, TrainConfig
from workbench.engine.training.estimate import estimate, record
from workbench.engine.training.inputs import TrainInputs, read_inputs
from workbench.engine.training.resume import plan_resume

keras: Any = backend.keras()
from workbench.engine.network.callbacks import ResumableEarlyStopping  # noqa: E402
from workbench.engine.network.schedules import compile_model, plateau_callback  # noqa: E402

BATCH_EVENT_INTERVAL_S = 0.1


@dataclass(frozen=True)
class TrainResult:
    run: Path
    status: str
    epochs_done: int
    best_val_accuracy: float | None


class _Interrupted(Exception):
    """Raised inside fit when a stop was requested."""


def train(
    config: TrainConfig,
    *,
    runs_dir: Path = runs.RUNS_DIR,
    subscribers: Iterable[Subscriber] = (),
    stop: threading.Event | None = None,
    tensorboard: bool = False,
) -> TrainResult:
    """Train a new run as ``config`` says, in a new folder; ``stop`` ends it after the current
    batch; ``tensorboard`` also writes TensorBoard's event files (RUN/tensorboard). A recipe
    the data cannot train is refused before the folder is made."""
    config = config.resolved()
    if tensorboard:
        check_tensorboard()
    inputs = read_inputs(config)
    config.check_rows(inputs.competition.train_labels)
    inputs.check_rows_left(config)
    subscribers = tuple(subscribers)
    cost = estimate(config, inputs.count(config))
    if cost is not None:
        publisher(subscribers)(cost)
    with runs.Run.create(_record(config), runs_dir) as run:
        return fit(run, subscribers=subscribers, stop=stop, inputs=inputs, recipe=config,
                   tensorboard=tensorboard)


def resume(
    run: Path,
    *,
    epochs: int | None = None,
    subscribers: Iterable[Subscriber] = (),
    stop: threading.Event | None = None,
    tensorboard: bool = False,
) -> TrainResult:
    """Continue the run in folder ``run`` (see ``fit``). A damaged run, or one that another
    process trains, is refused before anything is written."""
    runs.Run.open(run)
    if tensorboard:
        check_tensorboard()
    with runs.Run.claim(run) as claimed:
        return fit(claimed, epochs=epochs, subscribers=subscribers, stop=stop,
                   tensorboard=tensorboard)


def check_tensorboard() -> None:
    """TensorBoard's package writes its event files: refuse at once without it, not after an
    epoch of training."""
    if importlib.util.find_spec("tensorboard") is None:
        raise WorkbenchError("TensorBoard's event files need the tensorboard package; install "
                             "it with: pip install 'digit-workbench[tensorboard]'.")


def fit(
    run: runs.Run,
    *,
    epochs: int | None = None,
    subscribers: Iterable[Subscriber] = (),
    stop: threading.Event | None = None,
    inputs: TrainInputs | None = None,
    recipe: Recipe | None = None,
    tensorboard: bool = False,
) -> TrainResult:
    """Train ``run``, which this process has claimed (``Run.create``, ``Run.claim``), as its
    config.json says: from the start, or on from its last checkpoint, up to ``epochs`` in all
    (default: its own), on ``inputs`` (default: read as its config says). ``recipe``: the one a
    run just made was made with (``train``), used as it is rather than read back. A finished
    run, or one that cannot go on, is refused before anything is written (WorkbenchError). The
    caller keeps the claim and releases it."""
    config, resumed = ((recipe, False) if recipe is not None else
                       plan_resume(run, epochs, suspects=inputs is None))  # inputs: read
    publish = publisher([EventLog(run.path), *subscribers])  # any process can watch it live
    device = backend.device(config.cpu)
    policy = backend.precision_policy(config.precision, device)
    backend.set_precision(policy)
    run.write_config(_record(config, device=str(device), policy=policy))
    run.set_status("running")
    status, message = "finished", ""
    try:
        _fit(run, config, resumed, publish, stop, inputs, device, policy, tensorboard)
    except (_Interrupted, KeyboardInterrupt):
        status, message = "interrupted", "stopped by request"  # each face says how to resume
    except Exception as error:
        run.set_status("failed", f"{type(error).__name__}: {error}")
        publish(TrainFinished(run.id, "failed", run.epochs_done, run.best_val_accuracy, 0.0,
                              str(error)))
        raise
    run.set_status(status, message)
    done, best = run.epochs_done, run.best_val_accuracy
    publish(TrainFinished(run.id, status, done, best, run.seconds, message))
    return TrainResult(run.path, status, done, best)


def _record(config: Recipe, **extra) -> dict:
    """config.json: the recipe, and what it ran with."""
    return {**config.to_dict(), **extra, "keras": keras.__version__, "workbench": __version__}


def _fit(run: runs.Run, config: Recipe, resumed: bool, publish: Subscriber,
         stop: threading.Event | None, inputs: TrainInputs | None, device: backend.Device,
         policy: str, tensorboard: bool = False) -> None:
    """Read the inputs (unless given), fit (from the last checkpoint if ``resumed``), predict."""
    inputs = inputs or read_inputs(config)
    competition = inputs.competition
    keras.utils.set_random_seed(config.seed)
    x, y, val_idx = inputs.training_rows(config)
    validation = (competition.train_images[val_idx], competition.train_labels[val_idx])
    per_execution = model_spec(config.model).steps_per_call()
    steps = backend.epoch_steps(len(x), config.batch_size, per_execution)
    state = run.state if resumed else {}
    initial_epoch = int(state.get("epoch", 0))
    model = _model(run, config, steps, per_execution, resumed)
    monitor = "val_loss" if len(val_idx) else "loss"
    recorder = _Recorder(run, config, publish, stop, steps, initial_epoch, state, len(x))
    if config.schedule == "plateau":
        recorder.stateful["plateau"] = plateau_callback(monitor, state.get("plateau"))
    if config.early_stopping:
        recorder.stateful["early_stopping"] = ResumableEarlyStopping(
            monitor=monitor, patience=config.early_stopping, state=state.get("early_stopping"))
    callbacks = [recorder, *recorder.stateful.values()]
    if tensorboard:  # for those who live in TensorBoard: `tensorboard --logdir RUN/tensorboard`
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run.path / "tensorboard")))
    publish(TrainStarted(run.id, config.model, f"{device}, {policy}", config.epochs,
                         initial_epoch, steps, len(x), len(val_idx), competition.label))
    if model_spec(config.model).trainable and initial_epoch < config.epochs:
        model.fit(**backend.fit_inputs(x, y, config.batch_size, config.seed, per_execution),
                  epochs=config.epochs, initial_epoch=initial_epoch,
                  validation_data=validation if len(val_idx) else None,
                  validation_batch_size=1024, callbacks=callbacks, verbose=0)
        if recorder.epoch_seconds:  # for the estimates of later trainings here
            record(config, str(device), float(np.median(recorder.epoch_seconds)) / steps)
        if config.ema:
            _settle_average(run, model, x, config.batch_size)
    elif not model_spec(config.model).trainable:
        _save_model(model, run.last_checkpoint)
        _save_model(model, run.best_checkpoint)
    publish(Predicting(run.id, len(val_idx), competition.n_test))
    val_accuracy = _write_predictions(run, model, competition, val_idx,
                                      keep_best=config.folds is None)
    if (recorder.best is None or config.ema) and val_accuracy is not None:
        run.write_state({**run.state, "best_val_accuracy": val_accuracy})


STATISTICS_BATCHES = 200  # batches that gather BatchNorm's statistics for averaged weights


def _settle_average(run: runs.Run, model, x: np.ndarray, batch_size: int) -> None:
    """Once ``fit`` has put the weights' moving average in place of the weights: BatchNorm's
    moving statistics gathered anew under the averaged weights (those in hand were gathered
    under each step's raw weights), then the averaged model saved as the run's last and best
    checkpoint, so that every prediction of the run is the average's. The epochs' validation
    figures in history.csv stay those of the raw weights."""
    from workbench.engine.network.layers import restart_statistics

    if restart_statistics(model):
        order = np.random.default_rng(0).permutation(len(x))
        for start in range(0, min(len(x), STATISTICS_BATCHES * batch_size), batch_size):
            model(x[order[start:start + batch_size]], training=True)
    _save_model(model, run.last_checkpoint)
    _copy_checkpoint(run.last_checkpoint, run.best_checkpoint)


def _model(run: runs.Run, config: Recipe, steps: int, per_execution: int, resume: bool):
    if resume:
        model = load_checkpoint(run.last_checkpoint)
        backend.build_training_state(model)
        return model
    model = build_model(config.model, config.augment, config.seed)
    compile_model(model, config.optimizer, config.learning_rate, config.schedule, steps,
                  config.epochs, config.label_smoothing, per_execution, config.ema)
    return model


def _save_model(model, path: Path) -> None:
    _write_checkpoint(path, model.save)


def _copy_checkpoint(source: Path, path: Path) -> None:
    """``source``'s bytes as ``path``: the same file as saving the model again, in a few ms
    instead of 50-120 (Keras serialises the whole model anew at every save)."""
    _write_checkpoint(path, lambda tmp: shutil.copyfile(source, tmp))


def _write_checkpoint(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` a checkpoint to a temporary name, then put it in place atomically."""
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    try:
        atomic.fault_point()
        write(tmp)
        atomic.fault_point()
        os.replace(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise naming(error, path) from None
        raise


class _Recorder(keras.callbacks.Callback):
    """Writes the run folder each epoch and turns batches and epochs into events."""

    def __init__(self, run, config, publish, stop, steps, initial_epoch, state, rows):
        super().__init__()
        self.run, self.config, self.publish, self.stop = run, config, publish, stop
        self.steps, self.rows = steps, rows
        self.epochs_done = initial_epoch
        self.best = state.get("best_val_accuracy")
        self.history = run.history[:initial_epoch]
        self.epoch_seconds = [row["seconds"] for row in self.history if row.get("seconds")]
        self.stateful: dict = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = self.last_event = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.stop is not None and self.stop.is_set():
            raise _Interrupted()
        now = time.perf_counter()
        if now - self.last_event < BATCH_EVENT_INTERVAL_S and batch + 1 < self.steps:
            return
        self.last_event = now
        steps_per_s = (batch + 1) / max(now - self.epoch_start, 1e-9)
        left = (self.steps - batch - 1) / steps_per_s + self._epoch_estimate(steps_per_s) * (
            self.config.epochs - self.epochs_done - 1)
        self.publish(BatchEnded(
            self.epochs_done + 1, batch + 1, self.steps, float(logs["loss"]),
            float(logs["accuracy"]), self._lr(), steps_per_s * self.config.batch_size, left,
            self.run.id))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        seconds = time.perf_counter() - self.epoch_start
        val_accuracy = logs.get("val_accuracy")
        row = {"epoch": epoch + 1, "loss": logs.get("loss"), "accuracy": logs.get("accuracy"),
               "val_loss": logs.get("val_loss"), "val_accuracy": val_accuracy,
               "learning_rate": self._lr(), "seconds": round(seconds, 3)}
        self.history.append(row)
        self.epoch_seconds.append(seconds)
        self.run.write_history(self.history)
        _save_model(self.model, self.run.last_checkpoint)
        improved = val_accuracy is not None and (self.best is None or val_accuracy > self.best)
        if improved:
            self.best = val_accuracy
        if improved or val_accuracy is None:  # with nothing to judge by, the best is the latest
            _copy_checkpoint(self.run.last_checkpoint, self.run.best_checkpoint)
        self.epochs_done = epoch + 1
        self.run.write_state({
            "epoch": self.epochs_done, "best_val_accuracy": self.best,
            **{name: cb.get_state() for name, cb in self.stateful.items()}})
        left = self._epoch_estimate(0) * (self.config.epochs - self.epochs_done)
        self.publish(EpochEnded(
            self.epochs_done, self.config.epochs, row["loss"], row["accuracy"], row["val_loss"],
            val_accuracy, row["learning_rate"], seconds, self.rows / seconds, left, improved,
            self.run.id))

    def _epoch_estimate(self, steps_per_s: float) -> float:
        if self.epoch_seconds:
            return float(np.median(self.epoch_seconds))
        return self.steps / steps_per_s if steps_per_s else 0.0

    def _lr(self) -> float:
        return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


def _write_predictions(run: runs.Run, model, competition: Competition, val_idx: np.ndarray,
                       keep_best: bool = True) -> float | None:
    """Predict validation and test rows with the best checkpoint; write the run's submission.

    The validation rows are also predicted with the last epoch's weights (``model`` as ``fit``
    left it): ``last_probabilities``, the figure that no choice of epoch has seen. A CV fold
    (``keep_best`` False) predicts everything with its last epoch: its held-out rows are the
    ones it is scored on. Returns the validation accuracy (None without validation rows)."""
    images = competition.train_images[val_idx]
    last = predict_probabilities(model, images) if len(val_idx) else None
    # The best epoch is most often the last: its checkpoint is then a copy of last.keras, and
    # the weights in hand are already the best.
    reload = keep_best and run.best_checkpoint.exists() and not (
        run.last_checkpoint.exists()
        and filecmp.cmp(run.best_checkpoint, run.last_checkpoint, shallow=False))
    if reload:
        model.load_weights(run.best_checkpoint)
    accuracy = None
    if last is not None:
        probabilities = predict_probabilities(model, images) if reload else last
        labels = competition.train_labels[val_idx]
        write_npz(run.val_predictions, probabilities=probabilities, labels=labels,
                  ids=val_idx + 1, last_probabilities=last)
        accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    if competition.n_test:
        probabilities = predict_probabilities(model, competition.test_images)
        write_npz(run.test_predictions, probabilities=probabilities,
                  image_ids=competition.test_ids)
        write_submission(competition.test_ids, probabilities.argmax(axis=1), "submission",
                         directory=run.path, force=True)
    return accuracy
