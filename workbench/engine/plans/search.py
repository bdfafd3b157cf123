"""The convergence search: optimizers x learning rates x schedules, a few epochs each.

Running the same search again resumes it: each trial appends a row to ``trials.csv`` in the
search folder, written atomically, and that row is the commit point (finished trials are never
trained again). Then the trial's per-epoch history goes to
``trials/<optimizer>-lr<rate>-<schedule>/history.csv`` (a run folder's format), for the app to
draw: a kill between the two leaves a finished trial without its curves, never curves without
their trial. A grid's axes are written to ``grid-<id>.json`` as it starts, so the app shows the
cells still to come, whoever runs the grid. A search holds a lock (fcntl, released even by
``kill -9``) on its trials file, so the same search started twice at once is refused rather
than interleaved. Every setting is checked before any folder is made or Keras loads, by the
validators ``train`` uses (``workbench.engine.training.config``).

The trials train in this process one after another, or several at once on Ray (``scale``: this
machine's GPUs and cores, or a cluster's), each in a worker process of its own: the worker gets
the rows through Ray and sends back the trial's row and history, which are written here as each
trial ends, so no folder is shared; a worker that dies has its trial trained again elsewhere.
The app follows a search it did not start by polling ``search_stamp`` and reading
``read_search`` (no Keras).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import math
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from workbench.engine.data.competition import load_competition
from workbench.engine.data.split import stratified_split
from workbench.engine.errors import Option, WorkbenchError, printable
from workbench.engine.events import Subscriber, Trial, TrialFinished, publisher
from workbench.engine.network import backend
from workbench.engine.network.models import build_model, model_spec
from workbench.engine.plans import scaleout
from workbench.engine.plans.scale import Scale, check_scale
from workbench.engine.recipes import (
    DEFAULT_SEED,
    DEFAULT_VAL_SPLIT,
    DEFAULTS,
    OPTIMIZER_ARGS,
    OPTIMIZERS,
    SCHEDULES,
    check_choice,
)
from workbench.engine.runs import run as runs
from workbench.engine.store import atomic, files, locks
from workbench.engine.training.config import (
    check_batch_size,
    check_epochs,
    check_learning_rate,
    check_seed,
    check_val_split,
)

# The seed's grid: every optimizer, four decades of learning rate, four schedules.
DEFAULT_OPTIMIZERS = tuple(o for o in OPTIMIZERS if o not in OPTIMIZER_ARGS)  # the seed's grid
DEFAULT_LEARNING_RATES = (1.0, 0.1, 0.01, 0.001)
DEFAULT_SCHEDULES = ("constant", "plateau", "triangular", "triangular2")
CONVERGED_WITHIN = 0.001  # an epoch within 0.1 point of the trial's best counts as converged
# A search's other settings when not given (the CLI's and the app's form's defaults too).
SETTINGS: dict[str, Any] = {"model": DEFAULTS["model"], "epochs": 3,
                            "batch_size": DEFAULTS["batch_size"], "val_split": DEFAULT_VAL_SPLIT,
                            "seed": DEFAULT_SEED}


@dataclass(frozen=True)
class SearchSpace:
    optimizers: Sequence[str] = DEFAULT_OPTIMIZERS
    learning_rates: Sequence[float] = DEFAULT_LEARNING_RATES
    schedules: Sequence[str] = DEFAULT_SCHEDULES

    def checked(self) -> SearchSpace:
        """The space with each name matched, each rate checked as ``train --lr`` is (one
        validator), and repeats dropped (``adam Adam`` or ``0.1 0.1`` is one value)."""
        def unique(values) -> tuple:
            return tuple(dict.fromkeys(values))

        space = SearchSpace(
            unique(check_choice("optimizer", o, OPTIMIZERS) for o in self.optimizers),
            unique(check_learning_rate(lr) for lr in self.learning_rates),
            unique(check_choice("schedule", s, SCHEDULES) for s in self.schedules))
        if not space.size:
            raise WorkbenchError("a search needs at least one optimizer, learning rate and "
                                 "schedule.")
        return space

    @property
    def size(self) -> int:
        return len(self.optimizers) * len(self.learning_rates) * len(self.schedules)


def read_trials(folder: Path) -> list[Trial]:
    """The trials of a search folder, best first: accuracy, then fewer epochs to converge, then
    time (trials.csv, and the per-worker files a search wrote before it ran on Ray)."""
    rows = {(t.optimizer, t.learning_rate, t.schedule): t
            for path in sorted(folder.glob("trials*.csv")) for t in _read_file(path)}
    return sorted(rows.values(),
                  key=lambda t: (-t.best_val_accuracy, t.epochs_to_converge, t.seconds))


@dataclass(frozen=True)
class SearchState:
    """What the app shows of a search folder."""

    folder: Path
    settings: dict  # search.json's ({} when missing or damaged)
    space: SearchSpace  # every grid started there, and every finished trial's values
    trials: list[Trial]  # best first


def search_folders(runs_dir: Path = runs.RUNS_DIR) -> list[Path]:
    """The searches under ``runs_dir`` (the folders with a search.json), latest changed first."""
    try:
        folders = [p for p in runs_dir.iterdir() if (p / "search.json").is_file()]
    except OSError:
        return []
    return sorted(folders, key=lambda p: (max((t for _, t, _ in search_stamp(p)), default=0),
                                          p.name), reverse=True)


def search_stamp(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, change times and sizes of the files that change when a grid starts or a trial
    ends, whoever runs it: a few stat calls, for the app to poll before reading anything."""
    paths = sorted([folder / "search.json", *folder.glob("trials*.csv"),
                    *folder.glob("grid-*.json")])
    stamp = []
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            continue
        stamp.append((str(path.relative_to(folder)), info.st_mtime_ns, info.st_size))
    return tuple(stamp)


