"""What part a run plays: a fold or refit of a CV, or a member of an ensemble, so that listings
can tell a fold's accuracy (a whole fold held out) from a lone run's (a 10% split)."""

from __future__ import annotations

from pathlib import Path

from workbench.engine.errors import WorkbenchError
from workbench.engine.plans import cv, ensemble


def roles(runs_dir: Path) -> dict[str, str]:
    """Run id -> its part, e.g. "CV kaggle-best-5f fold 2/5", "ensemble e1 member 3"; runs in
    no plan are absent. A damaged manifest names nothing (its listing says why)."""
    found: dict[str, str] = {}
    for name in cv.list_cvs(runs_dir):
        try:
            manifest = cv.read_manifest(cv.manifest_path(name, runs_dir))
        except WorkbenchError:
            continue
        folds = manifest.get("recipe", {}).get("folds", 0)
        for index, run in manifest.get("runs", {}).items():
            if not str(index).isdigit():
                continue
            number = int(index)
            part = (f"fold {number}/{folds}" if number < folds else f"refit {number - folds}")
            found.setdefault(str(run), f"CV {name} {part}")
    for name in ensemble.list_ensembles(runs_dir):
        try:
            manifest = ensemble.read_manifest(ensemble.manifest_path(name, runs_dir))
        except WorkbenchError:
            continue
        for number, run in enumerate(manifest.get("members", []), 1):
            if run:
                found.setdefault(run, f"ensemble {name} member {number}")
    return found


def role_of(run_id: str, config: dict, known: dict[str, str], short: bool = False) -> str:
    """``run_id``'s part: from a plan's manifest, else from its recipe (a fold trained alone),
    else "" (a run of its own). ``short`` leaves out the plan's name ("fold 2/5")."""
    if run_id in known:
        return known[run_id].split(" ", 2)[2] if short else known[run_id]
    folds, fold = config.get("folds"), config.get("fold")
    if isinstance(folds, int) and isinstance(fold, int):
        return f"fold {fold}/{folds}"
    return ""
