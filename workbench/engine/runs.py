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
what is wrong (``check_run``) and never stops another run from working.

Fault injection, for the crash tests only: with ``WORKBENCH_KILL_AT=N`` in the environment the
process kills itself with SIGKILL at the Nth ``fault_point`` (one before and one inside each
write of a run's or a manifest's files), as ``kill -9`` or a power cut would.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import io
import json
import math
import os
import re
import shlex
import shutil
import signal
import stat
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeGuard

from workbench.engine import workspace
from workbench.engine.atomic import write_atomic
from workbench.engine.errors import Option, WorkbenchError

if TYPE_CHECKING:
    from workbench.engine.config import Recipe

RUNS_DIR = Path("runs")
HISTORY_FIELDS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate",
                  "seconds")
STATUSES = ("running", "finished", "interrupted", "failed")
LOCK = ".lock"
RUN_ID = re.compile(r"\d{8}-\d{6}-.+")  # what Run.create names a folder
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_NAME = 200  # leaves room for the suffixes and temp-file prefixes within 255 bytes
MAX_TEXT = 64 << 20  # no run's JSON or CSV is near this; /dev/zero behind a link would be
CLAIM_PATIENCE_S = 2.0  # a probe holds a run's lock for microseconds; a trainer for hours
BINARIES = ("last.keras", "best.keras", "val_predictions.npz", "test_predictions.npz")


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
    problem: str | None = None
    data: str = "?"  # what it trained on: see ``trained_on``
    held_out: int = 0  # the rows its validation accuracy is measured on
    config: dict | None = None  # its config.json, for listings that show more


class RunDamaged(WorkbenchError):
    """A run folder that cannot be read as a run; str() names the run, what is wrong with it
    and how to delete it."""

    def __init__(self, run: Path, reason: str) -> None:
        self.run, self.reason = run, reason
        super().__init__(f"run {shown(run.name)} is damaged: {reason}; {delete_hint(run)}.")


def shown(text: str, limit: int = 200) -> str:
    """``text`` fit for a one-line message: control characters and undecodable bytes escaped,
    cut at ``limit`` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
    return text if len(text) <= limit else text[:limit] + "..."


def delete_hint(run: Path) -> str:
    """How to delete ``run``: the command (with its runs folder) and the shell's way."""
    folder = run.parent
    flag = ("" if folder == workspace.runs_dir() else
            f" --runs-dir {shlex.quote(shown(str(folder)))}")
    return (f"delete it with 'workbench-engine runs delete {shlex.quote(shown(run.name))}{flag}' "
            f"(or rm -r {shlex.quote(shown(str(run)))})")


