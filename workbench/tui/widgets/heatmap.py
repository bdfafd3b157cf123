"""The convergence search as a heatmap: rows are optimizers (by schedule, or the best of their
schedules), columns are learning rates, each cell its best validation accuracy and the epoch it
converged at, coloured from the grid's worst to its best on a log scale of the error rate (so
99.1% stands apart from 96.5% even beside a trial that diverged at 11%). A DataTable, so arrows
move a cell cursor and Enter opens the cell's trial."""

from __future__ import annotations

import math

from rich.text import Text
from textual.binding import Binding
from textual.color import Gradient
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from workbench.engine.events import Trial
from workbench.engine.plans.search import SearchSpace

# Dark enough under white text at every point: red (diverged) through amber to green (best).
RAMP = Gradient((0.0, "#7a2323"), (0.5, "#7a5f14"), (1.0, "#1f6b35"))


def row_label(optimizer: str, schedule: str | None) -> str:
    return optimizer if schedule is None else f"{optimizer} {schedule}"


Row = tuple[str, str | None]  # (optimizer, schedule), or (optimizer, None): its best schedule
Cell = tuple[Row, float]  # a row and a learning rate


class Heatmap(DataTable):
    """Cells keyed by row and learning rate (``Cell``); ``cells`` holds the trial each shows."""

    BINDINGS = [Binding("enter", "select_cursor", "Open trial", id="search.open")]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="cell", cursor_background_priority="css", **kwargs)
        self.axes: tuple[list[Row], list[float]] = ([], [])
        self.cells: dict[Cell, Trial] = {}

    def show(self, space: SearchSpace, trials: list[Trial], by_schedule: bool) -> None:
        """Draw ``trials`` on the grid ``space``: in place when the axes are the same (the
        cursor stays), else rebuilt with the cursor on the same row and column if still there."""
        rows: list[Row] = (
            [(o, s) for o in space.optimizers for s in space.schedules] if by_schedule
            else [(o, None) for o in space.optimizers])
        rates = list(space.learning_rates)
        self.cells = {}
        for trial in trials:  # best first: the first trial met is the cell's
            row = (trial.optimizer, trial.schedule if by_schedule else None)
            if row in rows and trial.learning_rate in rates:
                self.cells.setdefault((row, trial.learning_rate), trial)
        errors = {id(t): -math.log(max(1 - t.best_val_accuracy, 1e-4)) for t in self.cells.values()}
        low, high = (min(errors.values()), max(errors.values())) if errors else (0.0, 0.0)

        def cell(r: int, c: int) -> Text:
            trial = self.cells.get((rows[r], rates[c]))
            if trial is None:  # a new Text each time: rendering may change one in place
                return Text(f"{'·':^9}", style="dim")
            share = 1.0 if high == low else (errors[id(trial)] - low) / (high - low)
            return Text(f"{100 * trial.best_val_accuracy:.2f}% @{trial.epochs_to_converge}",
                        style=f"bold #ffffff on {RAMP.get_color(share).hex}")

        if (rows, rates) == self.axes:
            for r in range(len(rows)):
                for c in range(len(rates)):
                    self.update_cell_at(Coordinate(r, c), cell(r, c))
            return
        old_rows, old_rates = self.axes
        cursor = self.cursor_coordinate
        self.clear(columns=True)
        self.axes = (rows, rates)
        for rate in rates:
            self.add_column(Text(f"lr {rate:g}", justify="center"), width=9)
        for r, (optimizer, schedule) in enumerate(rows):
            self.add_row(*(cell(r, c) for c in range(len(rates))),
                         label=row_label(optimizer, schedule))
        if old_rows and rows and rates:
            row = old_rows[min(cursor.row, len(old_rows) - 1)]
            rate = old_rates[min(cursor.column, len(old_rates) - 1)]
            same = [i for i, r in enumerate(rows) if r == row] or \
                [i for i, r in enumerate(rows) if r[0] == row[0]] or [0]  # rows regrouped
            self.cursor_coordinate = Coordinate(same[0], rates.index(rate) if rate in rates else 0)

    def cell_at(self, coordinate: Coordinate) -> Cell | None:
        rows, rates = self.axes
        if coordinate.row < len(rows) and coordinate.column < len(rates):
            return rows[coordinate.row], rates[coordinate.column]
        return None

    def has(self, cell: Cell) -> bool:
        """Whether the grid drawn has this cell (finished or pending)."""
        return cell[0] in self.axes[0] and cell[1] in self.axes[1]


def cell_name(cell: Cell) -> str:
    """The cell in words: 'adam constant, lr 0.01'."""
    return f"{row_label(*cell[0])}, lr {cell[1]:g}"
