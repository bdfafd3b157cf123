"""Export the competition as PNG files in the folder layout image loaders read.

``train/<label>/<id>.png`` and ``test/<id>.png`` with zero-padded ids, so alphabetical order is
ImageId order. Parallel over cores, atomic per file, resumable: files already there are skipped.
"""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from workbench.engine.atomic import write_atomic
from workbench.engine.data import Competition

CHUNK = 500


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
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count(),
                             initializer=_ignore_sigint) as pool:
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


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _write_chunk(items: list[tuple[str, bytes]]) -> int:
    for path, pixels in items:
        buffer = io.BytesIO()
        Image.frombytes("L", (28, 28), pixels).save(buffer, format="PNG")
        write_atomic(Path(path), buffer.getvalue())
    return len(items)
