"""Run folders: ``runs/<YYYYmmdd-HHMMSS>-<model>/`` and what they hold.

- ``config.json``: everything that reproduces the run;
- ``status.json``: running / finished / interrupted / failed, with times and the pid;
- ``state.json``: epochs done and callback state (the commit point of each epoch);
- ``history.csv``: one row per epoch; ``best.keras`` and ``last.keras``: checkpoints;
- ``val_predictions.npz``, ``test_predictions.npz``, ``submission.csv``: what the model predicts;
- ``.lock``: the claim of the process that trains the run (``Run.claim``). It is an ``flock``,
  so it dies with its holder: a run is "running" only while its lock is held, never because a
  recorded pid happens to be alive (a restarted container reuses pids).

Every file is written atomically, so a reader never sees half of one, and a run folder appears
whole: it is made under a hidden name with its config.json and lock, then renamed. A folder
damaged by something else (a full disk, an editor, a copy cut short) is listed as damaged with
what is wrong (``Run.open``) and never stops another run from working.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import io
import math
import os
import re
import shlex
import shutil
import stat
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.engine.errors import Action, Part, WorkbenchError, shown
from workbench.engine.store import workspace
from workbench.engine.store.atomic import fault_point, write_file, write_json
from workbench.engine.store.files import is_count, is_number, load_json, read_json, read_text, why
from workbench.engine.store.locks import lock_within, locked, remove_temp_files

RUNS_DIR = Path("runs")
HISTORY_FIELDS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate",
                  "seconds")
STATUSES = ("running", "finished", "interrupted", "failed")
LOCK = ".lock"
RUN_ID = re.compile(r"\d{8}-\d{6}-.+")  # what Run.create names a folder
CLAIM_PATIENCE_S = 2.0  # a probe holds a run's lock for microseconds; a trainer for hours
BINARIES = ("last.keras", "best.keras", "val_predictions.npz", "test_predictions.npz")


class RunDamaged(WorkbenchError):
    """A run folder that cannot be read as a run; str() names the run, what is wrong with it
    and how to delete it."""

    def __init__(self, run: Path, reason: str) -> None:
        self.run, self.reason = run, reason
        super().__init__(f"run {shown(run.name)} is damaged: {reason}", (*delete_fix(run), "."))


def delete_fix(run: Path) -> tuple[Part, ...]:
    """How to delete ``run``: the action (with its runs folder, when not the workspace's) and
    the shell's way."""
    folder = run.parent
    where = () if folder == workspace.runs_dir() else (("runs_dir", str(folder)),)
    return ("delete it with ", Action("runs delete", (run.name,), where),
            f" (or rm -r {shlex.quote(shown(str(run)))})")


def _parse_history(text: str) -> list[dict]:
    """history.csv's rows; ValueError(reason) unless every row has every cell of the header,
    the epochs count 1, 2, ... and the other cells are numbers (or empty)."""
    if not text.strip():
        raise ValueError("history.csv is empty (cut short?)")
    try:
        lines = [row for row in csv.reader(io.StringIO(text)) if row]
    except csv.Error:
        raise ValueError("history.csv is not a CSV file") from None
    header = lines[0]
    if "epoch" not in header or len(set(header)) < len(header) or not set(header) <= set(
            HISTORY_FIELDS):
        raise ValueError("history.csv's header is not the history's")
    rows = []
    for number, cells in enumerate(lines[1:], 1):
        if len(cells) != len(header):
            raise ValueError(f"history.csv row {number} has {len(cells)} cells, not "
                             f"{len(header)}")
        row = dict.fromkeys(HISTORY_FIELDS)
        for key, value in zip(header, cells):
            try:
                row[key] = int(value) if key == "epoch" else float(value) if value else None
            except ValueError:
                raise ValueError(f"history.csv row {number} has '{shown(value, 20)}' for {key}, "
                                 "not a number") from None
        if row["epoch"] != number:
            raise ValueError(f"history.csv row {number} is for epoch {row['epoch']}")
        rows.append(row)
    return rows


def read_history(run: Path) -> list[dict]:
    """History rows as dicts of floats (epoch as int; missing values as None); [] if there is
    none or it is damaged (``Run.open`` says why)."""
    try:
        text = read_text(run / "history.csv")
        return _parse_history(text) if text is not None else []
    except ValueError:
        return []


def write_history(run: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, HISTORY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row[key] for key in HISTORY_FIELDS})
    write_file(run / "history.csv", buffer.getvalue().encode())


