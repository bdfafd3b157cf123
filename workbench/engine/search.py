"""The convergence search: optimizers x learning rates x schedules, a few epochs each.

KerasTuner's grid oracle keeps its state in the search folder, so running the same search again
resumes it (finished trials are skipped). Each trial appends a row to ``trials.csv`` there, written
atomically: that file, not KerasTuner's bookkeeping, is what a resumed search trusts. Then the
trial's per-epoch history goes to ``trials/<optimizer>-lr<rate>-<schedule>/history.csv`` (a run
folder's format), for the app to draw: the row is the commit point, so a kill between the two
leaves a finished trial without its curves, never curves without their trial. KerasTuner
writes its own JSON files in place, so a ``kill -9`` can leave them cut short; such a state is
discarded and the grid walked afresh, the finished trials answered from ``trials.csv``. A
search holds a lock (fcntl, released even by ``kill -9``) on its trials file, so the same search
started twice at once is refused rather than interleaved. Every setting is checked before any
folder is made or Keras loads, by the validators ``train`` uses (``workbench.engine.config``).
Distributed mode is KerasTuner's chief/worker protocol: see the README ("Distributed search").
Each worker writes ``trials-<id>.csv``; the chief, which trains nothing, gathers them all into
``trials.csv`` when the grid is done. Two of KerasTuner's parts are replaced for it: its grid
oracle hands a cell out only once the cell before it has ended (after the first two trials the
workers ran one at a time), and its chief waits forever on the trial of a worker that died. Here
every cell goes to the next worker that asks, and the chief gives a dead worker's trial (its
lock on its trials file is free) to the next one. The app follows a search it did not start by
polling ``search_stamp`` and reading ``read_search`` (no Keras).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import itertools
import json
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

from workbench.engine import backend, runs
from workbench.engine.config import (check_batch_size, check_epochs, check_learning_rate,
                                     check_seed, check_val_split)
from workbench.engine.data import load_competition
from workbench.engine.errors import Option, WorkbenchError, printable
from workbench.engine.events import Subscriber, TrialFinished
from workbench.engine.models import build_model, model_spec
from workbench.engine.recipes import OPTIMIZER_ARGS, OPTIMIZERS, SCHEDULES, check_choice
from workbench.engine.split import stratified_split

# The seed's grid: every optimizer, four decades of learning rate, four schedules.
DEFAULT_OPTIMIZERS = tuple(o for o in OPTIMIZERS if o not in OPTIMIZER_ARGS)  # the seed's grid
DEFAULT_LEARNING_RATES = (1.0, 0.1, 0.01, 0.001)
DEFAULT_SCHEDULES = ("constant", "plateau", "triangular", "triangular2")
CONVERGED_WITHIN = 0.001  # an epoch within 0.1 point of the trial's best counts as converged
POLL_SECONDS = 0.5  # a waiting worker's pause between asks; the chief's between its checks
# A search's other settings when not given (the CLI's and the app's form's defaults too).
SETTINGS: dict[str, Any] = {"model": "simple-cnn", "epochs": 3, "batch_size": 128,
                            "val_split": 0.1, "seed": 0}


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


@dataclass(frozen=True)
class Trial:
    """One row of trials.csv."""

    trial: str
    optimizer: str
    learning_rate: float
    schedule: str
    best_val_accuracy: float
    final_val_accuracy: float
    epochs_to_converge: int
    epochs: int
    seconds: float


def read_trials(folder: Path) -> list[Trial]:
    """The trials of a search folder (every worker's file), best first: accuracy, then fewer
    epochs to converge, then time."""
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
                    *folder.glob("kerastuner-*/oracle.json")])
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
    axes come from KerasTuner's oracle files (there as soon as a grid's first trial starts, from
    any process), from the trials found and from ``grid`` (the one being started), in the
    recipes' order, rates highest first; names that are no optimizer or schedule are left out."""
    trials = [t for t in read_trials(folder)
              if t.optimizer in OPTIMIZERS and t.schedule in SCHEDULES
              and 0 < t.learning_rate < math.inf]
    grid = grid or SearchSpace((), (), ())
    optimizers = {t.optimizer for t in trials} | set(grid.optimizers)
    rates = {t.learning_rate for t in trials} | set(grid.learning_rates)
    schedules = {t.schedule for t in trials} | set(grid.schedules)
    for path in folder.glob("kerastuner-*/oracle.json"):
        choices = {}
        space = runs.read_json(path).get("hyperparameters", {})
        for entry in space.get("space", []) if isinstance(space, dict) else []:
            config = entry.get("config", {}) if isinstance(entry, dict) else {}
            if isinstance(config, dict) and isinstance(config.get("values"), list):
                choices[config.get("name")] = config["values"]
        optimizers |= {o for o in choices.get("optimizer", []) if o in OPTIMIZERS}
        schedules |= {s for s in choices.get("schedule", []) if s in SCHEDULES}
        rates |= {float(r) for r in choices.get("learning_rate", [])
                  if runs.is_number(r) and 0 < r < math.inf}
    settings = runs.read_json(folder / "search.json")
    return SearchState(folder, settings,
                       SearchSpace(tuple(o for o in OPTIMIZERS if o in optimizers),
                                   tuple(sorted(rates, reverse=True)),
                                   tuple(s for s in SCHEDULES if s in schedules)), trials)


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
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return []
    trials = []
    for row in csv.DictReader(io.StringIO(text)):
        try:
            values: dict[str, Any] = {
                k: float(v) if types[k] == "float" else int(v) if types[k] == "int" else v
                for k, v in row.items() if k in types}
            trials.append(Trial(**values))
        except (TypeError, ValueError):
            continue
    return trials


def trials_file(folder: Path) -> Path:
    """This process's trials file: trials.csv (also the distributed chief's, which gathers the
    workers' files there), or trials-<id>.csv for a distributed worker."""
    worker = os.environ.get("KERASTUNER_TUNER_ID")
    return _worker_file(folder, worker) if worker and not _is_chief() else folder / "trials.csv"


def _worker_file(folder: Path, tuner_id: str) -> Path:
    return folder / f"trials-{tuner_id}.csv"


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
    runs.write_file(path, buffer.getvalue().encode())


def _check_folder(folder: Path, settings: dict) -> None:
    """Keep one search per folder: the same settings resume it, others are refused (before
    Keras loads: nothing is written here)."""
    if folder.exists() and not folder.is_dir():
        raise WorkbenchError(f"{printable(str(folder))} is a file, not a search folder",
                             ("give a folder (", Option("dir"), ")."))
    path = folder / "search.json"
    if not path.is_file():
        return
    try:
        saved = json.loads(path.read_bytes())
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
    """Record the settings of a new search (``_check_folder`` has vetted an existing one)."""
    if not (folder / "search.json").is_file():
        runs.write_file(folder / "search.json", json.dumps(settings, indent=2).encode())


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
        raise WorkbenchError("a search ranks by validation accuracy; use --val-split > 0.")
    if "KERASTUNER_ORACLE_IP" in os.environ:  # KerasTuner would raise only once Keras is up
        for name in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
            if not os.environ.get(name):
                raise WorkbenchError(f"KERASTUNER_ORACLE_IP is set but {name} is not: set it "
                                     "(see the README, \"Distributed search\"), or unset "
                                     "KERASTUNER_ORACLE_IP to search on this machine alone.")
    return space


class _TrialFailed(BaseException):
    """A trial's own error, carried past KerasTuner (which would log a traceback, mark the
    trial failed and go on) to end the search with one sentence."""


def _sweep(folder: Path) -> None:
    """Remove the temp files a kill mid-write left: this process's trials file's, search.json's
    (written once, so none is in progress once it exists) and, unless other workers may be
    writing theirs right now, the trials' histories'."""
    temps = [folder.glob(f".{name}.*.tmp") for name in (trials_file(folder).name, "search.json")]
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        temps.append(folder.glob("trials/*/.history.csv.*.tmp"))
    for tmp in itertools.chain(*temps):
        tmp.unlink(missing_ok=True)


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
    on_trial: Callable[[Trial, int, int], None] | None = None,
    stop: threading.Event | None = None,
) -> list[Trial]:
    """Run (or resume) the grid in ``folder``; ``on_trial(trial, done, total)`` after each."""
    space = check_search(space, model=model, epochs=epochs, batch_size=batch_size,
                         val_split=val_split, seed=seed)
    competition = load_competition(data)
    if competition.n_train == 0:
        raise WorkbenchError("the data has no labelled rows to search on; give a train.csv.")
    train_idx, val_idx = stratified_split(competition.train_labels, val_split, seed)
    if not len(train_idx):
        raise WorkbenchError(f"validation split {val_split} holds out all "
                             f"{competition.n_train:,} labelled rows, leaving none to train "
                             "on; use a smaller --val-split (e.g. 0.1).")
    settings = {"model": model, "epochs": epochs, "batch_size": batch_size,
                "val_split": val_split, "seed": seed, "data": data}
    _check_folder(folder, settings)
    keras = backend.keras(cpu)
    backend.set_precision(backend.precision_policy("auto", backend.device(cpu)))
    import keras_tuner as kt

    _claim_folder(folder, settings)
    with _locked(folder):
        return _search(folder, space, competition, train_idx, val_idx, keras, kt, model=model,
                       epochs=epochs, batch_size=batch_size, seed=seed, on_trial=on_trial,
                       stop=stop)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold this process's trials file for the search: a second run of the same search at
    once would rewrite trials.csv without the first one's new rows. The lock (fcntl) dies with
    its holder, so a killed search never blocks its resume."""
    fd = os.open(_lock_file(trials_file(folder)), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not runs.lock_within(fd, 0.25):  # a distributed chief's look (``_gone``) is brief
            raise WorkbenchError(f"the search in {printable(str(folder))} is running in another "
                                 "process; let it finish (or stop it), then run this command "
                                 "again to resume.")
        yield
    finally:
        os.close(fd)


def search_job(folder: Path, space: SearchSpace, *, subscribers: Sequence[Subscriber] = (),
               stop: threading.Event | None = None, **settings: Any) -> bool:
    """``run_search`` as a job for a child process (engine/child.py), as the app runs it: each
    trial reaches ``subscribers`` as a ``TrialFinished`` event. Returns whether ``stop`` ended
    it before the grid did."""
    def on_trial(trial: Trial, done: int, total: int) -> None:
        for subscriber in subscribers:
            subscriber(TrialFinished(trial, done, total))

    try:
        run_search(folder, space, on_trial=on_trial, stop=stop, **settings)
    except KeyboardInterrupt:
        return True
    return False


def _search(folder: Path, space: SearchSpace, competition, train_idx, val_idx, keras, kt, *,
            model: str, epochs: int, batch_size: int, seed: int,
            on_trial: Callable[[Trial, int, int], None] | None,
            stop: threading.Event | None) -> list[Trial]:
    """The grid on KerasTuner, under the folder's lock; trials.csv answers the finished ones."""
    from workbench.engine.schedules import compile_model, plateau_callback

    _sweep(folder)
    x, y = competition.train_images[train_idx], competition.train_labels[train_idx]
    validation = (competition.train_images[val_idx], competition.train_labels[val_idx])
    per_execution = model_spec(model).steps_per_call()
    steps = backend.epoch_steps(len(x), batch_size, per_execution)
    done = _finished(folder)
    mine = _read_file(trials_file(folder))
    grid = list(itertools.product(space.optimizers, space.learning_rates, space.schedules))

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

    class Tuner(kt.Tuner):
        waiting = False  # the chief answered the last ask with "wait" (IDLE)

        def pre_create_trial(self):
            """Before each ask: Ctrl-C is honoured between trials too, and a worker the chief
            told to wait pauses before asking again (KerasTuner would ask at once, in a loop)."""
            if self.waiting:
                time.sleep(POLL_SECONDS)
            if stop is not None and stop.is_set():
                raise KeyboardInterrupt
            self.waiting = True

        def on_trial_begin(self, trial):
            self.waiting = False
            super().on_trial_begin(trial)

        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            key = (hp.get("optimizer"), hp.get("learning_rate"), hp.get("schedule"))
            if key not in done:  # a dead worker's trial, given again, may have its row
                done.update(_finished(folder))
            if key in done:
                return {"val_accuracy": done[key].best_val_accuracy}
            try:
                row, history = _train_trial(trial.trial_id, key)
                done[key] = row
                mine.append(row)
                _write_trials(trials_file(folder), mine)
                runs.write_history(trial_folder(folder, *key), history)
                if on_trial:
                    on_trial(row, sum(cell in done for cell in grid), space.size)
            except Exception as error:
                raise _TrialFailed(key, error) from error
            return {"val_accuracy": row.best_val_accuracy}

    def _train_trial(trial_id: str, key: tuple) -> tuple[Trial, list[dict]]:
        keras.utils.set_random_seed(seed)
        net = build_model(model, seed=seed)
        compile_model(net, key[0], key[1], key[2], steps, epochs,
                      steps_per_execution=per_execution)
        record = Record()
        callbacks = [Stop(), record, keras.callbacks.TerminateOnNaN()]
        if key[2] == "plateau":
            callbacks.append(plateau_callback("val_loss"))
        start = time.perf_counter()
        history = net.fit(**backend.fit_inputs(x, y, batch_size, seed, per_execution),
                          epochs=epochs, verbose=0, validation_data=validation,
                          validation_batch_size=1024, callbacks=callbacks).history
        accuracies = [0.0 if a != a else a for a in history["val_accuracy"]]  # NaN: 0
        best = max(accuracies)
        optimizer, learning_rate, schedule = key
        return Trial(trial_id, optimizer, learning_rate, schedule, best, accuracies[-1],
                     next(i for i, a in enumerate(accuracies, 1) if a >= best - CONVERGED_WITHIN),
                     len(accuracies), round(time.perf_counter() - start, 2)), record.rows

    hyperparameters = kt.HyperParameters()
    hyperparameters.Choice("optimizer", list(space.optimizers))
    hyperparameters.Choice("learning_rate", list(space.learning_rates))
    hyperparameters.Choice("schedule", list(space.schedules))
    grid_id = hashlib.sha256(repr(astuple(space)).encode()).hexdigest()[:12]
    project = folder / f"kerastuner-{grid_id}"

    def search() -> None:
        if all(cell in done for cell in grid):  # nothing to hand out, nor to ask a chief for
            return
        with contextlib.redirect_stdout(io.StringIO()):  # "Reloading Tuner from ..."
            tuner = Tuner(_grid_oracle(kt, hyperparameters, grid), directory=str(folder),
                          project_name=project.name, overwrite=False)
        if _is_chief():  # KerasTuner's search would run its own server (oracle_chief)
            tuner.oracle.verbose = 0
            tuner.save()
            _serve(tuner.oracle, folder, stop)
        else:
            tuner.search(verbose=0)

    if not _is_worker() and not _agrees(project, done):
        _discard(project)
    try:
        try:
            search()
        except (_TrialFailed, WorkbenchError):
            raise
        except Exception as error:  # KerasTuner's own files, cut short by a kill
            if _is_worker():
                raise WorkbenchError(f"KerasTuner's state in {printable(str(project))} cannot be "
                                     f"read ({type(error).__name__}); restart the chief.") from None
            _discard(project)
            search()
    except _TrialFailed as failed:
        key, cause = failed.args
        if isinstance(cause, (WorkbenchError, OSError)):
            raise cause from None
        raise WorkbenchError(
            f"trial {key[0]} lr {key[1]:g} {key[2]} failed ({type(cause).__name__}: "
            f"{' '.join(str(cause).split())[:160]}); the finished trials are kept in "
            f"{printable(str(trials_file(folder)))}: fix the cause and run the same command to "
            "resume.") from None
    if _is_chief():  # the workers' files, gathered: the one file that holds every trial
        _write_trials(trials_file(folder), read_trials(folder))
    cells = set(grid)
    return [t for t in read_trials(folder) if (t.optimizer, t.learning_rate, t.schedule) in cells]


