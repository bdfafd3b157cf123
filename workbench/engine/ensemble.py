"""Ensembles trained from one recipe: N members, resumable member by member, averaged (with
test-time augmentation on request).

Every member holds out the same validation rows (the split of the ensemble's seed), so the
ensemble's validation accuracy is measured on rows no member trained on; members differ in their
seed: initial weights, augmentation draws and batch order. With ``val_split`` 0 every member
trains on every labelled row: the refit for the final submission of a recipe measured before,
with no accuracy of its own. ``runs/ensembles/NAME.json`` records the recipe and the member runs;
the same command run again continues where it stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from workbench.engine import runs
from workbench.engine.config import TrainConfig
from workbench.engine.errors import WorkbenchError
from workbench.engine.events import Event, MemberStarted, Subscriber, TrainStarted
from workbench.engine.prediction import (Prediction, ensemble_runs, last_epoch_accuracy,
                                         save_prediction)
from workbench.engine.submission import SUBMISSIONS_DIR


@dataclass(frozen=True)
class EnsembleResult:
    name: str
    status: str  # "finished" or "interrupted"
    members: list[Path]
    member_accuracies: list[float | None]
    prediction: Prediction | None = None
    submission: Path | None = None
    last_epoch_accuracy: float | None = None  # the members' last epochs: see prediction.py


def default_name(config: TrainConfig, members: int) -> str:
    config = config.resolved()
    full = "" if config.val_split else "-all"
    return f"{config.preset or config.model}-x{members}-seed{config.seed}{full}"


def member_config(config: TrainConfig, index: int) -> TrainConfig:
    """Member ``index`` (from 0): the recipe with seed + index, on the ensemble's split."""
    return replace(config, seed=config.seed + index, split_seed=config.validation_seed)


def train_ensemble(
    config: TrainConfig,
    members: int,
    *,
    name: str | None = None,
    tta: bool = False,
    runs_dir: Path = runs.RUNS_DIR,
    submissions_dir: Path = SUBMISSIONS_DIR,
    subscribers: Iterable[Subscriber] = (),
    stop: threading.Event | None = None,
) -> EnsembleResult:
    """Train (or continue) the ``members`` of ``config``'s ensemble, then average them."""
    from workbench.engine import training

    if members < 2:
        raise WorkbenchError("an ensemble needs at least 2 members; use --members 2 or more.")
    config = config.resolved()
    name = name or default_name(config, members)
    manifest_path = runs_dir / "ensembles" / f"{name}.json"
    recipe = config.to_dict()
    manifest = runs.read_json(manifest_path) if manifest_path.is_file() else {}
    if manifest and manifest.get("recipe") != recipe:
        raise WorkbenchError(f"ensemble '{name}' already exists with another recipe; give a new "
                             "--name, or the same flags to continue it.")
    ids: list[str] = list(manifest.get("members", []))
    subscribers = list(subscribers)
    paths: list[Path] = []
    accuracies: list[float | None] = []

    def record(event: Event) -> None:
        """Write a new member's run id into the manifest as soon as its folder exists."""
        if isinstance(event, TrainStarted):
            ids[index:index + 1] = [event.run_id]
            runs.write_json(manifest_path, {"recipe": recipe, "members": ids})

    for index in range(members):
        run = runs_dir / ids[index] if index < len(ids) else None
        for subscriber in subscribers:
            subscriber(MemberStarted(index + 1, members, run.name if run else None))
        status = runs.run_status(run) if run is not None and run.is_dir() else None
        if status == "finished":
            result = None
        elif run is not None and (run / "last.keras").is_file():
            result = training.resume(run, subscribers=subscribers, stop=stop)
        else:  # new, or lost before its first checkpoint: train it (anew)
            result = training.train(member_config(config, index), runs_dir=runs_dir,
                                    subscribers=[record, *subscribers], stop=stop)
            run = result.run
        if result is not None and result.status != "finished":
            return EnsembleResult(name, "interrupted", paths + [run], accuracies + [None])
        paths.append(run)
        accuracies.append(runs.read_json(run / "state.json").get("best_val_accuracy"))
    prediction = ensemble_runs(paths, tta=tta)
    submission = save_prediction(prediction, name, force=True, directory=submissions_dir)
    return EnsembleResult(name, "finished", paths, accuracies, prediction, submission,
                          last_epoch_accuracy(paths))
