"""Finding, listing and deleting run folders: a damaged one is listed as damaged with what is
wrong and the fix, and never stops another run from being found or listed."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.engine.data.competition import KAGGLE_TRAIN, sample_path
from workbench.engine.errors import Action, Part, WorkbenchError, shown
from workbench.engine.runs.run import (
    LOCK,
    RUN_ID,
    RUNS_DIR,
    Run,
    RunBusy,
    RunDamaged,
    delete_fix,
)
from workbench.engine.store.files import NAME, read_json


@dataclass(frozen=True)
class RunSummary:
    """One line of ``runs list``; a damaged run has status "damaged" and says why in
    ``problem`` (with the fix)."""

    id: str
    path: Path
    model: str
    status: str
    epochs_done: int
    epochs: int
    best_val_accuracy: float | None
    duration_s: float
    problem: str | None = None  # what is wrong with a damaged run
    fix: tuple[Part, ...] = ()  # and how to fix it (delete it), worded by each face
    data: str = "?"  # what it trained on: see ``trained_on``
    held_out: int = 0  # the rows its validation accuracy is measured on
    config: dict | None = None  # its config.json, for listings that show more


def summarize(run: Run) -> RunSummary:
    """The line of ``runs list`` of a run that ``Run.open`` has checked."""
    config, ids = run.config, held_out_ids(run)
    return RunSummary(
        id=run.id, path=run.path, model=config["model"], status=run.status,
        epochs_done=len(run.history), epochs=config["epochs"],
        best_val_accuracy=run.best_val_accuracy, duration_s=run.seconds,
        data=trained_on(config.get("data"), ids), held_out=len(ids), config=config,
    )


def trained_on(data: object, held_out: list[int]) -> str:
    """What a run trained on, in a word: "full" (Kaggle's 42,000 labelled rows, told by the
    train ids it held out, ``held_out``: the largest is within a few rows of the last),
    "sample" (the embedded sample), else the --data path it was given (its end, if long)."""
    if held_out and max(held_out) > 0.95 * KAGGLE_TRAIN:
        return "full"
    if data is None or str(data) == str(sample_path()):
        return "sample"
    text = shown(str(data))
    return text if len(text) <= 24 else "..." + text[-21:]


def held_out_ids(run: Run) -> list[int]:
    """The train ids (1-based rows) in the run's val_predictions.npz; none if it has none or
    it cannot be read (``Run.open`` says why)."""
    try:
        with np.load(run.val_predictions, allow_pickle=False) as saved:
            ids = saved["ids"]
        return (ids.astype(np.int64).ravel().tolist()
                if ids.size and np.issubdtype(ids.dtype, np.integer) else [])
    except Exception:  # missing, cut short, damaged: np.load raises many kinds
        return []


def _damaged(run: Path, error: RunDamaged) -> RunSummary:
    model = read_json(run / "config.json").get("model") if os.path.isdir(run) else None
    return RunSummary(run.name, run, model if isinstance(model, str) else "?", "damaged", 0, 0,
                      None, 0.0, error.reason, delete_fix(run))


def run_folders(runs_dir: Path = RUNS_DIR) -> list[Path]:
    """The entries of ``runs_dir`` that are runs or were meant to be (named like one, or
    holding a config.json), damaged ones included, oldest first."""
    if not runs_dir.is_dir():
        return []
    return [path for path in sorted(runs_dir.iterdir()) if not path.name.startswith(".")
            and (RUN_ID.fullmatch(path.name) or os.path.lexists(path / "config.json"))]


def list_runs(runs_dir: Path = RUNS_DIR) -> list[RunSummary]:
    """Every run, oldest first; a damaged one as status "damaged", so no run stops another."""
    summaries = []
    for run in run_folders(runs_dir):
        try:
            summaries.append(summarize(Run.open(run)))
        except RunDamaged as error:
            summaries.append(_damaged(run, error))
    return summaries


def find_run(ref: str, runs_dir: Path = RUNS_DIR, damaged: bool = False) -> Run:
    """A run by folder path, id, unique id prefix, or 'last' (the newest that is not damaged),
    checked (``Run.open``); RunDamaged for a damaged one unless ``damaged`` (then unchecked)."""
    if not ref:
        raise WorkbenchError("give a run: its id, a unique prefix of it, its folder, or 'last'.")
    direct = Path(ref)
    if os.path.lexists(direct / "config.json") or ("/" in ref and os.path.lexists(direct)
                                                    and RUN_ID.fullmatch(direct.name)):
        run = direct
    elif ref == "last":
        for folder in reversed(run_folders(runs_dir)):
            try:
                return Run.open(folder)
            except RunDamaged:
                continue
        raise WorkbenchError(f"no runs in {runs_dir} yet", ("start one with ", Action("train"),
                                                             "."))
    else:
        folders = run_folders(runs_dir)
        matches = [path for path in folders if path.name == ref] or [
            path for path in folders if path.name.startswith(ref)]
        if not matches:
            raise _not_a_run(ref, runs_dir)
        if len(matches) > 1:
            raise WorkbenchError(f"'{shown(ref)}' matches {len(matches)} runs in {runs_dir}; "
                                 "give more of the id.")
        run = matches[0]
    return Run(run) if damaged else Run.open(run)


def _not_a_run(ref: str, runs_dir: Path) -> WorkbenchError:
    for kind, folder, command in (("a CV", "cv", Action("cv", (), (("name", ref),))),
                                  ("an ensemble", "ensembles",
                                   Action("ensemble", (), (("members", "N"), ("name", ref))))):
        if NAME.fullmatch(ref) and (runs_dir / folder / f"{ref}.json").is_file():
            return WorkbenchError(f"'{ref}' is {kind}, not a run", (
                Action("runs show"), " shows runs and CVs, and the same ", command,
                " command continues it."))
    return WorkbenchError(f"no run '{shown(ref)}' in {runs_dir}", (Action("runs list"),
                                                                  " shows the runs."))


def delete_run(run: Path) -> None:
    """Remove a run folder and everything in it, a damaged one too (a file or a link in its
    place: the file or link alone); refuses a run that is still training."""
    if not (RUN_ID.fullmatch(run.name) or os.path.lexists(run / "config.json")):
        raise WorkbenchError(f"{shown(str(run))} is not a run folder; nothing was deleted.")
    if os.path.islink(run) or (os.path.lexists(run) and not os.path.isdir(run)):
        run.unlink()
        return
    lock = run / LOCK
    if os.path.lexists(lock) and not (os.path.isfile(lock) and not os.path.islink(lock)):
        _remove_aside(run)  # a .lock no trainer could hold (a folder, a FIFO): nothing trains
        return
    try:
        claim = Run.claim(run)
    except RunBusy:
        raise WorkbenchError(f"{shown(run.name)} is still training; stop it before deleting "
                             "it.") from None
    with claim:
        _remove_aside(run)


def _remove_aside(run: Path) -> None:
    """Rename the run out of the listing first, then remove it: a runs folder where nothing may
    be renamed (read-only) refuses the delete before a single file is lost, and a removal cut
    short leaves a hidden folder, not a half run."""
    aside = run.with_name(f".deleting-{run.name}")
    if os.path.lexists(aside):
        shutil.rmtree(aside, ignore_errors=True)
    try:
        os.rename(run, aside)
    except OSError as error:
        why = shown(error.strerror or str(error), 80)
        raise WorkbenchError(f"{shown(run.name)} cannot be deleted ({why} in "
                             f"{shown(str(run.parent))}); nothing was deleted: fix the folder's "
                             "permissions.") from None
    shutil.rmtree(aside)