def _finished(folder: Path) -> dict[tuple, Trial]:
    """The finished trials of every process's trials file, by grid cell."""
    return {(t.optimizer, t.learning_rate, t.schedule): t for t in read_trials(folder)}


def _grid_oracle(kt, hyperparameters, grid: list[tuple]):
    """KerasTuner's oracle for the grid. Every cell, in grid order, goes to the next tuner that
    asks (KerasTuner's grid oracle hands a cell out only once the cell before it has ended); one
    that asks while the last cells run elsewhere is told to wait (IDLE), so that it can take a
    dead worker's trial over; the end (STOPPED) comes once none runs."""
    status = kt.engine.trial.TrialStatus
    names = ("optimizer", "learning_rate", "schedule")

    class GridOracle(kt.Oracle):
        def populate_space(self, trial_id):
            for cell in grid:
                values = dict(zip(names, cell))
                if not self._duplicate(values):
                    return {"status": status.RUNNING, "values": values}
            return {"status": status.IDLE if self.ongoing_trials else status.STOPPED}

        @kt.synchronized
        def release(self, gone: Callable[[str], bool]) -> None:
            """The trial of each worker that is ``gone`` back in the queue (as KerasTuner does
            with every running trial when its chief restarts), and that worker no more waited
            for."""
            dead = [t for t in sorted(self.tuner_ids | set(self.ongoing_trials)) if gone(t)]
            for tuner_id in dead:
                self.tuner_ids.discard(tuner_id)
                trial = self.ongoing_trials.pop(tuner_id, None)
                if trial is not None:
                    self._retry_queue.append(trial.trial_id)
            if dead:
                self.save()

    # KerasTuner pads trial ids to max_trials' width, and stops every tuner that asks once that
    # many have started: the grid's size in width, never reached (the end is populate_space's).
    return GridOracle(objective=kt.Objective("val_accuracy", "max"),
                      max_trials=10 ** len(str(len(grid))) - 1,
                      hyperparameters=hyperparameters, tune_new_entries=False,
                      max_consecutive_failed_trials=len(grid))


