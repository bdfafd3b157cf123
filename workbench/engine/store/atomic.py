"""Atomic file writes: a temp file in the same folder, then a rename: no reader sees half a file.

Fault injection, for the crash tests only: with ``WORKBENCH_KILL_AT=N`` in the environment the
process kills itself with SIGKILL at the Nth ``fault_point`` (one before and one inside each
``write_file``), as ``kill -9`` or a power cut would."""

from __future__ import annotations

import json
import os
import signal
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
