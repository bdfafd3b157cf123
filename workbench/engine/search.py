"""The convergence search: optimizers x learning rates x schedules, a few epochs each, on KerasTuner.

KerasTuner's grid oracle keeps its state in the search folder, so running the same search again
resumes it (finished trials are skipped). Each trial appends a row to ``trials.csv`` there, written
atomically: that file, not KerasTuner's bookkeeping, is what a resumed search trusts. KerasTuner
writes its own JSON files in place, so a ``kill -9`` can leave them cut short; such a state is
discarded and the grid walked afresh, the finished trials answered from ``trials.csv``. A
search holds a lock (fcntl, released even by ``kill -9``) on its trials file, so the same search
started twice at once is refused rather than interleaved. Every setting is checked before any
folder is made or Keras loads, by the validators ``train`` uses (``workbench.engine.config``).
Distributed mode is KerasTuner's own: see the README ("Distributed search").
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import itertools
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from workbench.engine import backend, runs
from workbench.engine.config import (check_batch_size, check_epochs, check_learning_rate,
                                     check_seed, check_val_split)
from workbench.engine.data import load_competition
from workbench.engine.errors import WorkbenchError, printable
from workbench.engine.models import build_model, model_spec
from workbench.engine.recipes import OPTIMIZERS, SCHEDULES, check_choice
from workbench.engine.split import stratified_split

# The seed's grid: every optimizer, four decades of learning rate, four schedules.
DEFAULT_OPTIMIZERS = tuple(OPTIMIZERS)
DEFAULT_LEARNING_RATES = (1.0, 0.1, 0.01, 0.001)
DEFAULT_SCHEDULES = ("constant", "plateau", "triangular", "triangular2")
CONVERGED_WITHIN = 0.001  # an epoch within 0.1 point of the trial's best counts as converged


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
            trials.append(Trial(**{
                k: float(v) if types[k] == "float" else int(v) if types[k] == "int" else v
                for k, v in row.items() if k in types}))
        except (TypeError, ValueError):
            continue
    return trials


def _trials_file(folder: Path) -> Path:
    """This process's trials file: trials.csv, or trials-<id>.csv for a distributed worker."""
    worker = os.environ.get("KERASTUNER_TUNER_ID")
    return folder / (f"trials-{worker}.csv" if worker else "trials.csv")


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
        raise WorkbenchError(f"{printable(str(folder))} is a file, not a search folder; pass "
                             "--dir with a folder.")
    path = folder / "search.json"
    if not path.is_file():
        return
    try:
        saved = json.loads(path.read_bytes())
    except ValueError:
        saved = None
    if not isinstance(saved, dict):
        raise WorkbenchError(f"{printable(str(path))} is damaged (not the search's settings); "
                             "delete it to continue this search with the settings given, or "
                             "pass --dir to start a new one.")
    if saved != settings:
        changed = ", ".join(k for k in settings if saved.get(k) != settings[k])
        raise WorkbenchError(f"{printable(str(folder))} holds a search with other settings "
                             f"({changed}); pass --dir to start a new search there.")


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
    return space


class _TrialFailed(BaseException):
    """A trial's own error, carried past KerasTuner (which would log a traceback, mark the
    trial failed and go on) to end the search with one sentence."""


def _sweep(folder: Path) -> None:
    """Remove the temp files a kill mid-write left: this process's trials file's, and
    search.json's (written once, so none is in progress once it exists)."""
    for name in (_trials_file(folder).name, "search.json"):
        for tmp in folder.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)


def run_search(
    folder: Path,
    space: SearchSpace = SearchSpace(),
    *,
    model: str = "simple-cnn",
    epochs: int = 3,
    batch_size: int = 128,
    val_split: float = 0.1,
    seed: int = 0,
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
    path = folder / f".{_trials_file(folder).name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkbenchError(f"the search in {printable(str(folder))} is running in another "
                                 "process; let it finish (or stop it), then run this command "
                                 "again to resume.") from None
        yield
    finally:
        os.close(fd)


