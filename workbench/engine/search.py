"""The convergence search: optimizers x learning rates x schedules, a few epochs each, on KerasTuner.

KerasTuner's grid oracle keeps its state in the search folder, so running the same search again
resumes it (finished trials are skipped). Each trial appends a row to ``trials.csv`` there.
Distributed mode is KerasTuner's own: see the README ("Distributed search").
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from workbench.engine import backend
from workbench.engine.atomic import write_atomic
from workbench.engine.data import load_competition
from workbench.engine.errors import WorkbenchError
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
        return SearchSpace(
            tuple(check_choice("optimizer", o, OPTIMIZERS) for o in self.optimizers),
            tuple(float(lr) for lr in self.learning_rates),
            tuple(check_choice("schedule", s, SCHEDULES) for s in self.schedules))

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
    types = {f.name: f.type for f in fields(Trial)}
    try:
        text = path.read_text()
    except OSError:
        return []
    return [Trial(**{k: float(v) if types[k] == "float" else int(v) if types[k] == "int" else v
                     for k, v in row.items()}) for row in csv.DictReader(io.StringIO(text))]


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
    write_atomic(path, buffer.getvalue().encode())


def _claim_folder(folder: Path, settings: dict) -> None:
    """Keep one search per folder: the same settings resume it, others are refused."""
    path = folder / "search.json"
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved != settings:
            changed = ", ".join(k for k in settings if saved.get(k) != settings[k])
            raise WorkbenchError(f"{folder} holds a search with other settings ({changed}); "
                                 "pass --dir to start a new search there.")
    else:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(settings, indent=2).encode())


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
    space = space.checked()
    keras = backend.keras(cpu)
    backend.set_precision(backend.precision_policy("auto", backend.device(cpu)))
    from workbench.engine.schedules import compile_model, plateau_callback

    import keras_tuner as kt

    if not model_spec(model).trainable:
        raise WorkbenchError(f"model '{model}' has nothing to train; search a trainable model.")
    settings = {"model": model, "epochs": epochs, "batch_size": batch_size,
                "val_split": val_split, "seed": seed, "data": data}
    _claim_folder(folder, settings)
    competition = load_competition(data)
    train_idx, val_idx = stratified_split(competition.train_labels, val_split, seed)
    if not len(val_idx):
        raise WorkbenchError("a search ranks by validation accuracy; use --val-split > 0.")
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
            row = Trial(trial.trial_id, *key, best, accuracies[-1],
                        next(i for i, a in enumerate(accuracies, 1) if a >= best - CONVERGED_WITHIN),
                        len(accuracies), round(time.perf_counter() - start, 2))
            done[key] = row
            mine.append(row)
            _write_trials(_trials_file(folder), mine)
            if on_trial:
                on_trial(row, len(done), space.size)
            return {"val_accuracy": best}

    hyperparameters = kt.HyperParameters()
    hyperparameters.Choice("optimizer", list(space.optimizers))
    hyperparameters.Choice("learning_rate", list(space.learning_rates))
    hyperparameters.Choice("schedule", list(space.schedules))
    grid_id = hashlib.sha256(repr(astuple(space)).encode()).hexdigest()[:12]
    tuner = Tuner(objective=kt.Objective("val_accuracy", "max"), max_trials=space.size,
                  hyperparameters=hyperparameters, tune_new_entries=False,
                  directory=str(folder), project_name=f"kerastuner-{grid_id}", overwrite=False,
                  max_consecutive_failed_trials=space.size)
    tuner.search(verbose=0)
    grid = set(itertools.product(space.optimizers, space.learning_rates, space.schedules))
    return [t for t in read_trials(folder) if (t.optimizer, t.learning_rate, t.schedule) in grid]