def _serve(oracle, folder: Path, stop: threading.Event | None) -> None:
    """KerasTuner's chief server (``oracle_chief.start_server``) with what it lacks: the trial
    of a worker that is gone goes to the next worker that asks (KerasTuner waits for it
    forever), the end of the grid is seen within a second (it looks every 20 s), Ctrl-C stops
    it, and an address it cannot listen on (another chief's port, say) is one sentence."""
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer, exit_chief

    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    # Without so_reuseport, a second chief on the port is refused rather than sent half the asks.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1),
                         options=[("grpc.so_reuseport", 0)])
    servicer = OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    try:
        with backend.quiet_stderr():  # gRPC's C++ log line, said below in one sentence
            listening = server.add_insecure_port(address)
    except RuntimeError:
        listening = 0
    if not listening:
        raise WorkbenchError(f"the chief cannot listen on {printable(address)} (the port is in "
                             "use, or the address is not this machine's); set "
                             "KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT to a free one here "
                             "(and the same on the workers).")
    server.start()
    try:
        while not (servicer.stop_triggered and exit_chief(oracle)):
            if stop is not None and stop.wait(POLL_SECONDS):
                raise KeyboardInterrupt
            if stop is None:
                time.sleep(POLL_SECONDS)
            oracle.release(lambda tuner_id: _gone(folder, tuner_id))
    finally:
        server.stop(None)


