"""A run's events on disk: ``events.jsonl`` in its folder, one event a line, appended as training
goes, so any process can watch a run live (the app watches its own trainings this way too, and
runs started by the CLI, over SSH, by a search or a CV).

The log is advisory: a write that fails (a full disk) stops the logging, never the training. A
``kill -9`` can cut the last line short; the next writer starts a fresh line and readers skip
any line that does not parse.
"""

from __future__ import annotations

import json
import math
import os
import stat
import time
from dataclasses import asdict, fields
from pathlib import Path

from workbench.engine import events
from workbench.engine.events import Event
from workbench.engine.runs import listing, run as runs

EVENTS_FILE = "events.jsonl"
KINDS: dict[str, type] = {cls.__name__: cls for cls in (
    events.TrainStarted, events.BatchEnded, events.EpochEnded, events.Predicting,
    events.TrainFinished, events.MemberStarted)}
MAX_READ = 4 << 20  # bytes read at one poll: a watcher catches up over several polls


class EventLog:
    """A subscriber that appends each event to ``run/events.jsonl``."""

    def __init__(self, run: Path) -> None:
        self.path: Path | None = run / EVENTS_FILE
        try:
            with _opened(self.path, os.O_RDONLY) as log:  # a line cut short by a kill: end it
                log.seek(-1, os.SEEK_END)
                cut = log.read(1) != b"\n"
        except (OSError, ValueError):
            cut = False
        if cut:
            self._append("\n")

    def __call__(self, event: Event) -> None:
        self._append(json.dumps({"event": type(event).__name__, **asdict(event)}) + "\n")

    def _append(self, text: str) -> None:
        if self.path is None:
            return
        try:
            with _opened(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT) as log:
                log.write(text.encode())
        except (OSError, ValueError):  # a full disk, or something that is not a file there
            self.path = None


def _opened(path: Path, flags: int):
    """``path`` opened without waiting (a FIFO or a device in its place would block a plain
    open), as a binary file; ValueError unless it is a regular file."""
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValueError(f"{path.name} is not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb" if flags == os.O_RDONLY else "ab")


def parse(line: bytes) -> Event | None:
    """The event on one line, or None for a line cut short, damaged or of an unknown kind."""
    try:
        record = json.loads(line)
        kind = KINDS[record.pop("event")]
        values = {field.name: record[field.name] for field in fields(kind)
                  if field.name in record}
        if not all(_fits(value, str(field.type)) for field in fields(kind)
                   if (value := values.get(field.name, _ABSENT)) is not _ABSENT):
            return None  # a field of the wrong type: a damaged or forged line
        return kind(**values)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


_ABSENT = object()
_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,),
                                       "bool": (bool,)}


def _fits(value: object, annotation: str) -> bool:
    """Whether a value read from a log is of its field's type ("int", "float | None", ...): a
    bool is no number, a number no text, and a float is finite."""
    kinds = [part.strip() for part in annotation.split("|")]
    if not any(kind in _TYPES or kind == "None" for kind in kinds):
        return True  # a type the log does not check
    if value is None:
        return "None" in kinds
    for kind in kinds:
        allowed = _TYPES.get(kind)
        if allowed is None:
            continue
        if isinstance(value, bool) != (kind == "bool") or not isinstance(value, allowed):
            continue
        return not isinstance(value, float) or math.isfinite(value)
    return False


class EventFollower:
    """Reads a run's events as they are appended: each ``poll`` returns the events of the whole
    lines written since the last one (all of them at the first poll)."""

    def __init__(self, run: Path) -> None:
        self.run = run
        self.path = run / EVENTS_FILE
        self.offset = 0

    def poll(self) -> list[Event]:
        try:
            with _opened(self.path, os.O_RDONLY) as log:
                if os.fstat(log.fileno()).st_size < self.offset:  # replaced: start again
                    self.offset = 0
                log.seek(self.offset)
                chunk = log.read(MAX_READ)
        except (OSError, ValueError):
            return []
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        parsed = (parse(line) for line in chunk[:end].splitlines() if line.strip())
        return [event for event in parsed if event is not None]


def live_runs(runs_dir: Path, within_s: float = 120.0) -> list[Path]:
    """The runs some process is training now, newest first: those whose event log moved in the
    last ``within_s`` seconds and whose lock is held (the log alone could be a killed run's)."""
    now = time.time()
    recent = []
    for run in listing.run_folders(runs_dir):
        try:
            if now - (run / EVENTS_FILE).stat().st_mtime <= within_s:
                recent.append(run)
        except OSError:
            continue
    return [run for run in reversed(recent) if runs.Run(run).running]