class _File:
    """A file of a run, named once: ``run.best_checkpoint`` is ``run.path / "best.keras"``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, run: Run, owner: type | None = None) -> Path:
        return run.path / self.name


class Run:
    """One run folder. Read by anyone: what its files hold, each file read once, when first
    asked (a snapshot: a new ``Run`` sees what changed since). Written by the one process that
    holds its lock (``Run.create`` makes a new run, ``Run.claim`` takes an existing one): an
    exclusive ``flock`` on ``.lock``, released with ``release()`` or when its process ends or
    is killed. The holder's writes replace what it read."""

    def __init__(self, path: Path, fd: int | None = None) -> None:
        self.path, self._fd = path, fd
        self._read: dict[str, Any] = {}  # each file's content, by name, once read

    @classmethod
    def open(cls, path: Path) -> Run:
        """The run at ``path``, checked: RunDamaged naming the first thing wrong with its
        folder (what it is, its JSON files, its history, and whether its checkpoints and
        predictions are whole zip files: cheap, their central directory; a bit flip inside
        shows when they are loaded). What the check read is what the run holds."""
        run = cls(path)
        try:
            info = os.stat(path)
        except OSError as error:
            link = os.path.islink(path)
            raise RunDamaged(path, "it is a link to itself" if link and error.errno == errno.ELOOP
                             else "it is a link to nothing" if link else
                             f"it cannot be read ({why(error)})") from None
        except ValueError:
            raise RunDamaged(path, "its name cannot be a path") from None
        if not stat.S_ISDIR(info.st_mode):
            raise RunDamaged(path, "it is a file, not a folder")
        try:
            os.listdir(path)
        except OSError as error:
            raise RunDamaged(path, f"its folder cannot be read ({why(error)})") from None
        try:
            run._check()
        except ValueError as error:
            raise RunDamaged(path, str(error)) from None
        return run

    def _check(self) -> None:
        """ValueError(reason) for the first of the run's files that is not what it should be."""
        config = load_json(self.path / "config.json")
        if config is None:
            raise ValueError("config.json is missing")
        if not isinstance(config.get("model"), str) or not is_count(config.get("epochs")):
            raise ValueError("config.json has no model name or number of epochs")
        if config.get("folds") is not None and not is_count(config.get("folds")):
            raise ValueError("config.json's folds is not a number")
        status = load_json(self.path / "status.json") or {}
        if "status" in status and status["status"] not in STATUSES:
            raise ValueError("status.json's status is not one a run has")
        if not all(is_number(status.get(key, 0)) for key in ("seconds", "seconds_before",
                                                           "started")):
            raise ValueError("status.json's times are not numbers")
        state = load_json(self.path / "state.json") or {}  # read before history, written after
        if not is_count(state.get("epoch", 0)):
            raise ValueError("state.json's epoch is not a count")
        if not (state.get("best_val_accuracy") is None or is_number(state["best_val_accuracy"])):
            raise ValueError("state.json's best_val_accuracy is not a number")
        text = read_text(self.path / "history.csv")
        history = _parse_history(text) if text is not None else []
        if len(history) < state.get("epoch", 0):
            raise ValueError(f"history.csv has {len(history)} epochs where state.json says "
                             f"{state['epoch']}")
        for name in BINARIES:
            path = self.path / name
            if os.path.lexists(path) and not (path.is_file() and zipfile.is_zipfile(path)):
                raise ValueError(f"{name} is cut short or is not a "
                                 f"{'checkpoint' if name.endswith('.keras') else 'NumPy'} file")
        self._read.update({"config.json": config, "status.json": status, "state.json": state,
                           "history.csv": history})

    @classmethod
    def create(cls, config: dict, runs_dir: Path = RUNS_DIR,
               record: Callable[[str], None] | None = None) -> Run:
        """A new run folder ``<stamp>-<model>`` (a suffix if that is taken) holding ``config``
        as its config.json, claimed by this process. ``record(name)`` runs before the folder
        appears (to name it in a manifest, say), so no record misses a run that exists; one
        that names a run that never appeared (the process died in between) means: train it
        anew."""
        runs_dir.mkdir(parents=True, exist_ok=True)
        with locked(runs_dir):  # the folder itself: no lock file among the runs
            for stale in runs_dir.glob(".new-*"):  # made by a process that died making it
                shutil.rmtree(stale, ignore_errors=True)
            temp = runs_dir / f".new-{os.getpid()}-{time.time_ns()}"
            temp.mkdir()
            claim = None
            try:
                claim = cls.claim(temp)
                write_json(temp / "config.json", config)
                stamp = time.strftime("%Y%m%d-%H%M%S")
                for attempt in range(1, 1000):
                    name = f"{stamp}-{config['model']}{'' if attempt == 1 else f'-{attempt}'}"
                    if not os.path.lexists(runs_dir / name):
                        break
                else:
                    raise WorkbenchError(f"cannot create a run folder in {runs_dir}; too many "
                                         "runs this second.")
                if record is not None:
                    record(name)
                fault_point()
                os.rename(temp, runs_dir / name)
            except BaseException:
                shutil.rmtree(temp, ignore_errors=True)
                if claim is not None:
                    claim.release()
                raise
        claim.path = runs_dir / name
        return claim

    @classmethod
    def claim(cls, path: Path) -> Run:
        """The run at ``path``, its lock taken, or RunBusy: no two processes ever train one
        run at once. Files that a crash left half-written in the folder go (only the holder
        writes there)."""
        fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
        if not lock_within(fd, CLAIM_PATIENCE_S):
            os.close(fd)
            raise RunBusy(path)
        remove_temp_files(path)
        return cls(path, fd)

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def claimed(self) -> bool:
        return self._fd is not None

    def _file(self, name: str, read: Callable[[Path], Any]) -> Any:
        if name not in self._read:
            self._read[name] = read(self.path / name)
        return self._read[name]

    @property
    def config(self) -> dict:
        """config.json: the recipe and what it ran with ({} if missing or damaged)."""
        return self._file("config.json", read_json)

    @property
    def state(self) -> dict:
        """state.json: epochs done, the best validation accuracy, the callbacks' state."""
        return self._file("state.json", read_json)

    @property
    def history(self) -> list[dict]:
        """history.csv's rows (see ``read_history``)."""
        return self._file("history.csv", lambda _: read_history(self.path))

    @property
    def recorded_status(self) -> str:
        """The status status.json records ("interrupted" if there is none): what the run's own
        process said last, whether or not it still runs."""
        status = self._file("status.json", read_json).get("status")
        return status if status in STATUSES else "interrupted"

    @property
    def status(self) -> str:
        """"running" only while a process holds the run's lock; a recorded "running" whose lock
        is free (its process crashed, was killed, or its container restarted) reads
        "interrupted", as does a run killed before its status was first written."""
        if self.running:
            return "running"
        return "interrupted" if self.recorded_status == "running" else self.recorded_status

    @property
    def running(self) -> bool:
        """Whether a process holds the run's lock, asked anew each time: a shared,
        non-blocking attempt on an open file of its own, released at once."""
        try:
            fd = os.open(self.path / LOCK, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, ValueError):
            return False  # never claimed, or not a folder
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            os.close(fd)
        return False

    @property
    def message(self) -> str:
        """What the run's process said last with its status (why it failed, say); "" if none."""
        message = self._file("status.json", read_json).get("message")
        return message if isinstance(message, str) else ""

    @property
    def seconds(self) -> float:
        """The training time status.json records (0 if none, or if it is damaged)."""
        seconds = self._file("status.json", read_json).get("seconds", 0.0)
        return float(seconds) if is_number(seconds) and math.isfinite(seconds) else 0.0

    @property
    def epochs_done(self) -> int:
        """The epochs the last committed state.json records."""
        epoch = self.state.get("epoch", 0)
        return epoch if is_count(epoch) else 0

    @property
    def best_val_accuracy(self) -> float | None:
        best = self.state.get("best_val_accuracy")
        return float(best) if is_number(best) else None

    last_checkpoint = _File("last.keras")
    best_checkpoint = _File("best.keras")
    val_predictions = _File("val_predictions.npz")
    test_predictions = _File("test_predictions.npz")
    # Predictions of the kept checkpoint with test-time augmentation: a cache.
    tta_predictions = _File("tta_predictions.npz")
    submission = _File("submission.csv")

    @property
    def kept_checkpoint(self) -> Path:
        """The checkpoint the run predicts with: a CV fold's last epoch (its held-out rows are
        what it is scored on, so no epoch may be chosen on them), else the best epoch."""
        return self.last_checkpoint if self.config.get("folds") else self.best_checkpoint

    def receive(self, files: dict[str, bytes]) -> None:
        """Files its trainer made elsewhere (a Ray worker), into the folder, each atomically and
        state.json (an epoch's commit point) last; never a path out of the folder."""
        self._check_claimed()
        for name in sorted(files, key=lambda name: name == "state.json"):
            if "/" not in name and not name.startswith("."):
                write_file(self.path / name, files[name])
                self._read.pop(name, None)

    def write_config(self, config: dict) -> None:
        self._write_json("config.json", config)

    def write_state(self, state: dict) -> None:
        """The commit point of an epoch: written after its history and checkpoints."""
        self._write_json("state.json", state)

    def write_history(self, rows: list[dict]) -> None:
        self._check_claimed()
        write_history(self.path, rows)
        self._read.pop("history.csv", None)

    def set_status(self, status: str, message: str = "") -> None:
        """Record the status; time spent running adds up over resumed sessions."""
        previous = self._file("status.json", read_json)
        now = time.time()

        def number(key: str, default: float) -> float:
            value = previous.get(key, default)
            return float(value) if is_number(value) and math.isfinite(value) else default

        if status == "running":
            before, started = number("seconds", 0.0), now
        else:
            before, started = number("seconds_before", 0.0), number("started", now)
        self._write_json("status.json", {
            "status": status, "message": message, "pid": os.getpid(), "started": started,
            "updated": now, "seconds_before": before, "seconds": before + now - started,
        })

    def _write_json(self, name: str, data: dict) -> None:
        self._check_claimed()
        write_json(self.path / name, data)
        self._read.pop(name, None)

    def _check_claimed(self) -> None:
        if not self.claimed:  # a programming error, never a user's: another process may train it
            raise RuntimeError(f"run {self.id} is written without being claimed")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, claimed={self.claimed})"


class RunBusy(WorkbenchError):
    """The run is being trained by another process (it holds the run's lock)."""

    def __init__(self, run: Path) -> None:
        super().__init__(f"run {shown(run.name)} is being trained by another process; wait for "
                         "it to end (or stop it) and try again.")