def _gone(folder: Path, tuner_id: str) -> bool:
    """Whether a worker's process has ended, however (``kill -9`` too): the lock it holds on its
    trials file for its whole search is free. A worker with no lock file here (the folder is not
    shared with it) cannot be told, and counts as running, as KerasTuner counts every worker."""
    try:
        fd = os.open(_lock_file(_worker_file(folder, tuner_id)), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:  # held (or no locks on this file system: it cannot be told)
        return False
    finally:
        os.close(fd)
    return True


def _agrees(project: Path, done: dict) -> bool:
    """Whether KerasTuner's state can be trusted: every file of it reads, and every trial it
    has completed is in trials.csv (else that trial would never run again, and be lost)."""
    try:
        for path in project.glob("*.json"):
            json.loads(path.read_bytes())
        for path in project.glob("trial_*/trial.json"):
            trial = json.loads(path.read_bytes())
            if trial.get("status") == "COMPLETED":
                values = trial["hyperparameters"]["values"]
                key = (values["optimizer"], values["learning_rate"], values["schedule"])
                if key not in done:
                    return False
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return False
    return True


def _is_chief() -> bool:
    """A distributed search's chief (KerasTuner's test): it hands out trials, trains none."""
    return "KERASTUNER_ORACLE_IP" in os.environ and \
        "chief" in os.environ.get("KERASTUNER_TUNER_ID", "")


def _is_worker() -> bool:
    """A distributed search's worker (KerasTuner's test): the state belongs to the chief, never
    to discard here."""
    return "KERASTUNER_ORACLE_IP" in os.environ and not _is_chief()


def _discard(project: Path) -> None:
    """Remove KerasTuner's project folder (renamed first, so a kill mid-way leaves none half
    there); trials.csv keeps the results, so the grid is only walked again."""
    trash = project.with_name(f".{project.name}.discarded-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        os.replace(project, trash)
    shutil.rmtree(trash, ignore_errors=True)
