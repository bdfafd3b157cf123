"""Locks that die with their holder (``flock``), and the clean-up only a holder may do."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path


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
