"""Shared terminal output for the CLI: consoles and the progress bar with ETA."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn,
                           TextColumn, TimeElapsedColumn, TimeRemainingColumn)

out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def progress_bar() -> Progress:
    """A bar with count, percentage, elapsed time and ETA, drawn on stderr."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TaskProgressColumn(), TimeElapsedColumn(), TextColumn("ETA"),
                    TimeRemainingColumn(), console=err)


def bar_chart(counts: dict[int, int], width: int = 40) -> list[str]:
    """One line per key: a bar scaled to the largest count, the count and its share."""
    total = sum(counts.values()) or 1
    top = max(counts.values(), default=0) or 1
    return [f"{key:>3} {'█' * round(width * n / top):<{width}} {n:>7,} {100 * n / total:5.1f}%"
            for key, n in counts.items()]


def labelled(label: str, text: str = "") -> Text:
    """A bold label followed by plain text."""
    return Text.assemble((label, "bold"), "  " if text else "", text)
