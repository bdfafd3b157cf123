"""Review: a run's validation accuracy, or a CV's out-of-fold accuracy over every labelled row; a
heat-coloured confusion matrix, the mistakes by confidence with their top-3 guesses; flag a
training row as a suspect label; go through the suspects a CV proposes, confirming (into
suspects.csv, which training can exclude) or dismissing each."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Gradient
from textual.containers import Horizontal, Vertical
from textual.widgets import ContentSwitcher, DataTable, Header, Select, Static

from workbench.engine.data.suspects import read_suspects, toggle_suspect
from workbench.engine.errors import WorkbenchError
from workbench.engine.plans.cv import (
    CVSummary,
    Suspect,
    list_cvs,
    read_proposed,
    read_summary,
    review_cv,
)
from workbench.engine.plans.dismissed import read_dismissed, toggle_dismissed
from workbench.engine.results.review import Mistake, Review, confused_pairs, review_run
from workbench.engine.runs.run import Run
from workbench.engine.store import workspace
from workbench.render import digit_blocks
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.choices import refill, runs_with
from workbench.tui.widgets.digit_grid import DigitGrid
from workbench.tui.widgets.keybar import KeyBar
from workbench.tui.workers import say

CV_PREFIX = "cv/"  # a choice naming a CV, not a run: neither a run id nor a CV name holds '/'
T = TypeVar("T")
# From few to most (of its kind): pale to vivid; every shade reads on the dark table (contrast
# 4.5:1 or more), where the dark reds of a brightness scale did not.
RIGHT = ((150, 200, 150), (60, 255, 60))
# Dark red to yellow; white text on the dark half, black on the bright (4.5:1 either way).
HEAT = Gradient((0.0, "#5a1414"), (0.49, "#a8321a"), (0.51, "#e07b28"), (1.0, "#f5d142"))


def heat(count: int, top: int, diagonal: bool) -> Text:
    """A confusion-matrix cell. On the diagonal: green text, more saturated the nearer
    ``count`` is to ``top``. Off it, a heat scale: the cell's background runs from dark red
    (one mistake) through orange to yellow (the most frequent mistake), on a log scale, so 1
    and 19 never look alike. A space leads each number: the table has no cell padding, so that
    ten columns of four-digit counts fit."""
    if not count:
        return Text(" ·", style="dim", justify="right")
    if diagonal:
        share = min(1.0, count / max(top, 1)) ** 0.5
        red, green, blue = (round(a + (b - a) * share) for a, b in zip(*RIGHT))
        bold = "bold " if share >= 0.5 else ""
        return Text(f" {count}", style=f"{bold}rgb({red},{green},{blue})", justify="right")
    share = math.log1p(count) / math.log1p(max(top, 1))
    text = "#000000" if share >= 0.5 else "#ffffff"
    return Text(f" {count}", style=f"bold {text} on {HEAT.get_color(min(share, 1.0)).hex}",
                justify="right")


def _pairs(review: Review) -> str:
    """The most confused pairs, for the summary: where to look first."""
    pairs = confused_pairs(review.confusion, 3)
    return ("\nmost confused: " + ", ".join(f"{t}→{p} {n}×" for t, p, n in pairs)
            if pairs else "")


def cv_choices() -> list[tuple[str, str]]:
    """The CVs whose folds have all finished (only those have OOF predictions), newest first."""
    choices = []
    for name in reversed(list_cvs(workspace.runs_dir())):
        summary = read_summary(name, workspace.runs_dir())
        if summary is not None:
            choices.append((f"CV {name} (OOF {100 * summary.accuracy:.2f}%, "
                            f"{summary.rows:,} rows)", CV_PREFIX + name))
    return choices


def load(choice: str) -> tuple[Review, CVSummary | None]:
    """The review of a run, or of a CV's OOF predictions with the CV's summary."""
    if choice.startswith(CV_PREFIX):
        name = choice.removeprefix(CV_PREFIX)
        return review_cv(name, workspace.runs_dir()), read_summary(name, workspace.runs_dir())
    return review_run(Run(workspace.runs_dir() / choice)), None


def verdict(suspect_id: int, confirmed: set[int], dismissed: set[int]) -> str:
    return ("confirmed" if suspect_id in confirmed else "dismissed" if suspect_id in dismissed
            else "undecided")


class ReviewScreen(WorkbenchScreen):
    BINDINGS = [
        Binding("f", "flag", "Flag suspect", id="review.flag"),
        Binding("s", "suspects", "CV suspects", id="review.suspects"),
        Binding("y", "confirm_suspect", "Confirm", id="review.confirm"),
        Binding("n", "dismiss_suspect", "Dismiss", id="review.dismiss"),
        Binding("escape", "all_mistakes", "All mistakes", id="review.all"),
    ]
    # Below 140 columns the large mistake panel gives way to a line under the matrix, so the
    # mistakes' grid keeps two columns and its position line.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]

    def __init__(self) -> None:
        super().__init__()
        self.choice: str | None = None
        self.review: Review | None = None
        self.summary: CVSummary | None = None  # the chosen CV's; None for a run
        self.cell: tuple[int, int] | None = None  # (true, predicted) shown; None: all mistakes
        self.shown: list[Mistake] = []
        self.proposed: list[Suspect] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Select([], prompt="choose a run or a CV", id="review-run")
        with Horizontal():
            with Vertical(id="matrix-side"):
                yield Static("", id="review-summary", markup=False)
                yield Static("rows: true label; columns: predicted", id="matrix-caption")
                yield DataTable(id="confusion", cursor_type="cell", cell_padding=0,
                                fixed_columns=1)
                yield Static("", id="mistake-line", markup=False)
            with ContentSwitcher(initial="mistakes", id="review-view"):
                yield DigitGrid(id="mistakes")
                yield DataTable(id="suspects", cursor_type="row", zebra_stripes=True)
            yield Static("", id="mistake-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#suspects", DataTable)
        for label, key in (("id", "id"), ("label→pred", "guess"), ("conf.", "confidence"),
                           ("verdict", "verdict")):
            table.add_column(label, key=key)

    @property
    def cv(self) -> str | None:
        """The chosen CV's name; None when a run is chosen."""
        return None if self.summary is None else self.summary.name

    @property
    def in_suspects(self) -> bool:
        return self.query_one(ContentSwitcher).current == "suspects"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers the suspect keys only where they apply."""
        allowed = super().check_action(action, parameters)
        if not allowed or action == "leave_field":
            return allowed
        if action == "suspects":
            return self.cv is not None
        if action in ("confirm_suspect", "dismiss_suspect"):
            return self.in_suspects
        if action == "flag":
            return not self.in_suspects
        return True

    def on_screen_resume(self) -> None:
        choices: list[str | tuple[str, str]] = [
            *cv_choices(), *(run.id for run in runs_with(lambda run: run.val_predictions))]
        if not refill(self.query_one("#review-run", Select), choices):
            self.query_one("#review-summary", Static).update(
                "No run with validation predictions yet: train one (t).")

    def _attempt(self, work: Callable[[], T]) -> T | None:
        """``work()``; None if it fails, with the engine's sentence as a notification."""
        try:
            return work()
        except (WorkbenchError, OSError) as error:
            self.notify(say(error), severity="error")
            return None

    @on(Select.Changed, "#review-run")
    def chosen(self, event: Select.Changed) -> None:
        """Load the chosen run or CV; re-choosing the same one (each return to the screen)
        keeps the view (the matrix cursor, the cell shown, the mistake or suspect under the
        cursor), redrawn from the files."""
        if not isinstance(event.value, str):
            return
        choice = str(event.value)
        loaded = self._attempt(lambda: load(choice))
        if loaded is None:
            return
        competition = self.app.competition
        largest = max((mistake.id for mistake in loaded[0].mistakes), default=0)
        if competition is not None and largest > competition.n_train:
            self.notify(f"{choice} was trained on other data: its rows go up to #{largest:,}, "
                        f"and the data open here has {competition.n_train:,}; start the app "
                        "with --data set to the data it was trained on.", severity="error",
                        timeout=20)
            return
        same = choice == self.choice
        self.choice, (self.review, self.summary) = choice, loaded
        self._draw_matrix(loaded[0], keep_cursor=same)
        if not same:
            self.cell = None
        if same and self.in_suspects and self.summary is not None:
            self._draw_suspects()
        else:
            self._show_cell(keep_cursor=same)

    def _draw_matrix(self, review: Review, keep_cursor: bool) -> None:
        table = self.query_one("#confusion", DataTable)
        cursor = table.cursor_coordinate
        table.clear(columns=True)
        table.add_column("", key="true")
        for digit in range(10):
            table.add_column(Text(f" {digit}", justify="right"), key=str(digit))
        confusion = review.confusion
        right = int(confusion.diagonal().max())
        wrong = int((confusion - np.diag(confusion.diagonal())).max())
        for true in range(10):
            table.add_row(Text(str(true), style="bold"),
                          *(heat(int(confusion[true, p]), right if true == p else wrong,
                                 true == p) for p in range(10)), key=str(true))
        if keep_cursor:
            table.move_cursor(row=cursor.row, column=cursor.column, animate=False)

    def _headline(self) -> str:
        """The accuracy and what it is measured on: a run's validation rows, or a CV's OOF."""
        review, summary = self.review, self.summary
        if review is None:
            return ""
        rows = f"{int(review.confusion.sum()):,} rows"
        if summary is None:
            return (f"validation accuracy {100 * review.accuracy:.2f}% on {rows}; "
                    f"{len(review.mistakes)} mistakes" + _pairs(review))
        low, high = summary.interval
        return (f"out-of-fold accuracy {100 * review.accuracy:.2f}% (95% CI {100 * low:.2f}-"
                f"{100 * high:.2f}%)\n{rows}, {summary.folds} folds; {len(review.mistakes)} "
                "mistakes" + _pairs(review))

    @on(DataTable.CellSelected, "#confusion")
    def cell_selected(self, event: DataTable.CellSelected) -> None:
        if event.coordinate.column >= 1:
            self.cell = (event.coordinate.row, event.coordinate.column - 1)
            self._show_cell(keep_cursor=False)

    def action_all_mistakes(self) -> None:
        self.cell = None
        self._show_cell(keep_cursor=False)

    def _show_cell(self, keep_cursor: bool) -> None:
        """The mistakes of the chosen cell (all of them with none); ``keep_cursor``: the grid's
        cursor stays where it was."""
        if self.review is None:
            return
        cursor = self.query_one("#mistakes", DigitGrid).cursor if keep_cursor else 0
        if self.cell is None:
            self._show(self.review.mistakes, "all mistakes", cursor)
        else:
            true, predicted = self.cell
            self._show(self.review.cell(true, predicted), f"true {true}, predicted {predicted}",
                       cursor)

    def _show(self, mistakes: list[Mistake], what: str, cursor: int = 0) -> None:
        grid = self.query_one("#mistakes", DigitGrid)
        if self.in_suspects:
            self.query_one(ContentSwitcher).current = "mistakes"
            grid.focus()
            self.refresh_bindings()
        self.shown = mistakes
        competition = self.app.competition
        if competition is None:
            self.notify("The data is still loading.", severity="warning")
            return
        suspects = read_suspects()
        captions = [f"{m.label}→{m.predicted} {100 * m.confidence:.0f}%"
                    + (" !" if m.id in suspects else "") for m in mistakes]
        grid.show(competition.train_images, np.array([m.id - 1 for m in mistakes], dtype=int),
                  captions)
        grid.cursor = min(cursor, max(len(mistakes) - 1, 0))
        self.query_one("#review-summary", Static).update(
            f"{self._headline()}\nshowing {len(mistakes)}: {what} (select a cell; esc: all)")

    @on(DigitGrid.Selected)  # (its message names no control to match "#mistakes")
    def show_mistake(self) -> None:
        """The mistake under the grid's cursor, large, with its top-3 guesses."""
        detail = self.query_one("#mistake-detail", Static)
        line = self.query_one("#mistake-line", Static)
        cursor = self.query_one("#mistakes", DigitGrid).cursor
        if not 0 <= cursor < len(self.shown) or self.app.competition is None:
            detail.update("")
            line.update("")
            return
        mistake = self.shown[cursor]
        image = self.app.competition.train_images[mistake.id - 1]
        guesses = "\n".join(f"  {digit}: {100 * p:5.1f}%" for digit, p in mistake.top3)
        flagged = " (flagged as suspect)" if mistake.id in read_suspects() else ""
        detail.update(Text.assemble(digit_blocks(image), "\n", (
            f"train #{mistake.id}{flagged}\nlabel {mistake.label}, predicted "
            f"{mistake.predicted}\ntop 3:\n{guesses}")))
        line.update(f"train #{mistake.id}{flagged}: label {mistake.label}, predicted "
                    f"{mistake.predicted}; top 3: " + ", ".join(
                        f"{digit} {100 * p:.1f}%" for digit, p in mistake.top3))

    def action_flag(self) -> None:
        grid = self.query_one("#mistakes", DigitGrid)
        if not self.shown or self.in_suspects:  # (the command palette ignores check_action)
            return
        mistake = self.shown[grid.cursor]
        flagged = self._attempt(lambda: toggle_suspect(mistake.id))
        if flagged is None:
            return
        done = "flagged as a suspect label" if flagged else "unflagged"
        self.notify(f"train #{mistake.id} {done}; train with --exclude-suspects to leave "
                    "suspects out.")
        self.show_mistake()

    def action_suspects(self) -> None:
        """From the mistakes to the CV's proposed suspects, or back."""
        if self.in_suspects:
            self.action_all_mistakes()
        elif self.cv is not None:
            self._draw_suspects()

    def _draw_suspects(self) -> None:
        """The proposed suspects with their verdicts, read afresh from the files."""
        if self.cv is None:
            return
        self.proposed = read_proposed(self.cv, workspace.runs_dir())
        confirmed, dismissed = read_suspects(), read_dismissed(self.cv, workspace.runs_dir())
        table = self.query_one("#suspects", DataTable)
        row = table.cursor_row
        table.clear()
        for suspect in self.proposed:
            table.add_row(suspect.id, f"{suspect.label} → {suspect.predicted}",
                          f"{100 * suspect.confidence:.1f}%",
                          verdict(suspect.id, confirmed, dismissed), key=str(suspect.id))
        self.query_one(ContentSwitcher).current = "suspects"
        self.refresh_bindings()
        table.focus()
        if self.proposed:
            table.move_cursor(row=min(row, len(self.proposed) - 1))
        self._suspects_summary(confirmed, dismissed)
        self.show_suspect()

    def _suspects_summary(self, confirmed: set[int], dismissed: set[int]) -> None:
        ids = {s.id for s in self.proposed}
        self.query_one("#review-summary", Static).update(
            f"{self._headline()}\n{len(ids)} suspects proposed: {len(ids & confirmed)} "
            f"confirmed, {len(ids & dismissed)} dismissed (y/n; esc: mistakes)")

    @property
    def suspect(self) -> Suspect | None:
        """The suspect under the cursor of the suspects table."""
        row = self.query_one("#suspects", DataTable).cursor_row
        return self.proposed[row] if self.in_suspects and 0 <= row < len(self.proposed) else None

    @on(DataTable.RowHighlighted, "#suspects")
    def show_suspect(self) -> None:
        detail = self.query_one("#mistake-detail", Static)
        suspect = self.suspect
        if suspect is None:
            detail.update("No suspects: the OOF predictions disagree confidently with no label."
                          if not self.proposed else "")
            return
        dismissed = read_dismissed(self.cv, workspace.runs_dir()) if self.cv else set()
        state = verdict(suspect.id, read_suspects(), dismissed)
        image = ("" if self.app.competition is None
                 else digit_blocks(self.app.competition.train_images[suspect.id - 1]))
        detail.update(Text.assemble(image, "\n", (
            f"train #{suspect.id} ({state})\n"
            f"label {suspect.label}: {100 * suspect.label_probability:.1f}%\n"
            f"predicted {suspect.predicted}: {100 * suspect.confidence:.1f}%\n"
            "y: confirm (into suspects.csv)\nn: dismiss")))

    def action_confirm_suspect(self) -> None:
        self._decide(confirm=True)

    def action_dismiss_suspect(self) -> None:
        self._decide(confirm=False)

    def _decide(self, confirm: bool) -> None:
        """Confirm (suspects.csv) or dismiss (the CV's dismissed.csv) the suspect under the
        cursor, or take that verdict back if it was given; a suspect has one verdict at most.
        The cursor moves on to the next suspect."""
        suspect, cv = self.suspect, self.cv
        if suspect is None or cv is None:
            return

        def decide() -> bool:
            if confirm:
                if suspect.id in read_dismissed(cv, workspace.runs_dir()):
                    toggle_dismissed(cv, suspect.id, workspace.runs_dir())
                toggle_suspect(suspect.id)
            else:
                if suspect.id in read_suspects():
                    toggle_suspect(suspect.id)
                toggle_dismissed(cv, suspect.id, workspace.runs_dir())
            return True

        if self._attempt(decide) is None:
            return
        confirmed, dismissed = read_suspects(), read_dismissed(cv, workspace.runs_dir())
        state = verdict(suspect.id, confirmed, dismissed)
        table = self.query_one("#suspects", DataTable)
        table.update_cell(str(suspect.id), "verdict", state, update_width=True)
        self._suspects_summary(confirmed, dismissed)
        self.notify(f"train #{suspect.id}: {state}"
                    + ("; train with --exclude-suspects to leave it out." if state == "confirmed"
                       else "."))
        table.action_cursor_down()
        self.show_suspect()
