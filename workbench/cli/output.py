"""Shared terminal output for the CLI: consoles and the progress bar with ETA."""

from __future__ import annotations

import argparse
import errno
import threading
from collections.abc import Callable

from rich.console import Console, ConsoleDimensions
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from workbench.engine.errors import printable
from workbench.render import bar_chart


class CliConsole(Console):
    """A console that, when its reader goes away (``| head``), raises BrokenPipeError for main()
    to end quietly; rich's own handler exits with status 1 from whichever thread noticed."""

    @property
    def size(self) -> ConsoleDimensions:
        """A terminal's size; unbounded when the output is a pipe or a file, so that no table
        cuts an id or a path short for the script that reads it."""
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(UNBOUNDED, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]

    def on_broken_pipe(self) -> None:
        self.quiet = True
        if threading.current_thread() is threading.main_thread():
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")


NO_COMMON_ROWS = ("its members held out no row in common (CV folds, or refits on every row); "
                  "a CV's out-of-fold accuracy is the figure to trust")
UNBOUNDED = 1 << 16  # columns of output that is not a terminal
RUNS_DIR_HELP = ("the runs folder (default: runs/ of the workspace: $WORKBENCH_HOME, else the "
                 "nearest folder from here up that holds runs/, else here)")
out = CliConsole(highlight=False, soft_wrap=True, markup=False)
err = CliConsole(stderr=True, highlight=False, soft_wrap=True, markup=False)


def whole_number(minimum: int, too_small: str) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``; ``too_small`` (formatted with
    ``value``) says why a smaller one is refused. Checked at the edge, before any work."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{printable(text)}' is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(too_small.format(value=value))
        return value

    return parse


def progress_bar() -> Progress:
    """A bar with count, percentage, elapsed time and ETA, drawn on stderr."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TaskProgressColumn(), TimeElapsedColumn(), TextColumn("ETA"),
                    TimeRemainingColumn(), console=err)


def digit_bars(counts: dict[int, int], width: int) -> Text:
    """A line per digit: a bar scaled to the largest count, the count and its share."""
    total = sum(counts.values()) or 1
    return bar_chart([counts.get(digit, 0) for digit in range(10)], width,
                     value=lambda n: f"{n:>7,} {100 * n / total:5.1f}%")


def labelled(label: str, text: str = "") -> Text:
    """A bold label followed by plain text."""
    return Text.assemble((label, "bold"), "  " if text else "", text)