def read_search(folder: Path, grid: SearchSpace | None = None) -> SearchState:
    """A search folder as the app shows it; damaged or missing files read as empty. The grid's
    axes come from the grid files (written as a grid starts, by any process), from the trials
    found and from ``grid`` (the one being started), in the recipes' order, rates highest
    first; names that are no optimizer or schedule are left out."""
    trials = [t for t in read_trials(folder)
              if t.optimizer in OPTIMIZERS and t.schedule in SCHEDULES
              and 0 < t.learning_rate < math.inf]
    grid = grid or SearchSpace((), (), ())
    optimizers = {t.optimizer for t in trials} | set(grid.optimizers)
    rates = {t.learning_rate for t in trials} | set(grid.learning_rates)
    schedules = {t.schedule for t in trials} | set(grid.schedules)
    for path in folder.glob("grid-*.json"):
        axes = files.read_json(path)
        optimizers |= {o for o in _listed(axes, "optimizers") if o in OPTIMIZERS}
        schedules |= {s for s in _listed(axes, "schedules") if s in SCHEDULES}
        rates |= {float(r) for r in _listed(axes, "learning_rates")
                  if files.is_number(r) and 0 < r < math.inf}
    settings = files.read_json(folder / "search.json")
    return SearchState(folder, settings,
                       SearchSpace(tuple(o for o in OPTIMIZERS if o in optimizers),
                                   tuple(sorted(rates, reverse=True)),
                                   tuple(s for s in SCHEDULES if s in schedules)), trials)


def _listed(axes: dict, name: str) -> list:
    """Axis ``name`` of a grid file's, hashable values alone ([] if it is not a list)."""
    values = axes.get(name)
    return [v for v in values if isinstance(v, (str, int, float))] if isinstance(
        values, list) else []


def trial_history(folder: Path, trial: Trial) -> list[dict]:
    """The trial's per-epoch rows (as ``runs.read_history``); [] for a trial that kept none
    (searched before histories were kept, or killed between its row and its history)."""
    if trial.optimizer not in OPTIMIZERS or trial.schedule not in SCHEDULES:
        return []
    return runs.read_history(trial_folder(folder, trial.optimizer, trial.learning_rate,
                                          trial.schedule))


