"""Export the competition as PNG files in the folder layout image loaders read.

``train/<label>/<id>.png`` and ``test/<id>.png`` with zero-padded ids, so alphabetical order is
ImageId order. Parallel over cores, atomic per file, resumable: files already there are skipped.
The worker processes die with the main one, even by ``kill -9``.
"""

from __future__ import annotations

import ctypes
import io
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from workbench.engine.data.competition import Competition
from workbench.engine.store.atomic import write_atomic

CHUNK = 500
PR_SET_PDEATHSIG = 1  # linux/prctl.h
_LINUX = sys.platform.startswith("linux")


@dataclass(frozen=True)
class ExportResult:
    written: int
    skipped: int


def png_paths(competition: Competition) -> Iterator[tuple[str, np.ndarray]]:
    """Relative path and image of every PNG of the export, train first, in id order."""
    width = len(str(competition.n_train))
    for row, (image, label) in enumerate(zip(competition.train_images, competition.train_labels)):
        yield f"train/{label}/{row + 1:0{width}d}.png", image
    width = len(str(competition.n_test))
    for image_id, image in zip(competition.test_ids, competition.test_images):
        yield f"test/{image_id:0{width}d}.png", image


def export_png(
    competition: Competition,
    out: Path,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Write the PNGs under ``out``; ``on_progress(done, total)`` is called as chunks finish."""
    existing = _existing_files(out)
    todo = [(str(out / rel), image.tobytes()) for rel, image in png_paths(competition)
            if rel not in existing]
    skipped = competition.n_train + competition.n_test - len(todo)
    chunks = [todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)]
    done = 0
    if on_progress:
        on_progress(done, len(todo))
    if not chunks:
        return ExportResult(written=0, skipped=skipped)
    # fork on Linux whatever the default (3.14's forkserver would sit between us and the
    # workers), so that each worker's parent is this process and dies-with-parent works.
    context = multiprocessing.get_context("fork" if _LINUX else "spawn")
    with ProcessPoolExecutor(max_workers=min(workers or os.cpu_count() or 1, len(chunks)),
                             mp_context=context, initializer=_worker_init,
                             initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(_write_chunk, chunk) for chunk in chunks]
        try:
            for future in as_completed(futures):
                done += future.result()
                if on_progress:
                    on_progress(done, len(todo))
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return ExportResult(written=done, skipped=skipped)


def _existing_files(out: Path) -> set[str]:
    """Relative paths of the PNGs already written; leftover temp files are removed."""
    found = set()
    for folder, _, files in os.walk(out):
        for name in files:
            if name.startswith(".") and name.endswith(".tmp"):
                os.unlink(os.path.join(folder, name))
            elif name.endswith(".png"):
                found.add(os.path.relpath(os.path.join(folder, name), out).replace(os.sep, "/"))
    return found


def _worker_init(parent: int) -> None:
    """Ignore Ctrl-C (the parent stops the pool) and die with the parent, even by ``kill -9``:
    an orphaned worker would otherwise wait for work forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _LINUX:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _write_chunk(items: list[tuple[str, bytes]]) -> int:
    for path, pixels in items:
        buffer = io.BytesIO()
        Image.frombytes("L", (28, 28), pixels).save(buffer, format="PNG")
        write_atomic(Path(path), buffer.getvalue())
    return len(items)