def _search(folder: Path, space: SearchSpace, competition, train_idx, val_idx, keras, kt, *,
            model: str, epochs: int, batch_size: int, seed: int,
            on_trial: Callable[[Trial, int, int], None] | None,
            stop: threading.Event | None) -> list[Trial]:
    """The grid on KerasTuner, under the folder's lock; trials.csv answers the finished ones."""
    from workbench.engine.schedules import compile_model, plateau_callback

    _sweep(folder)
    x, y = competition.train_images[train_idx], competition.train_labels[train_idx]
    validation = (competition.train_images[val_idx], competition.train_labels[val_idx])
    steps = -(-len(x) // batch_size)
    done = {(t.optimizer, t.learning_rate, t.schedule): t for t in read_trials(folder)}
    mine = _read_file(_trials_file(folder))

    class Stop(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if stop is not None and stop.is_set():
                raise KeyboardInterrupt

    class Tuner(kt.GridSearch):
        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            key = (hp.get("optimizer"), hp.get("learning_rate"), hp.get("schedule"))
            if key in done:
                return {"val_accuracy": done[key].best_val_accuracy}
            try:
                row = _train_trial(trial.trial_id, key)
                done[key] = row
                mine.append(row)
                _write_trials(_trials_file(folder), mine)
                if on_trial:
                    on_trial(row, len(done), space.size)
            except Exception as error:
                raise _TrialFailed(key, error) from error
            return {"val_accuracy": row.best_val_accuracy}

    def _train_trial(trial_id: str, key: tuple) -> Trial:
        keras.utils.set_random_seed(seed)
        net = build_model(model, seed=seed)
        compile_model(net, key[0], key[1], key[2], steps, epochs)
        callbacks = [Stop(), keras.callbacks.TerminateOnNaN()]
        if key[2] == "plateau":
            callbacks.append(plateau_callback("val_loss"))
        start = time.perf_counter()
        history = net.fit(**backend.fit_inputs(x, y, batch_size, seed), epochs=epochs,
                          verbose=0, validation_data=validation, validation_batch_size=1024,
                          callbacks=callbacks).history
        accuracies = [0.0 if a != a else a for a in history["val_accuracy"]]  # NaN: 0
        best = max(accuracies)
        return Trial(trial_id, *key, best, accuracies[-1],
                     next(i for i, a in enumerate(accuracies, 1) if a >= best - CONVERGED_WITHIN),
                     len(accuracies), round(time.perf_counter() - start, 2))

    hyperparameters = kt.HyperParameters()
    hyperparameters.Choice("optimizer", list(space.optimizers))
    hyperparameters.Choice("learning_rate", list(space.learning_rates))
    hyperparameters.Choice("schedule", list(space.schedules))
    grid_id = hashlib.sha256(repr(astuple(space)).encode()).hexdigest()[:12]
    project = folder / f"kerastuner-{grid_id}"

    def tuner() -> kt.GridSearch:
        with contextlib.redirect_stdout(io.StringIO()):  # "Reloading Tuner from ..."
            return Tuner(objective=kt.Objective("val_accuracy", "max"), max_trials=space.size,
                         hyperparameters=hyperparameters, tune_new_entries=False,
                         directory=str(folder), project_name=project.name, overwrite=False,
                         max_consecutive_failed_trials=space.size)

    if not _is_worker() and not _agrees(project, done):
        _discard(project)
    try:
        try:
            tuner().search(verbose=0)
        except _TrialFailed:
            raise
        except Exception as error:  # KerasTuner's own files, cut short by a kill
            if _is_worker():
                raise WorkbenchError(f"KerasTuner's state in {printable(str(project))} cannot be "
                                     f"read ({type(error).__name__}); restart the chief.") from None
            _discard(project)
            tuner().search(verbose=0)
    except _TrialFailed as failed:
        key, error = failed.args
        if isinstance(error, (WorkbenchError, OSError)):
            raise error from None
        raise WorkbenchError(
            f"trial {key[0]} lr {key[1]:g} {key[2]} failed ({type(error).__name__}: "
            f"{' '.join(str(error).split())[:160]}); the finished trials are kept in "
            f"{printable(str(_trials_file(folder)))}: fix the cause and run the same command to "
            "resume.") from None
    grid = set(itertools.product(space.optimizers, space.learning_rates, space.schedules))
    return [t for t in read_trials(folder) if (t.optimizer, t.learning_rate, t.schedule) in grid]


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


def _is_worker() -> bool:
    """A distributed search's worker: the state belongs to the chief, never to discard here."""
    return bool(os.environ.get("KERASTUNER_ORACLE_IP")) and \
        os.environ.get("KERASTUNER_TUNER_ID", "chief") != "chief"


def _discard(project: Path) -> None:
    """Remove KerasTuner's project folder (renamed first, so a kill mid-way leaves none half
    there); trials.csv keeps the results, so the grid is only walked again."""
    trash = project.with_name(f".{project.name}.discarded-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        os.replace(project, trash)
    shutil.rmtree(trash, ignore_errors=True)
