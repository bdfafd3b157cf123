"""What this machine sent to Kaggle, in the cache folder (never a credential): ``sent.json``
notes each submission made here (file, run, content hash, message, Kaggle's ref), since
Kaggle's history names only the file and the message; ``pending.json`` journals a submit whose
outcome is unknown, so that the same command looks before it submits again. Both are advisory:
one that cannot be read counts as empty."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from workbench.engine.data.cache import cache_dir
from workbench.engine.results.submission import COMPETITION
from workbench.engine.store.atomic import write_atomic
from workbench.engine.store.files import parse_json, read_small
from workbench.engine.store.locks import locked

SENT_KEPT = 1000  # entries of sent.json: years of daily submissions
SENT_LIMIT = 4 << 20  # bytes: SENT_KEPT entries take ~0.5 MB


def sent_before(path: Path, competition: str = COMPETITION) -> dict | None:
    """The newest note of this file's content sent to ``competition`` from here, if any."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return sent_entry(digest, competition)


def sent_entry(digest: str, competition: str) -> dict | None:
    """The newest note in sent.json of content ``digest`` sent to ``competition``."""
    return next((entry for entry in reversed(sent()) if entry.get("sha256") == digest
                 and entry.get("competition") == competition), None)


def journal_path() -> Path:
    return cache_dir() / "kaggle" / "pending.json"


def journal() -> dict:
    """Unfinished submits: key -> start time. An unreadable journal counts as empty."""
    entries = _saved(journal_path())
    return entries if isinstance(entries, dict) else {}


def sent_path() -> Path:
    return cache_dir() / "kaggle" / "sent.json"


def sent() -> list[dict]:
    """What was sent from here, oldest first; an unreadable log counts as empty (the history
    then shows what Kaggle knows)."""
    entries = _saved(sent_path())
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def note_sent(entry: dict) -> None:
    """Add ``entry`` to sent.json, in place of a note of the same Kaggle ref, keeping the last
    SENT_KEPT; best effort, like the journal."""
    ref, competition = entry.get("ref"), entry.get("competition")
    with contextlib.suppress(OSError), locked(sent_path().with_name(".sent.lock")):
        entries = [e for e in sent() if not (ref and e.get("ref") == ref
                                             and e.get("competition") == competition)]
        write_atomic(sent_path(), json.dumps((entries + [entry])[-SENT_KEPT:]).encode())


def _saved(path: Path) -> object:
    """The JSON in one of this module's own files; None if it is missing or cannot be read as
    JSON (a FIFO, a device, too large, damaged, nested too deep): both are advisory."""
    try:
        data = read_small(path, SENT_LIMIT)
        return None if data is None else parse_json(data, path.name)
    except ValueError:
        return None


def write_journal(entries: dict) -> None:
    """Best effort: a cache folder that cannot be written must not stop a submission (only
    the next command's look-first is lost)."""
    with contextlib.suppress(OSError):
        write_atomic(journal_path(), json.dumps(entries).encode())

