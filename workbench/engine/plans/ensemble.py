"""Ensembles trained from one recipe: N members, resumable member by member, averaged (with
test-time augmentation on request).

Every member holds out the same validation rows (the split of the ensemble's seed), so the
ensemble's validation accuracy is measured on rows no member trained on; members differ in their
seed: initial weights, augmentation draws and batch order. With ``val_split`` 0 every member
trains on every labelled row: the refit for the final submission of a recipe measured before,
with no accuracy of its own. ``runs/ensembles/NAME.json`` records the recipe and the member runs
(changed only under its lock; a member is named there before its folder appears); the same
command run again continues where it stopped, a crash included. Runs averaged as they are (the
app's overlay, ``average``) are recorded there too, with an empty recipe, so the lists show every
ensemble with its held-out accuracy (``ensemble_status``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from workbench.engine.errors import Option, WorkbenchError, shown
from workbench.engine.events import Subscriber
from workbench.engine.plans.members import train_members
from workbench.engine.plans.plan import Manifest, Member, check_plan_inputs
from workbench.engine.plans.scale import Scale, check_scale
from workbench.engine.results.prediction import (
    Prediction,
    held_out_accuracy,
    last_epoch_accuracy,
    save_prediction,
)
from workbench.engine.results.submission import unused_name
from workbench.engine.runs import run as runs
from workbench.engine.store import atomic, files, locks
from workbench.engine.store.workspace import submissions_beside
from workbench.engine.training.config import TrainConfig
from workbench.engine.training.predict import ensemble_runs


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


def manifest_path(name: str, runs_dir: Path = runs.RUNS_DIR) -> Path:
    return runs_dir / "ensembles" / f"{files.check_name(name, 'an ensemble')}.json"


def read_manifest(path: Path) -> dict:
    """The manifest at ``path`` ({} if there is none); WorkbenchError if it is damaged, which
    nothing then rewrites."""
    try:
        manifest = files.load_json(path) or {}
        if manifest and not (isinstance(manifest.get("recipe"), dict)
                             and isinstance(manifest.get("members"), list)
                             and all(isinstance(m, str) and (m == "" or files.NAME.fullmatch(m))
                                     for m in manifest["members"])):
            raise ValueError(f"{path.name} does not hold a recipe and a list of member runs")
    except ValueError as error:
        raise WorkbenchError(f"the ensemble's manifest {shown(str(path))} is damaged "
                             f"({error})", ("delete it to start the ensemble anew, or give "
                                            "another name (", Option("name"), ").")) from None
    return manifest


def train_ensemble(
    config: TrainConfig,
    members: int,
    *,
    name: str | None = None,
    tta: bool = False,
    runs_dir: Path = runs.RUNS_DIR,
    submissions_dir: Path | None = None,
    subscribers: Iterable[Subscriber] = (),
    stop: threading.Event | None = None,
    scale: Scale | None = None,
) -> EnsembleResult:
    """Train (or continue) the ``members`` of ``config``'s ensemble, one at a time or as
    ``scale`` says, then average them. Members training in another process are left to it."""
    if members < 2:
        raise WorkbenchError("an ensemble needs at least 2 members",
                             ("use 2 or more (", Option("members"), ")."))
    if name is not None:
        files.check_name(name, "an ensemble")
    config = config.resolved()
    plan = [Member(index, "member", member_config(config, index).resolved())
            for index in range(members)]  # e.g. a seed + index out of range: refused now
    if scale is not None:
        scale = check_scale(scale, members)
    inputs = check_plan_inputs(plan)
    name = name or default_name(config, members)
    path = manifest_path(name, runs_dir)
    manifest = _members_manifest(path)
    manifest.begin(f"ensemble '{name}'", config.to_dict(), {"members": []})
    status = train_members(manifest, plan, members, runs_dir, scale=scale,
                           subscribers=list(subscribers), stop=stop, inputs=inputs)
    paths = [runs_dir / run for run in read_manifest(path)["members"][:members] if run]
    if status != "finished":
        return EnsembleResult(name, status, paths,
                              [runs.Run(run).best_val_accuracy for run in paths])
    opened = [runs.Run.open(run) for run in paths]
    accuracies = [run.best_val_accuracy for run in opened]
    prediction = ensemble_runs(opened, tta=tta)
    submissions_dir = submissions_dir or submissions_beside(runs_dir)
    with manifest.held():
        locks.remove_temp_files(submissions_dir, f"{name}.")
        submission = save_prediction(prediction, name, force=True, directory=submissions_dir)
    return EnsembleResult(name, "finished", paths, accuracies, prediction, submission,
                          last_epoch_accuracy(paths))


def _members_manifest(path: Path) -> Manifest:
    """How an ensemble's manifest names its members' runs: ``members``, a list in order."""
    def with_run(manifest: dict, index: int, run: str) -> dict:
        ids = manifest["members"]
        return {**manifest, "members": [*ids[:index], *[""] * (index - len(ids)), run,
                                        *ids[index + 1:]]}

    return Manifest(path, read_manifest,
                    lambda manifest, index: (manifest["members"][index] or None
                                             if index < len(manifest["members"]) else None),
                    with_run)


def average(members: list[runs.Run], name: str | None = None, *, runs_dir: Path = runs.RUNS_DIR,
            submissions_dir: Path | None = None, tta: bool = False,
            force: bool = False) -> EnsembleResult:
    """Average finished runs (checked: ``Run.open``) as they are into submissions/NAME.csv,
    and record the ensemble (an empty recipe: nothing to train) so that it is listed with its
    held-out accuracy. ``force`` replaces an ensemble of that name (and its submission)."""
    submissions_dir = submissions_dir or submissions_beside(runs_dir)
    name = files.check_name(name or unused_name(f"ensemble-{time.strftime('%Y%m%d-%H%M%S')}",
                                               submissions_dir, runs_dir / "ensembles"),
                           "an ensemble")
    path = manifest_path(name, runs_dir)
    prediction = ensemble_runs(members, tta=tta)
    with _members_manifest(path).held():
        if read_manifest(path) and not force:
            raise WorkbenchError(f"ensemble '{name}' already exists",
                                 ("give another name (", Option("name"), "), or replace it (",
                                  Option("force"), ")."))
        submission = save_prediction(prediction, name, directory=submissions_dir, force=force)
        atomic.write_json(path, {"recipe": {}, "members": [run.id for run in members]})
    paths = [run.path for run in members]
    return EnsembleResult(name, "finished", paths, [run.best_val_accuracy for run in members],
                          prediction, submission, last_epoch_accuracy(paths))


@dataclass(frozen=True)
class EnsembleStatus:
    """Where an ensemble stands: its member runs, how many have finished, the time they
    trained, and the accuracy of their averaged validation predictions on the rows every member
    held out (None until all have finished, or with no held-out rows: a refit on every row)."""

    name: str
    members: list[Path]
    finished: int
    seconds: float
    accuracy: float | None = None
    rows: int = 0
    problem: str | None = None  # a damaged manifest or member: what is wrong and the fix

    @property
    def progress(self) -> str:
        return f"{self.finished}/{len(self.members)} members"


def list_ensembles(runs_dir: Path = runs.RUNS_DIR) -> list[str]:
    """The names of the ensembles in ``runs_dir``, oldest first."""
    folder = runs_dir / "ensembles"
    if not folder.is_dir():
        return []
    manifests = []
    for path in folder.glob("*.json"):
        try:
            if (files.NAME.fullmatch(path.stem) and len(path.stem) <= files.MAX_NAME
                    and path.is_file()):
                manifests.append((path.stat().st_mtime, path.stem))
        except OSError:
            continue  # gone meanwhile
    return [name for _, name in sorted(manifests)]


def ensemble_status(name: str, runs_dir: Path = runs.RUNS_DIR) -> EnsembleStatus:
    """Where ensemble ``name`` stands; a damaged manifest or member reads as ``problem``."""
    try:
        ids = read_manifest(manifest_path(name, runs_dir)).get("members", [])
    except WorkbenchError as error:
        return EnsembleStatus(name, [], 0, 0.0, problem=str(error))
    members = [runs_dir / member for member in ids if member]  # "": not made yet
    opened = [runs.Run(run) for run in members]
    finished = sum(run.path.is_dir() and run.status == "finished" for run in opened)
    seconds = sum(run.seconds for run in opened)
    status = EnsembleStatus(name, members, finished, seconds)
    if not members or finished < len(members):
        return status
    try:
        held_out = held_out_accuracy(members)
    except runs.RunDamaged as error:
        return replace(status, problem=str(error))
    return status if held_out is None else replace(status, accuracy=held_out[0],
                                                   rows=held_out[1])
