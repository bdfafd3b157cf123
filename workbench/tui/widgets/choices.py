"""Helpers for the Selects that list runs or files."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import Select

from workbench.engine.runs.listing import list_runs
from workbench.engine.store import workspace


def runs_with(file_name: str) -> list[str]:
    """Ids of the runs (newest first) whose folder holds ``file_name``."""
    return [r.id for r in reversed(list_runs(workspace.runs_dir()))
            if (r.path / file_name).is_file()]


def refill(select: Select, choices: Sequence[str | tuple[str, str]]) -> bool:
    """Replace the options (values shown as they are, or (label, value) pairs), keeping the
    current choice when it is still there (else the first).

    Returns whether there is anything to choose."""
    current = None if select.is_blank() else select.value
    options = [(c, c) if isinstance(c, str) else c for c in choices]
    values = [value for _, value in options]
    select.set_options(options)
    if values:
        select.value = current if current in values else values[0]
    return bool(values)
