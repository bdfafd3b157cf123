"""The members of a plan: a CV's folds and refits, an ensemble's members. Each is a run that the
plan's manifest names; this module claims them (``members`` trains them).

A member's run is named in the manifest (under its lock) before its folder appears, so no crash
leaves a run the manifest misses; a manifest that names a run which never appeared, or was
deleted, means: train that member anew. A member whose run another process holds is left to it
(the plan then reads "waiting"), and a damaged one is refused with its fix.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench.engine.errors import Option, WorkbenchError
from workbench.engine.runs import run as runs
from workbench.engine.store import atomic, locks
from workbench.engine.training.config import Recipe, same_recipe
from workbench.engine.training.inputs import TrainInputs, read_inputs


@dataclass(frozen=True)
class Member:
    index: int  # from 0, in the plan's order
    kind: str  # "fold", "refit" or "member"
    config: Recipe


@dataclass(frozen=True)
class Manifest:
    """How a plan's manifest names its members' runs; read and changed only under its lock."""

    path: Path
    read: Callable[[Path], dict]  # the manifest as a dict; WorkbenchError if damaged
    run_of: Callable[[dict, int], str | None]  # member index -> its run's folder name
    with_run: Callable[[dict, int, str], dict]  # the manifest naming a member's run

    @property
    def lock(self) -> Path:
        return self.path.with_suffix(".lock")

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the manifest's lock, and clear what writes cut short by a crash left beside
        it."""
        with locks.locked(self.lock):
            locks.remove_temp_files(self.path.parent, f"{self.path.name}.")
            yield

    def begin(self, plan: str, recipe: dict, empty: dict) -> None:
        """Start the plan, or continue it: a new manifest holds ``recipe`` and ``empty`` (no
        member's run yet); one with another recipe under this name is refused (``plan`` names
        it, e.g. "CV 'x'")."""
        with self.held():
            manifest = self.read(self.path)
            if manifest and not same_recipe(manifest["recipe"], recipe):
                raise WorkbenchError(f"{plan} already exists with another recipe",
                                     ("give a new name (", Option("name"), "), or the same "
                                      "settings to continue it."))
            if not manifest:
                atomic.write_json(self.path, {"recipe": recipe, **empty})


@dataclass
class Claim:
    """A member's run as this process found it: ``run`` claimed here to train (``new`` if made
    just now), or None with ``status`` "finished" or "running" (another process trains it);
    ``run_id`` names the run, unless it is new."""

    member: Member
    run: runs.Run | None
    status: str
    new: bool = False
    run_id: str | None = None


def claim(manifest: Manifest, member: Member, runs_dir: Path) -> Claim:
    """Member's run, claimed by this process unless it has finished or another process holds
    it; a new run (named in the manifest first) when the manifest names none that exists."""
    with manifest.held():
        run_id = manifest.run_of(manifest.read(manifest.path), member.index)
        folder = runs_dir / run_id if run_id else None
        if folder is not None and os.path.lexists(folder):
            seen = runs.Run.open(folder)  # damaged: refused (deleting it trains it anew)
            if seen.recorded_status == "finished":
                return Claim(member, None, "finished", run_id=run_id)
            try:
                run = runs.Run.claim(folder)
            except runs.RunBusy:
                return Claim(member, None, "running", run_id=run_id)
            if run.recorded_status == "finished":  # finished while we waited
                run.release()
                return Claim(member, None, "finished", run_id=run_id)
            return Claim(member, run, "train", run_id=run_id)

        def record(name: str) -> None:
            atomic.write_json(manifest.path, manifest.with_run(manifest.read(manifest.path),
                                                             member.index, name))

        return Claim(member, runs.Run.create(member.config.to_dict(), runs_dir, record),
                     "train", new=True)


def finished(manifest: Manifest, member: Member, runs_dir: Path) -> bool:
    """Whether member's run has finished, by a look at the manifest (no lock: ``claim`` is what
    decides; this only spares starting Ray for a plan with nothing left to train)."""
    try:
        run_id = manifest.run_of(manifest.read(manifest.path), member.index)
    except WorkbenchError:
        return False  # said by claim, in one sentence
    return run_id is not None and runs.Run(runs_dir / run_id).recorded_status == "finished"


class Inputs:
    """The plan's training inputs, read once, at the first member that trains (a plan whose
    members have all finished reads no data)."""

    def __init__(self, config: Recipe, inputs: TrainInputs | None = None) -> None:
        self.config = config
        self._inputs = inputs  # read already (the plan checked them before its first file)
        self._lock = threading.Lock()

    def __call__(self) -> TrainInputs:
        with self._lock:
            if self._inputs is None:
                self._inputs = read_inputs(self.config)
            return self._inputs


def check_plan_inputs(members: Sequence[Member]) -> TrainInputs:
    """The plan's inputs, read and checked against every member's recipe before the plan
    writes anything: the data (more folds than the rarest digit has rows?), the suspects (do
    they leave rows to train on?) and the pseudo-labels (made for this data's test set?)."""
    inputs = read_inputs(members[0].config)
    for member in members:
        member.config.check_rows(inputs.competition.train_labels)
        inputs.check_rows_left(member.config)
    return inputs