def check_name(name: str, what: str) -> str:
    """``name`` if it can name a file of its own inside its folder (an ensemble, a CV, a
    submission): 1 to 200 letters, digits, '.', '_' and '-', starting with a letter or digit,
    so no '/', '..', hidden name or control character escapes the folder; else WorkbenchError,
    raised before any work."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise WorkbenchError(f"'{shown(name, 40)}' cannot name {what}: use 1 to {MAX_NAME} "
                             "letters, digits, '.', '-' and '_', starting with a letter or "
                             "digit.")
    return name


# -- fault injection -----------------------------------------------------------------------------

_fault_points = 0


def fault_point() -> None:
    """Kill this process (SIGKILL) at the Nth call when WORKBENCH_KILL_AT=N: the crash tests'
    deterministic 'kill -9 at any moment'."""
    global _fault_points
    target = os.environ.get("WORKBENCH_KILL_AT", "")
    if target.isdigit():
        _fault_points += 1
        if _fault_points == int(target):
            os.kill(os.getpid(), signal.SIGKILL)


def write_file(path: Path, content: bytes | Callable[[BinaryIO], object]) -> None:
    """``write_atomic`` with a fault point before it and one between the temp file's last byte
    and its rename."""
    def write(out: BinaryIO) -> None:
        if isinstance(content, bytes):
            out.write(content)
        else:
            content(out)
        out.flush()
        fault_point()

    fault_point()
    write_atomic(path, write)


def write_json(path: Path, data: dict) -> None:
    """``data`` as indented JSON, atomically."""
    write_file(path, (json.dumps(data, indent=2) + "\n").encode())


# -- reading, strictly and leniently -------------------------------------------------------------

def read_small(path: Path, limit: int = MAX_TEXT) -> bytes | None:
    """The bytes of a small regular file; None if it does not exist; ValueError(reason) if it
    is not one (a folder, a FIFO, a device: refused, never waited on: it is opened
    non-blocking and checked once open), is larger than ``limit``, or cannot be read. The one
    way the engine reads the small files it keeps (JSON, CSV, lists)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ValueError(f"{path.name} cannot be read ({_why(error)})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise ValueError(f"{path.name} is not a regular file")
        with os.fdopen(fd, "rb") as file:
            if info.st_size > limit:
                raise ValueError(f"{path.name} is too large ({info.st_size:,} bytes)")
            data = file.read(limit + 1)
    except OSError as error:
        raise ValueError(f"{path.name} cannot be read ({_why(error)})") from None
    if len(data) > limit:
        raise ValueError(f"{path.name} is too large (over {limit:,} bytes)")
    return data


def read_text(path: Path, limit: int = MAX_TEXT, errors: str = "strict") -> str | None:
    """The UTF-8 text of a small regular file (undecodable bytes as ``errors`` says); None if
    it does not exist; ValueError(reason) if it cannot be read as one (see ``read_small``;
    not UTF-8)."""
    data = read_small(path, limit)
    try:
        return None if data is None else data.decode("utf-8", errors)
    except UnicodeDecodeError:
        raise ValueError(f"{path.name} is not UTF-8 text") from None


def parse_json(text: str | bytes, name: str) -> object:
    """JSON, with every way it can fail as ValueError(reason): bad syntax, and nesting deep
    enough to exhaust Python's recursion (a hostile file's RecursionError)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{name} is nested too deeply to be a file this program wrote") from None
    except ValueError:
        raise ValueError(f"{name} is {'empty' if not text.strip() else 'not valid JSON'}"
                         " (cut short?)") from None


def _why(error: Exception) -> str:
    return shown(getattr(error, "strerror", None) or type(error).__name__, 60)


def load_json(path: Path) -> dict | None:
    """The JSON object in ``path``; None if the file does not exist; ValueError(reason) if it
    is damaged (not UTF-8, not JSON, not an object)."""
    text = read_text(path)
    if text is None:
        return None
    value = parse_json(text, path.name)
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        raise ValueError(f"{path.name} holds {kind}, not a JSON object")
    return value


def read_json(path: Path) -> dict:
    """The JSON object in ``path``, or {} if it is missing or damaged (``check_run`` says why)."""
    try:
        return load_json(path) or {}
    except ValueError:
        return {}


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
    none or it is damaged (``check_run`` says why)."""
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


def is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number (not a bool, which Python counts as one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_count(value: object) -> TypeGuard[int]:
    """A JSON integer >= 0 (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_run(run: Path) -> None:
    """Raise RunDamaged naming the first thing wrong with ``run``'s folder: what it is, its
    JSON files, its history, and whether its checkpoints and predictions are whole zip files
    (cheap: their central directory; a bit flip inside shows when they are loaded)."""
    try:
        info = os.stat(run)
    except OSError as error:
        link = os.path.islink(run)
        raise RunDamaged(run, "it is a link to itself" if link and error.errno == errno.ELOOP else
                         "it is a link to nothing" if link else
                         f"it cannot be read ({_why(error)})") from None
    except ValueError:
        raise RunDamaged(run, "its name cannot be a path") from None
    if not stat.S_ISDIR(info.st_mode):
        raise RunDamaged(run, "it is a file, not a folder")
    try:
        os.listdir(run)
    except OSError as error:
        raise RunDamaged(run, f"its folder cannot be read ({_why(error)})") from None
    try:
        config = load_json(run / "config.json")
        if config is None:
            raise ValueError("config.json is missing")
        if not isinstance(config.get("model"), str) or not is_count(config.get("epochs")):
            raise ValueError("config.json has no model name or number of epochs")
        if config.get("folds") is not None and not is_count(config.get("folds")):
            raise ValueError("config.json's folds is not a number")
        status = load_json(run / "status.json") or {}
        if "status" in status and status["status"] not in STATUSES:
            raise ValueError("status.json's status is not one a run has")
        if not all(is_number(status.get(key, 0)) for key in ("seconds", "seconds_before",
                                                           "started")):
            raise ValueError("status.json's times are not numbers")
        state = load_json(run / "state.json") or {}  # read before history.csv, written after
        if not is_count(state.get("epoch", 0)):
            raise ValueError("state.json's epoch is not a count")
        if not (state.get("best_val_accuracy") is None or is_number(state["best_val_accuracy"])):
            raise ValueError("state.json's best_val_accuracy is not a number")
        text = read_text(run / "history.csv")
        history = _parse_history(text) if text is not None else []
        if len(history) < state.get("epoch", 0):
            raise ValueError(f"history.csv has {len(history)} epochs where state.json says "
                             f"{state['epoch']}")
        for name in BINARIES:
            path = run / name
            if os.path.lexists(path) and not (path.is_file() and zipfile.is_zipfile(path)):
                raise ValueError(f"{name} is cut short or is not a "
                                 f"{'checkpoint' if name.endswith('.keras') else 'NumPy'} file")
    except ValueError as error:
        raise RunDamaged(run, str(error)) from None


# -- the lock ------------------------------------------------------------------------------------

class Run:
    """One run folder: what it holds, readable at any time, and, once claimed, the lock of the
    process that trains it: an exclusive ``flock`` on ``.lock``, released with ``release()``
    or when its process ends or is killed. ``Run.create`` makes a new run, ``Run.claim``
    takes an existing one; only the holder writes the run's files."""

    def __init__(self, path: Path, fd: int | None = None) -> None:
        self.path, self._fd = path, fd

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

    @property
    def config(self) -> dict:
        """config.json: the recipe and what it ran with ({} if missing or damaged)."""
        return read_json(self.path / "config.json")

    @property
    def state(self) -> dict:
        """state.json: epochs done, the best validation accuracy, the callbacks' state."""
        return read_json(self.path / "state.json")

    @property
    def history(self) -> list[dict]:
        return read_history(self.path)

    @property
    def status(self) -> str:
        return run_status(self.path)

    @property
    def epochs_done(self) -> int:
        """The epochs the last committed state.json records."""
        epoch = self.state.get("epoch", 0)
        return epoch if is_count(epoch) else 0

    @property
    def best_val_accuracy(self) -> float | None:
        best = self.state.get("best_val_accuracy")
        return float(best) if is_number(best) else None

    @property
    def last_checkpoint(self) -> Path:
        return self.path / "last.keras"

    @property
    def best_checkpoint(self) -> Path:
        return self.path / "best.keras"

    @property
    def val_predictions(self) -> Path:
        return self.path / "val_predictions.npz"

    @property
    def test_predictions(self) -> Path:
        return self.path / "test_predictions.npz"

    def plan(self, epochs: int | None = None, suspects: bool = True) -> tuple[Recipe, bool]:
        """The recipe this run trains with, and whether it continues a checkpoint: see
        ``plan_resume``."""
        return plan_resume(self.path, epochs, suspects)

    def write_config(self, config: dict) -> None:
        self._write_json("config.json", config)

    def write_state(self, state: dict) -> None:
        """The commit point of an epoch: written after its history and checkpoints."""
        self._write_json("state.json", state)

    def write_history(self, rows: list[dict]) -> None:
        self._check_claimed()
        write_history(self.path, rows)

    def set_status(self, status: str, message: str = "") -> None:
        """Record the status; time spent running adds up over resumed sessions."""
        previous = read_json(self.path / "status.json")
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


def is_running(run: Path) -> bool:
    """Whether a process holds ``run``'s lock: a shared, non-blocking attempt on an open file
    of its own, released at once."""
    try:
        fd = os.open(run / LOCK, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
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


def lock_within(fd: int, seconds: float) -> bool:
    """Take an exclusive ``flock`` on ``fd``, trying for ``seconds``: long enough to ride out
    another process's probe (``is_running``) or brief look, never a holder's whole work."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``, a lock file (made if missing) or a folder, waiting
    for it: it dies with its holder, so no lock is stale. For short critical sections:
    manifests, making a run folder."""
    if path.is_dir():
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def remove_temp_files(folder: Path, prefix: str = "") -> None:
    """Delete the temp files of writes cut short by a crash (``.NAME.XXXX.tmp``, and Keras's
    ``.NAME.tmp.keras``) in ``folder``, those of files named ``prefix``... alone if given.
    Call it only while holding the lock of what writes there."""
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            name = path.name
            if (name.startswith("." + prefix) and name.endswith((".tmp", ".tmp.keras"))
                    and path.is_file()):
                path.unlink(missing_ok=True)


def recorded_status(run: Path) -> str:
    """The status status.json records ("interrupted" if there is none): what the run's own
    process said last, whether or not it still runs."""
    status = read_json(run / "status.json").get("status")
    return status if status in STATUSES else "interrupted"


def run_status(run: Path) -> str:
    """"running" only while a process holds the run's lock; a recorded "running" whose lock is
    free (its process crashed, was killed, or its container restarted) reads "interrupted", as
    does a run killed before its status was first written."""
    if is_running(run):
        return "running"
    status = recorded_status(run)
    return "interrupted" if status == "running" else status


def recorded_seconds(run: Path) -> float:
    """The training time status.json records (0 if none, or if it is damaged)."""
    seconds = read_json(run / "status.json").get("seconds", 0.0)
    return float(seconds) if is_number(seconds) and math.isfinite(seconds) else 0.0


def plan_resume(run: Path, epochs: int | None = None,
                suspects: bool = True) -> tuple[Recipe, bool]:
    """The recipe ``run`` resumes with (up to ``epochs`` in all if given) and whether it has a
    checkpoint to continue from (without one it starts again, in the same folder);
    WorkbenchError if it cannot or need not train further. Reads only: the CLI calls it before
    Keras loads, and training again under the run's lock. ``suspects``: check the suspect list
    too (not when the caller has read it already)."""
    from workbench.engine.config import TrainConfig
    from workbench.engine.review import read_suspects

    try:
        config = TrainConfig.from_dict(read_json(run / "config.json")).resolved()
    except (TypeError, ValueError, WorkbenchError) as error:
        raise RunDamaged(run, "config.json holds a recipe that cannot be trained ("
                         f"{shown(str(error).rstrip('.'), 120)})") from None
    done = int(read_json(run / "state.json").get("epoch", 0))
    checkpoint = (run / "last.keras").is_file()
    name = shown(run.name)
    if done and not checkpoint:
        raise WorkbenchError(f"{name} has done {done} epochs but its checkpoint last.keras is "
                             "gone, so it cannot continue; start a new run.")
    if epochs is not None and epochs < 1:
        raise WorkbenchError(f"the epochs must be at least 1 (got {epochs})",
                             ("give the number of epochs the run reaches in all (",
                              Option("epochs"), ")."))
    if epochs is not None and epochs <= done:
        raise WorkbenchError(f"{name} has done {done} epochs already",
                             (f"give more than {done} epochs in all (", Option("epochs"),
                              ") to train it further."))
    if epochs is None and recorded_status(run) == "finished":
        done_all = (f"has done all {done} of its epochs" if done >= config.epochs else
                    f"has finished after {done} of its {config.epochs} epochs (early stopping)")
        raise WorkbenchError(f"{name} {done_all}",
                             (f"give more than {done} epochs in all (", Option("epochs"),
                              ") to train it further."))
    if suspects and config.exclude_suspects:
        read_suspects(strict=True)
    # Killed after its last epoch but before its predictions: it fits nothing, and predicts.
    return (config if epochs is None else replace(config, epochs=epochs)), checkpoint


def summarize(run: Path) -> RunSummary:
    """The run's line of ``runs list``; RunDamaged if its folder is damaged."""
    check_run(run)
    config = read_json(run / "config.json")
    state = read_json(run / "state.json")
    ids = held_out_ids(run)
    return RunSummary(
        id=run.name, path=run, model=config["model"], status=run_status(run),
        epochs_done=len(read_history(run)), epochs=config["epochs"],
        best_val_accuracy=state.get("best_val_accuracy"),
        duration_s=recorded_seconds(run), data=trained_on(config.get("data"), ids),
        held_out=len(ids), config=config,
    )


def trained_on(data: object, held_out: list[int]) -> str:
    """What a run trained on, in a word: "full" (Kaggle's 42,000 labelled rows, told by the
    train ids it held out, ``held_out``: the largest is within a few rows of the last),
    "sample" (the embedded sample), else the --data path it was given (its end, if long)."""
    from workbench.engine.data import KAGGLE_TRAIN, sample_path

    if held_out and max(held_out) > 0.95 * KAGGLE_TRAIN:
        return "full"
    if data is None or str(data) == str(sample_path()):
        return "sample"
    text = shown(str(data))
    return text if len(text) <= 24 else "..." + text[-21:]


def held_out_ids(run: Path) -> list[int]:
    """The train ids (1-based rows) in the run's val_predictions.npz; none if it has none or
    it cannot be read (``check_run`` says why)."""
    import numpy as np

    try:
        with np.load(run / "val_predictions.npz", allow_pickle=False) as saved:
            ids = saved["ids"]
        return (ids.astype(np.int64).ravel().tolist()
                if ids.size and np.issubdtype(ids.dtype, np.integer) else [])
    except Exception:  # missing, cut short, damaged: np.load raises many kinds
        return []


def _damaged(run: Path, error: RunDamaged) -> RunSummary:
    model = read_json(run / "config.json").get("model") if os.path.isdir(run) else None
    return RunSummary(run.name, run, model if isinstance(model, str) else "?", "damaged", 0, 0,
                      None, 0.0, f"{error.reason}; {delete_hint(run)}")


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
            summaries.append(summarize(run))
        except RunDamaged as error:
            summaries.append(_damaged(run, error))
    return summaries


def find_run(ref: str, runs_dir: Path = RUNS_DIR, damaged: bool = False) -> Path:
    """A run by folder path, id, unique id prefix, or 'last' (the newest that is not damaged);
    RunDamaged for a damaged one unless ``damaged``."""
    if not ref:
        raise WorkbenchError("give a run: its id, a unique prefix of it, its folder, or 'last'.")
    direct = Path(ref)
    if os.path.lexists(direct / "config.json") or ("/" in ref and os.path.lexists(direct)
                                                    and RUN_ID.fullmatch(direct.name)):
        run = direct
    elif ref == "last":
        healthy = [run for run in reversed(run_folders(runs_dir)) if _healthy(run)]
        if not healthy:
            raise WorkbenchError(f"no runs in {runs_dir} yet; start one with 'workbench-engine "
                                 "train'.")
        return healthy[0]
    else:
        folders = run_folders(runs_dir)
        matches = [path for path in folders if path.name == ref] or [
            path for path in folders if path.name.startswith(ref)]
        if not matches:
            raise WorkbenchError(_not_a_run(ref, runs_dir))
        if len(matches) > 1:
            raise WorkbenchError(f"'{shown(ref)}' matches {len(matches)} runs in {runs_dir}; "
                                 "give more of the id.")
        run = matches[0]
    if not damaged:
        check_run(run)
    return run


def _healthy(run: Path) -> bool:
    try:
        check_run(run)
    except RunDamaged:
        return False
    return True


def _not_a_run(ref: str, runs_dir: Path) -> str:
    for kind, folder, command in (("a CV", "cv", "cv"), ("an ensemble", "ensembles",
                                                          "ensemble --members")):
        if NAME.fullmatch(ref) and (runs_dir / folder / f"{ref}.json").is_file():
            return (f"'{ref}' is {kind}, not a run; 'workbench-engine runs show' shows runs and "
                    f"CVs, and the same '{command}' command continues it.")
    return (f"no run '{shown(ref)}' in {runs_dir}; 'workbench-engine runs list' shows the runs.")


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