def _read_file(path: Path) -> list[Trial]:
    """The rows of one trials file that parse; a damaged row is left out (its trial runs again)."""
    types = {f.name: f.type for f in fields(Trial)}
    try:
        text = files.read_text(path, errors="replace") or ""
    except ValueError:  # a FIFO, a device, too large: as if there were no trials yet
        return []
    trials = []
    rows = csv.DictReader(io.StringIO(text.replace("\0", "")))
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error:  # a field past csv's limit: the rest of the file is not rows
            break
        try:
            values: dict[str, Any] = {
                k: float(v) if types[k] == "float" else int(v) if types[k] == "int" else v
                for k, v in row.items() if k in types}
            trials.append(Trial(**values))
        except (TypeError, ValueError):
            continue
    return trials


def trials_file(folder: Path) -> Path:
    return folder / "trials.csv"


def _lock_file(trials: Path) -> Path:
    """The lock a search holds on its trials file for as long as it runs."""
    return trials.with_name(f".{trials.name}.lock")


def trial_folder(folder: Path, optimizer: str, learning_rate: float, schedule: str) -> Path:
    """Where a trial's per-epoch history lives (``history.csv``, as in a run folder)."""
    return folder / "trials" / f"{optimizer}-lr{learning_rate!r}-{schedule}"


def _write_trials(path: Path, trials: list[Trial]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f.name for f in fields(Trial)])
    for trial in trials:
        writer.writerow([getattr(trial, f.name) for f in fields(Trial)])
    atomic.write_file(path, buffer.getvalue().encode())


def check_folder(folder: Path, settings: dict) -> None:
    """Keep one search per folder: the same settings resume it, others are refused (before
    Keras loads: nothing is written here)."""
    if folder.exists() and not folder.is_dir():
        raise WorkbenchError(f"{printable(str(folder))} is a file, not a search folder",
                             ("give a folder (", Option("dir"), ")."))
    path = folder / "search.json"
    if not path.is_file():
        return
    try:
        saved = files.load_json(path)
    except ValueError:
        saved = None
    if not isinstance(saved, dict):
        raise WorkbenchError(f"{printable(str(path))} is damaged (not the search's settings)",
                             ("delete it to continue this search with the settings given, or "
                              "give another folder (", Option("dir"), ") to start a new one."))
    if saved != settings:
        changed = ", ".join(k for k in settings if saved.get(k) != settings[k])
        raise WorkbenchError(f"{printable(str(folder))} holds a search with other settings "
                             f"({changed})", ("give another folder (", Option("dir"),
                                              ") to start a new search there."))


def _claim_folder(folder: Path, settings: dict) -> None:
    """Record the settings of a new search (``check_folder`` has vetted an existing one)."""
    if not (folder / "search.json").is_file():
        atomic.write_file(folder / "search.json", json.dumps(settings, indent=2).encode())


def check_search(space: SearchSpace, *, model: str, epochs: int, batch_size: int,
                 val_split: float, seed: int) -> SearchSpace:
    """Every setting of a search checked by the validators ``train`` uses, before any folder
    is made or Keras loads; returns the checked space."""
    space = space.checked()
    if not model_spec(model).trainable:
        raise WorkbenchError(f"model '{model}' has nothing to train; search a trainable model.")
    check_epochs(epochs)
    check_batch_size(batch_size)
    check_seed(seed)
    if check_val_split(val_split) == 0:
        raise WorkbenchError("a search ranks by validation accuracy, so it needs validation rows",
                             ("give a validation split above 0 (", Option("val_split"), ")."))
    return space


def _sweep(folder: Path) -> None:
    """Remove the temp files a kill mid-write left (this process holds the search's lock)."""
    temps = [folder.glob(f".{name}.*.tmp") for name in ("trials.csv", "search.json")]
    temps.append(folder.glob(".grid-*.json.*.tmp"))
    temps.append(folder.glob("trials/*/.history.csv.*.tmp"))
    for tmp in itertools.chain(*temps):
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class TrialRows:
    """What every trial of a search trains and is judged on (one split of the data)."""

    x: np.ndarray
    y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray


