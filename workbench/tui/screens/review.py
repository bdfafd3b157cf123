"""Review: a run's validation accuracy, a heat-coloured confusion matrix, the mistakes by
confidence with their top-3 guesses; flag a training row as a suspect label."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Select, Static

from workbench.engine.errors import WorkbenchError, user_message
from workbench.engine.render import digit_blocks
from workbench.engine.review import Mistake, Review, read_suspects, review_run, toggle_suspect
from workbench.engine.runs import RUNS_DIR
from workbench.tui.widgets.choices import refill, runs_with
from workbench.tui.widgets.digit_grid import DigitGrid


def heat(count: int, top: int, diagonal: bool) -> Text:
    """A confusion-matrix cell: green on the diagonal, red off it, brighter for more."""
    if not count:
        return Text("·", style="dim", justify="right")
    level = 80 + int(175 * min(1.0, count / max(top, 1)) ** 0.5)
    colour = f"rgb(0,{level},0)" if diagonal else f"rgb({level},40,40)"
    return Text(str(count), style=f"bold {colour}", justify="right")


class ReviewScreen(Screen):
    BINDINGS = [
        Binding("f", "flag", "Flag suspect", id="review.flag"),
        Binding("escape", "all_mistakes", "All mistakes", id="review.all"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.review: Review | None = None
        self.shown: list[Mistake] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Select([], prompt="choose a run", id="review-run")
        with Horizontal():
            with Vertical(id="matrix-side"):
                yield Static("", id="review-summary", markup=False)
                yield DataTable(id="confusion", cursor_type="cell")
            yield DigitGrid(id="mistakes")
            yield Static("", id="mistake-detail")
        yield Footer()

    def on_screen_resume(self) -> None:
        if not refill(self.query_one("#review-run", Select), runs_with("val_predictions.npz")):
            self.query_one("#review-summary", Static).update(
                "No run with validation predictions yet: train one (t).")

    def on_select_changed(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str):
            return
        try:
            self.review = review_run(RUNS_DIR / str(event.value))
        except (WorkbenchError, OSError) as error:
            self.notify(user_message(error), severity="error")
            return
        self._draw_matrix()
        self.action_all_mistakes()

    def _draw_matrix(self) -> None:
        review = self.review
        table = self.query_one("#confusion", DataTable)
        table.clear(columns=True)
        table.add_column("true\\pred", key="true")
        for digit in range(10):
            table.add_column(str(digit), key=str(digit))
        top = int(review.confusion.max())
        for true in range(10):
            table.add_row(Text(str(true), style="bold"),
                          *(heat(int(review.confusion[true, p]), top, true == p)
                            for p in range(10)), key=str(true))

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        row, column = event.coordinate.row, event.coordinate.column
        if self.review is not None and column >= 1:
            self._show(self.review.cell(row, column - 1), f"true {row}, predicted {column - 1}")

    def action_all_mistakes(self) -> None:
        if self.review is not None:
            self._show(self.review.mistakes, "all mistakes")

    def _show(self, mistakes: list[Mistake], what: str) -> None:
        self.shown = mistakes
        competition = self.app.competition
        grid = self.query_one("#mistakes", DigitGrid)
        if competition is None:
            self.notify("The data is still loading.", severity="warning")
            return
        suspects = read_suspects()
        captions = [f"{m.label}→{m.predicted} {100 * m.confidence:.0f}%"
                    + (" !" if m.id in suspects else "") for m in mistakes]
        grid.show(competition.train_images, np.array([m.id - 1 for m in mistakes], dtype=int),
                  captions)
        self.query_one("#review-summary", Static).update(
            f"validation accuracy {100 * self.review.accuracy:.2f}% on "
            f"{int(self.review.confusion.sum()):,} rows; {len(self.review.mistakes)} mistakes\n"
            f"showing {len(mistakes)}: {what} (select a cell; esc: all)")

    def on_digit_grid_selected(self, message: DigitGrid.Selected) -> None:
        detail = self.query_one("#mistake-detail", Static)
        if not self.shown or self.app.competition is None:
            detail.update("")
            return
        mistake = self.shown[message.position]
        image = self.app.competition.train_images[mistake.id - 1]
        guesses = "\n".join(f"  {digit}: {100 * p:5.1f}%" for digit, p in mistake.top3)
        flagged = " (flagged as suspect)" if mistake.id in read_suspects() else ""
        detail.update(Text.assemble(digit_blocks(image), "\n", (
            f"train #{mistake.id}{flagged}\nlabel {mistake.label}, predicted "
            f"{mistake.predicted}\ntop 3:\n{guesses}")))

    def action_flag(self) -> None:
        grid = self.query_one("#mistakes", DigitGrid)
        if not self.shown:
            return
        mistake = self.shown[grid.cursor]
        try:
            flagged = toggle_suspect(mistake.id)
        except OSError as error:
            self.notify(user_message(error), severity="error")
            return
        self.notify(f"train #{mistake.id} {'flagged as a suspect label' if flagged else 'unflagged'}"
                    "; train with --exclude-suspects to leave suspects out.")
        self.on_digit_grid_selected(DigitGrid.Selected(grid.cursor))
