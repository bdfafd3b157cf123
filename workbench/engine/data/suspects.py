"""The suspect-label list: train ids whose labels look wrong, which training can exclude
(``runs/suspects.csv``, header ``id``, one id a line)."""

from __future__ import annotations

from pathlib import Path

from workbench.engine.errors import WorkbenchError, shown
from workbench.engine.store import files, workspace
from workbench.engine.store.atomic import write_atomic

MAX_ID = 9  # digits of a train id: a row of a CSV of at most 999,999,999 rows


def read_suspects(path: Path | None = None, strict: bool = False) -> set[int]:
    """Train ids flagged as suspect labels (one per line after the header 'id'); none if there
    is no file. Lines that are not ids are skipped, or with ``strict`` (training on the list)
    refused: WorkbenchError naming the file and the line, as is a file that cannot be read.
    ``path`` defaults to the workspace's list."""
    path = path or workspace.suspects_file()
    try:
        text = files.read_text(path, errors="strict" if strict else "replace")
    except ValueError as error:
        if strict:
            raise WorkbenchError(f"{error} ({shown(str(path))}); fix or delete it.") from None
        return set()
    lines = (text or "").splitlines()
    if strict and lines and lines[0].strip() != "id":
        raise WorkbenchError(f"{shown(str(path))} does not start with the header 'id'; fix "
                             "or delete it.")
    suspects = set()
    for number, line in enumerate(lines[1:], 2):
        if line.strip().isdigit() and line.strip().isascii() and len(line.strip()) <= MAX_ID:
            suspects.add(int(line))
        elif strict and line.strip():
            raise WorkbenchError(f"line {number} of {shown(str(path))} "
                                 f"('{shown(line, 20)}') is not a train id; fix or delete "
                                 "that line.")
    return suspects


def toggle_suspect(train_id: int, path: Path | None = None) -> bool:
    """Flag ``train_id`` as a suspect label, or unflag it; returns whether it is now flagged.
    The file is edited as bytes: lines that are not ids (a hand edit, a stray byte) are kept,
    so no toggle loses any of it."""
    path = path or workspace.suspects_file()
    try:
        lines = (files.read_small(path) or b"").splitlines()
    except ValueError as error:  # a FIFO, a folder, too large: never waited on, never replaced
        raise WorkbenchError(f"{error} ({shown(str(path))}); move it aside to flag "
                             "suspects again.") from None
    header, body = (lines[0], lines[1:]) if lines else (b"id", [])
    ids = {int(line) for line in body if line.strip().isdigit()}
    others = [line for line in body if not line.strip().isdigit()]
    flagged = train_id not in ids
    ids = ids | {train_id} if flagged else ids - {train_id}
    write_atomic(path, b"\n".join([header, *others, *(str(i).encode() for i in sorted(ids))])
                 + b"\n")
    return flagged