def run_search(
    folder: Path,
    space: SearchSpace = SearchSpace(),
    *,
    model: str = SETTINGS["model"],
    epochs: int = SETTINGS["epochs"],
    batch_size: int = SETTINGS["batch_size"],
    val_split: float = SETTINGS["val_split"],
    seed: int = SETTINGS["seed"],
    data: str | None = None,
    cpu: bool = False,
    subscribers: Sequence[Subscriber] = (),
    stop: threading.Event | None = None,
    scale: Scale | None = None,
) -> list[Trial]:
    """Run (or resume) the grid in ``folder``, one trial at a time or as ``scale`` says; each
    trial reaches ``subscribers`` as a ``TrialFinished`` event. A stop raises KeyboardInterrupt
    once the trials in hand have ended (in this process) or been cancelled (on Ray)."""
    publish = publisher(subscribers)
    space = check_search(space, model=model, epochs=epochs, batch_size=batch_size,
                         val_split=val_split, seed=seed)
    if scale is not None:
        scale = check_scale(scale, space.size)
    competition = load_competition(data)
    if competition.n_train == 0:
        raise WorkbenchError("the data has no labelled rows to search on; give a train.csv.")
    train_idx, val_idx = stratified_split(competition.train_labels, val_split, seed)
    if not len(train_idx):
        raise WorkbenchError(f"validation split {val_split} holds out all "
                             f"{competition.n_train:,} labelled rows, leaving none to train on",
                             ("use a smaller validation split (", Option("val_split"),
                              ", e.g. 0.1)."))
    settings = {"model": model, "epochs": epochs, "batch_size": batch_size,
                "val_split": val_split, "seed": seed, "data": data}
    check_folder(folder, settings)
    rows = TrialRows(competition.train_images[train_idx], competition.train_labels[train_idx],
                     competition.train_images[val_idx], competition.train_labels[val_idx])
    in_process = scale is None or scale.in_process
    if in_process:
        backend.keras(cpu)  # a backend that cannot load is said before the folder is made
    else:
        backend.check_backend()
    _claim_folder(folder, settings)
    with _locked(folder):
        _sweep(folder)
        grid = list(itertools.product(space.optimizers, space.learning_rates, space.schedules))
        _record_grid(folder, space)
        done = _finished(folder)
        todo = [(f"{grid.index(cell):0{len(str(len(grid)))}d}", cell) for cell in grid
                if cell not in done]
        options: dict[str, Any] = {"model": model, "epochs": epochs, "batch_size": batch_size,
                                   "seed": seed, "cpu": cpu}

        def finished(result: tuple[Trial, list[dict]]) -> None:
            row, history = result
            done[(row.optimizer, row.learning_rate, row.schedule)] = row
            _write_trials(trials_file(folder), list(done.values()))
            runs.write_history(trial_folder(folder, row.optimizer, row.learning_rate,
                                            row.schedule), history)
            publish(TrialFinished(row, sum(cell in done for cell in grid), space.size))

        try:
            if in_process:
                for trial_id, cell in todo:
                    finished(train_trial(rows, trial_id, cell, stop=stop, **options))
            elif todo and scale is not None:
                scaleout.run_tasks(scale, train_trial, rows, todo, options, cpu,
                                   lambda _, result: finished(result), stop)
        except _TrialFailed as failed:
            raise failed.sentence(folder) from None
    cells = set(grid)
    return [t for t in read_trials(folder) if (t.optimizer, t.learning_rate, t.schedule) in cells]


def _record_grid(folder: Path, space: SearchSpace) -> None:
    """The grid's axes, for the app to show the cells still to come (once per grid)."""
    grid_id = hashlib.sha256(repr(astuple(space)).encode()).hexdigest()[:12]
    path = folder / f"grid-{grid_id}.json"
    if not os.path.lexists(path):  # a damaged one is only read as empty
        atomic.write_json(path, {"optimizers": list(space.optimizers),
                               "learning_rates": list(space.learning_rates),
                               "schedules": list(space.schedules)})


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold the search's trials file while it runs: a second run of the same search at once
    would rewrite trials.csv without the first one's new rows. The lock (fcntl) dies with its
    holder, so a killed search never blocks its resume."""
    fd = os.open(_lock_file(trials_file(folder)), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not locks.lock_within(fd, 0.25):
            raise WorkbenchError(f"the search in {printable(str(folder))} is running in another "
                                 "process; let it finish (or stop it), then run this command "
                                 "again to resume.")
        yield
    finally:
        os.close(fd)


def search_job(folder: Path, space: SearchSpace, *, subscribers: Sequence[Subscriber] = (),
               stop: threading.Event | None = None, **settings: Any) -> bool:
    """``run_search`` as a job for a child process (engine/training/child.py), as the app runs
    it. Returns whether ``stop`` ended it before the grid did."""
    try:
        run_search(folder, space, subscribers=subscribers, stop=stop, **settings)
    except KeyboardInterrupt:
        return True
    return False


class _TrialFailed(Exception):
    """A trial's own error, with its cell: said as one sentence naming the trial."""

    def __init__(self, cell: tuple, cause: BaseException) -> None:
        super().__init__(cell, cause)
        self.cell, self.cause = cell, cause

    def sentence(self, folder: Path) -> Exception:
        if isinstance(self.cause, (WorkbenchError, OSError)):
            return self.cause
        optimizer, rate, schedule = self.cell
        return WorkbenchError(
            f"trial {optimizer} lr {rate:g} {schedule} failed ({type(self.cause).__name__}: "
            f"{' '.join(str(self.cause).split())[:160]}); the finished trials are kept in "
            f"{printable(str(trials_file(folder)))}: fix the cause and run the same command to "
            "resume.")


