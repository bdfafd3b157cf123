"""Helpers for the Selects that list runs or files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from textual.widgets import Select

from workbench.engine.runs.listing import list_runs
from workbench.engine.runs.run import Run
from workbench.engine.store import workspace


def runs_with(file: Callable[[Run], Path]) -> list[Run]:
    """The runs (newest first) that hold ``file``: one of a run's files, such as
    ``lambda run: run.best_checkpoint``."""
    found = (Run(summary.path) for summary in reversed(list_runs(workspace.runs_dir())))
    return [run for run in found if file(run).is_file()]


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
