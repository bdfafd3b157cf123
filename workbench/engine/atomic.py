"""Atomic file writes: a temp file in the same folder, then a rename: no reader sees half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, content: bytes | Callable[[BinaryIO], object]) -> None:
    """Write ``content`` (bytes, or a function that writes to a binary file) to ``path`` atomically.

    On failure the old file is untouched, the temp file is removed, and an OSError names ``path``
    (not the temp file)."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            if isinstance(content, bytes):
                out.write(content)
            else:
                content(out)
        os.replace(tmp, path)
    except BaseException as error:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise naming(error, path) from None
        raise


def naming(error: OSError, path: Path) -> OSError:
    """``error`` with ``path`` as its file name, when it names none or a temp file."""
    if error.filename and ".tmp" not in str(error.filename):
        return error
    return type(error)(error.errno, error.strerror or str(error), str(path))
