"""A cache of parsed CSVs as uncompressed ``.npz`` files, one per source file.

Each entry is named by the source (path, zip member, kind) and holds a stamp of its content
(size and mtime, or a zip member's CRC): when the source changes, the stamp no longer matches
and the entry is rebuilt in place. The cache is only an accelerator: a cache that cannot be
read or written is ignored.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from workbench.engine.atomic import write_atomic
from workbench.engine.csvformat import Table

FORMAT = "1"


def cache_dir() -> Path:
    """``$WORKBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/workbench``, else ``~/.cache/workbench``."""
    if os.environ.get("WORKBENCH_CACHE_DIR"):
        return Path(os.environ["WORKBENCH_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "workbench"


def cached_table(source: str, stamp: str, build: Callable[[], Table]) -> Table:
    """Return the cached Table for ``source`` if its ``stamp`` matches, else build and store it."""
    path = cache_dir() / (hashlib.sha256(source.encode()).hexdigest()[:32] + ".npz")
    stamp = f"{FORMAT}:{stamp}"
    table = _read(path, stamp)
    if table is None:
        table = build()
        _write(path, stamp, table)
    return table


def _read(path: Path, stamp: str) -> Table | None:
    try:
        with np.load(path) as entry:
            if str(entry["stamp"]) != stamp:
                return None
            labels = entry["labels"] if "labels" in entry.files else None
            return Table(entry["images"], labels)
    except (OSError, ValueError, KeyError, EOFError):
        return None


def _write(path: Path, stamp: str, table: Table) -> None:
    arrays = {"stamp": np.array(stamp), "images": table.images}
    if table.labels is not None:
        arrays["labels"] = table.labels
    try:
        write_atomic(path, lambda out: np.savez(out, **arrays))
    except OSError:
        pass