def train_trial(rows: TrialRows, trial_id: str, cell: tuple, *, model: str, epochs: int,
                batch_size: int, seed: int, cpu: bool, stop: threading.Event | None = None,
                threads: int | None = None, share_gpu: bool = False
                ) -> tuple[Trial, list[dict]]:
    """One trial: ``model`` trained on ``rows`` with the optimizer, rate and schedule of
    ``cell``; its row of trials.csv and its per-epoch history. In this process, or in a Ray
    worker of its own (``threads``, ``share_gpu``: see ``scaleout``)."""
    if threads is not None:
        backend.share_machine(threads, share_gpu)
    keras: Any = backend.keras(cpu)
    backend.set_precision(backend.precision_policy("auto", backend.device(cpu)))
    from workbench.engine.network.schedules import compile_model, plateau_callback

    optimizer, learning_rate, schedule = cell
    per_execution = model_spec(model).steps_per_call()
    steps = backend.epoch_steps(len(rows.x), batch_size, per_execution)

    class Stop(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if stop is not None and stop.is_set():
                raise KeyboardInterrupt

    class Record(keras.callbacks.Callback):
        """Each epoch as a row of the runs' history.csv (the rate the schedule gave it too)."""

        def __init__(self) -> None:
            super().__init__()
            self.rows: list[dict] = []
            self.start = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            self.rows.append({
                "epoch": epoch + 1, **{k: logs.get(k) for k in
                                       ("loss", "accuracy", "val_loss", "val_accuracy")},
                "learning_rate": float(keras.ops.convert_to_numpy(
                    self.model.optimizer.learning_rate)),
                "seconds": round(time.perf_counter() - self.start, 3)})

    try:
        keras.utils.set_random_seed(seed)
        net = build_model(model, seed=seed)
        compile_model(net, optimizer, learning_rate, schedule, steps, epochs,
                      steps_per_execution=per_execution)
        record = Record()
        callbacks = [Stop(), record, keras.callbacks.TerminateOnNaN()]
        if schedule == "plateau":
            callbacks.append(plateau_callback("val_loss"))
        start = time.perf_counter()
        history = net.fit(**backend.fit_inputs(rows.x, rows.y, batch_size, seed, per_execution),
                          epochs=epochs, verbose=0, validation_data=(rows.val_x, rows.val_y),
                          validation_batch_size=1024, callbacks=callbacks).history
    except KeyboardInterrupt:
        raise
    except Exception as error:
        raise _TrialFailed(cell, error) from error
    accuracies = [0.0 if a != a else a for a in history["val_accuracy"]]  # NaN: 0
    best = max(accuracies)
    return Trial(trial_id, optimizer, learning_rate, schedule, best, accuracies[-1],
                 next(i for i, a in enumerate(accuracies, 1) if a >= best - CONVERGED_WITHIN),
                 len(accuracies), round(time.perf_counter() - start, 2)), record.rows


def _finished(folder: Path) -> dict[tuple, Trial]:
    """The finished trials of the search's trials files, by grid cell."""
    return {(t.optimizer, t.learning_rate, t.schedule): t for t in read_trials(folder)}
