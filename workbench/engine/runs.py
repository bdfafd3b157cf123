"""Run folders: ``runs/<YYYYmmdd-HHMMSS>-<model>/`` and what they hold.

- ``config.json``: everything that reproduces the run;
- ``status.json``: running / finished / interrupted / failed, with times and the pid;
- ``state.json``: epochs done and callback state (the commit point of each epoch);
- ``history.csv``: one row per epoch; ``best.keras`` and ``last.keras``: checkpoints;
- ``val_predictions.npz``, ``test_predictions.npz``, ``submission.csv``: what the model predicts.

Every file is written atomically, so a reader never sees half of one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.engine.atomic import write_atomic
from workbench.engine.errors import WorkbenchError

RUNS_DIR = Path("runs")
HISTORY_FIELDS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate",
                  "seconds")


@dataclass(frozen=True)
class RunSummary:
    """One line of ``runs list``."""

    id: str
    path: Path
    model: str
    status: str
    epochs_done: int
    epochs: int
    best_val_accuracy: float | None
    duration_s: float


def create_run(model: str, runs_dir: Path = RUNS_DIR) -> Path:
    """A new, empty run folder; a second run in the same second gets a suffix."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    runs_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        path = runs_dir / f"{stamp}-{model}{'' if attempt == 1 else f'-{attempt}'}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise WorkbenchError(f"cannot create a run folder in {runs_dir}; too many runs this second.")


def write_json(path: Path, data: dict) -> None:
    write_atomic(path, (json.dumps(data, indent=2) + "\n").encode())


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def set_status(run: Path, status: str, message: str = "") -> None:
    """Record the status; time spent running adds up over resumed sessions."""
    previous = read_json(run / "status.json")
    now = time.time()
    if status == "running":
        before, started = previous.get("seconds", 0.0), now
    else:
        before, started = previous.get("seconds_before", 0.0), previous.get("started", now)
    write_json(run / "status.json", {
        "status": status, "message": message, "pid": os.getpid(), "started": started,
        "updated": now, "seconds_before": before, "seconds": before + now - started,
    })


def run_status(run: Path) -> str:
    """The status; a 'running' run whose process is gone, or one killed before its status was
    first written, reads as interrupted."""
    status = read_json(run / "status.json")
    state = status.get("status", "interrupted")
    if state == "running" and not _alive(status.get("pid")):
        return "interrupted"
    return state


def _alive(pid) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_history(run: Path) -> list[dict]:
    """History rows as dicts of floats (epoch as int; missing values as None)."""
    try:
        text = (run / "history.csv").read_text()
    except OSError:
        return []
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        rows.append({key: (int(value) if key == "epoch" else float(value) if value else None)
                     for key, value in row.items()})
    return rows


def write_history(run: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, HISTORY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row[key] for key in HISTORY_FIELDS})
    write_atomic(run / "history.csv", buffer.getvalue().encode())


def summarize(run: Path) -> RunSummary:
    config = read_json(run / "config.json")
    history = read_history(run)
    return RunSummary(
        id=run.name, path=run, model=config.get("model", "?"), status=run_status(run),
        epochs_done=len(history), epochs=int(config.get("epochs", 0)),
        best_val_accuracy=read_json(run / "state.json").get("best_val_accuracy"),
        duration_s=float(read_json(run / "status.json").get("seconds", 0.0)),
    )


def list_runs(runs_dir: Path = RUNS_DIR) -> list[RunSummary]:
    """Every run folder (one holding config.json), oldest first."""
    if not runs_dir.is_dir():
        return []
    return [summarize(path) for path in sorted(runs_dir.iterdir())
            if (path / "config.json").is_file()]


def find_run(ref: str, runs_dir: Path = RUNS_DIR) -> Path:
    """A run by folder path, id, unique id prefix, or 'last'."""
    direct = Path(ref)
    if (direct / "config.json").is_file():
        return direct
    runs = list_runs(runs_dir)
    if ref == "last" and runs:
        return runs[-1].path
    matches = [run.path for run in runs if run.id == ref] or [
        run.path for run in runs if run.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise WorkbenchError(f"no run '{ref}' in {runs_dir}; 'workbench-engine runs list' shows "
                             "the runs.")
    raise WorkbenchError(f"'{ref}' matches {len(matches)} runs in {runs_dir}; give more of the "
                         "id.")


def delete_run(run: Path) -> None:
    """Remove a run folder and everything in it; refuses a run that is still training."""
    if run_status(run) == "running":
        raise WorkbenchError(f"{run.name} is still training; stop it before deleting it.")
    if not (run / "config.json").is_file():
        raise WorkbenchError(f"{run} is not a run folder; nothing was deleted.")
    shutil.rmtree(run)
