"""Helpers for the Selects that list runs or files."""

from __future__ import annotations

from textual.widgets import Select

from workbench.engine.runs import RUNS_DIR, list_runs


def runs_with(file_name: str) -> list[str]:
    """Ids of the runs (newest first) whose folder holds ``file_name``."""
    return [r.id for r in reversed(list_runs(RUNS_DIR)) if (r.path / file_name).is_file()]


def refill(select: Select, values: list[str]) -> bool:
    """Replace the options, keeping the current choice when it is still there (else the first).

    Returns whether there is anything to choose."""
    current = None if select.is_blank() else select.value
    select.set_options([(value, value) for value in values])
    if values:
        select.value = current if current in values else values[0]
    return bool(values)
