"""A cache of parsed CSVs as uncompressed ``.npz`` files, one per source file.

Each entry is named by the source (path, zip member, kind) and holds a stamp of its content
(size and mtime, or a zip member's CRC): when the source changes, the stamp no longer matches
and the entry is rebuilt in place. The cache is only an accelerator: an entry that is damaged
(truncated, bit-flipped, not an npz, arrays of the wrong shape or range) is rebuilt, and a cache
that cannot be read or written (a file where the folder belongs, read-only, full) is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from workbench.engine.data.csvformat import SIDE, Table
from workbench.engine.store.atomic import write_atomic

FORMAT = "1"


def cache_dir() -> Path:
    """``$WORKBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/workbench``, else ``~/.cache/workbench``."""
    if os.environ.get("WORKBENCH_CACHE_DIR"):
        return Path(os.environ["WORKBENCH_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "workbench"


def entry_path(source: str) -> Path:
    """The entry file for ``source`` (a path that was not UTF-8 keeps its raw bytes in the key)."""
    key = hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir() / f"{key}.npz"


def cached_table(source: str, stamp: str, build: Callable[[], Table],
                 labelled: bool | None = None) -> Table:
    """Return the cached Table for ``source`` if its ``stamp`` matches, else build and store it.

    ``labelled`` says whether the table must have labels (None: either)."""
    path = entry_path(source)
    stamp = f"{FORMAT}:{stamp}"
    table = _read(path, stamp, labelled)
    if table is None:
        table = build()
        _write(path, stamp, table)
    return table


def _read(path: Path, stamp: str, labelled: bool | None) -> Table | None:
    """The entry's table, or None when it is missing, stale or damaged in any way.

    Any exception counts as damage: a bit flip can surface as BadZipFile, zlib.error,
    ValueError, EOFError, MemoryError and more, and a wrong cache must never stop a command."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                return None  # a FIFO or device would block or never end
            with np.load(file, allow_pickle=False) as entry:
                if str(entry["stamp"]) != stamp:
                    return None
                images = entry["images"]
                # The entry says whether it holds labels: a bit flip in a member's name (which
                # no CRC covers) must not pass a labelled table off as one without labels.
                if bool(entry["labelled"]) != ("labels" in entry.files):
                    return None
                labels = entry["labels"] if "labels" in entry.files else None
    except Exception:  # any damage at all: see the docstring
        return None
    table = Table(images, labels)
    return table if _valid(table, labelled) else None


def _valid(table: Table, labelled: bool | None) -> bool:
    """Whether a table read back has the shapes and ranges a parsed CSV always has."""
    images, labels = table.images, table.labels
    if not (isinstance(images, np.ndarray) and images.dtype == np.uint8
            and images.shape[1:] == (SIDE, SIDE) and images.ndim == 3):
        return False
    if labels is None:
        return labelled is not True
    return (labelled is not False and isinstance(labels, np.ndarray) and labels.dtype == np.uint8
            and labels.shape == (len(images),) and (not labels.size or int(labels.max()) <= 9))


def _write(path: Path, stamp: str, table: Table) -> None:
    arrays: dict[str, Any] = {"stamp": np.array(stamp), "images": table.images,
                              "labelled": np.array(table.labels is not None)}
    if table.labels is not None:
        arrays["labels"] = table.labels
    with contextlib.suppress(OSError):
        write_atomic(path, lambda out: np.savez(out, **arrays))
