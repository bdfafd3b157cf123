"""A run's events on disk: ``events.jsonl`` in its folder, one event a line, appended as training
goes, so any process can watch a run live (the app watches its own trainings this way too, and
runs started by the CLI, over SSH, by a search or a CV).

The log is advisory: a write that fails (a full disk) stops the logging, never the training. A
``kill -9`` can cut the last line short; the next writer starts a fresh line and readers skip
any line that does not parse.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, fields
from pathlib import Path

from workbench.engine import events, runs
from workbench.engine.events import Event

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
            with open(self.path, "rb") as log:  # a line cut short by a kill: end it
                log.seek(-1, os.SEEK_END)
                cut = log.read(1) != b"\n"
        except OSError:
            cut = False
        if cut:
            self._append("\n")

    def __call__(self, event: Event) -> None:
        self._append(json.dumps({"event": type(event).__name__, **asdict(event)}) + "\n")

    def _append(self, text: str) -> None:
        if self.path is None:
            return
        try:
            with open(self.path, "a", encoding="utf-8") as log:
                log.write(text)
        except OSError:
            self.path = None


def parse(line: bytes) -> Event | None:
    """The event on one line, or None for a line cut short, damaged or of an unknown kind."""
    try:
        record = json.loads(line)
        kind = KINDS[record.pop("event")]
        names = {field.name for field in fields(kind)}
        return kind(**{key: value for key, value in record.items() if key in names})
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class EventFollower:
    """Reads a run's events as they are appended: each ``poll`` returns the events of the whole
    lines written since the last one (all of them at the first poll)."""

    def __init__(self, run: Path) -> None:
        self.run = run
        self.path = run / EVENTS_FILE
        self.offset = 0

    def poll(self) -> list[Event]:
        try:
            with open(self.path, "rb") as log:
                if os.fstat(log.fileno()).st_size < self.offset:  # replaced: start again
                    self.offset = 0
                log.seek(self.offset)
                chunk = log.read(MAX_READ)
        except OSError:
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
    for run in runs.run_folders(runs_dir):
        try:
            if now - (run / EVENTS_FILE).stat().st_mtime <= within_s:
                recent.append(run)
        except OSError:
            continue
    return [run for run in reversed(recent) if runs.is_running(run)]
