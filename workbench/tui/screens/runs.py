"""Runs: every run (the data it trained on, epochs, best validation accuracy, status; a damaged
one with what is wrong and the fix), and the CVs and ensembles with their held-out accuracy; a
run's curves; two or more overlaid and averaged into a recorded ensemble; delete (confirmed)."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Header, Static

from workbench.engine.errors import WorkbenchError, worded
from workbench.engine.plans.cv import cv_status, list_cvs, wilson_interval
from workbench.engine.plans.ensemble import EnsembleResult, average, ensemble_status, list_ensembles
from workbench.engine.reports.roles import role_of, roles
from workbench.engine.runs.listing import RunSummary, delete_run, list_runs
from workbench.engine.runs.run import Run
from workbench.engine.store import workspace
from workbench.tui.messages import EnsembleAveraged
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.curves import Curves
from workbench.tui.widgets.keybar import KeyBar
from workbench.tui.workers import background, in_app, running, say

ENSEMBLE_PREFIX = "ensemble/"  # an ensemble's row key: no CV name holds '/'


def held_out(accuracy: float, interval: tuple[float, float]) -> str:
    low, high = interval
    return f"{100 * accuracy:.2f}% ({100 * low:.2f}-{100 * high:.2f})"


Row = tuple[tuple[str, ...], str | None]  # a table's cells, and what is wrong (damaged)


def cv_row(name: str) -> Row:
    """A CV's line: its name, the folds (and refits) finished, the OOF accuracy with its 95%
    interval once gathered, and the minutes its members trained."""
    state = cv_status(name, workspace.runs_dir())
    accuracy = "-" if state.summary is None else held_out(state.summary.accuracy,
                                                          state.summary.interval)
    return (name, "damaged" if state.problem else state.progress, accuracy,
            f"{state.seconds / 60:.1f} min"), state.problem


def ensemble_row(name: str) -> Row:
    """An ensemble's line: its name, the members finished, the accuracy of their averaged
    predictions on the rows all of them held out (95% interval), and their training minutes."""
    state = ensemble_status(name, workspace.runs_dir())
    accuracy = "-"
    if state.accuracy is not None:
        correct = round(state.accuracy * state.rows)
        accuracy = held_out(state.accuracy, wilson_interval(correct, state.rows))
    return (name, "damaged" if state.problem else state.progress, accuracy,
            f"{state.seconds / 60:.1f} min"), state.problem


def averaged_note(result: EnsembleResult) -> str:
    """What averaging the overlaid runs gave: the held-out figure and the submission."""
    prediction, figure = result.prediction, "no row held out by every run"
    if prediction is not None and prediction.val_accuracy is not None:
        figure = (f"{100 * prediction.val_accuracy:.2f}% on the {len(prediction.val_labels):,} "
                  "rows every run held out (best epochs")
        if result.last_epoch_accuracy is not None:
            figure += f"; {100 * result.last_epoch_accuracy:.2f}% with the last epochs"
        figure += ")"
    return (f"ensemble {result.name} of {len(result.members)} runs: {figure}; wrote "
            f"{result.submission}: submit it on the Submit screen (k).")


class ConfirmDelete(ModalScreen[bool]):
    """Asks before a run folder is deleted."""

    BINDINGS = [("y", "answer(True)", "Yes"), ("n,escape", "answer(False)", "No")]

    def __init__(self, run_id: str, part: str = "") -> None:
        super().__init__()
        self.run_id, self.part = run_id, part

    def compose(self) -> ComposeResult:
        plan = (f"\nIt is {self.part}: that plan's figures then wait until the same plan "
                "trains it again." if self.part else "")
        with Vertical(id="confirm"):
            yield Static(f"Delete run {self.run_id} and all its files?{plan}",
                         id="confirm-question", markup=False)
            with Horizontal():
                yield Button("Delete (y)", variant="error", id="yes")
                yield Button("Keep (n)", id="no")

    @on(Button.Pressed)
    def answered(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class RunsScreen(WorkbenchScreen):
    BINDINGS = [
        Binding("c", "compare", "Overlay", id="runs.compare"),
        Binding("e", "ensemble", "Ensemble overlaid", id="runs.ensemble"),
        Binding("p", "export", "Export", id="runs.export",
                tooltip="the overlaid runs' curves (or the selected run's, or CV's) and "
                        "confusion matrices, as PNG and CSV under exports/"),
        Binding("delete", "delete", "Delete", id="runs.delete"),
        Binding("f5", "reload", "Reload", id="runs.reload", show=False),  # in the keys help
    ]

    def __init__(self) -> None:
        super().__init__()
        self.overlay: list[str] = []
        self.summaries: dict[str, RunSummary] = {}
        self.parts: dict[str, str] = {}  # run id -> its part in a CV or an ensemble
        self.problems: dict[str, str] = {}  # what is wrong with a damaged CV or ensemble, by row
        self.averaged: EnsembleResult | None = None  # the last ensemble averaged here

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="cvs-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="runs-note", markup=False)
        with Horizontal(id="run-plots"):
            yield Curves("validation accuracy", "val acc", id="run-accuracy")
            yield Curves("validation loss", "val loss", id="run-loss")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#runs-table", DataTable).add_columns(
            "run", "data", "part", "epochs", "best val acc", "status", "duration")
        self.query_one("#cvs-table", DataTable).add_columns(
            "CV / ensemble", "done", "held-out accuracy (95% CI)", "training")
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        """Read the runs, CVs and ensembles afresh; each cursor stays on the row it was on."""
        runs = list(reversed(list_runs(workspace.runs_dir())))
        self.summaries = {run.id: run for run in runs}
        self.parts = roles(workspace.runs_dir())
        refill_rows(self.query_one("#runs-table", DataTable),
                    [(run.id, (run.id, run.data,
                               role_of(run.id, run.config or {}, self.parts, short=True),
                               f"{run.epochs_done}/{run.epochs}",
                               "-" if run.best_val_accuracy is None
                               else f"{100 * run.best_val_accuracy:.2f}%",
                               run.status, f"{run.duration_s:.0f} s")) for run in runs])
        rows = {**{name: cv_row(name) for name in reversed(list_cvs(workspace.runs_dir()))},
                **{ENSEMBLE_PREFIX + name: ensemble_row(name)
                   for name in reversed(list_ensembles(workspace.runs_dir()))}}
        self.problems = {key: problem for key, (_, problem) in rows.items() if problem}
        groups = self.query_one("#cvs-table", DataTable)
        refill_rows(groups, [(key, cells) for key, (cells, _) in rows.items()])
        groups.display = bool(groups.row_count)
        self._plot()

    @property
    def selected(self) -> str | None:
        return row_key(self.query_one("#runs-table", DataTable))

    @on(DataTable.RowHighlighted, "#runs-table")
    def run_highlighted(self) -> None:
        self._plot()

    def action_compare(self) -> None:
        run = self.selected
        if run is None:
            return
        if run in self.overlay:
            self.overlay.remove(run)
        else:
            self.overlay.append(run)
        self._plot()

    def _plot(self) -> None:
        shown = list(dict.fromkeys([*self.overlay, *([self.selected] if self.selected else [])]))
        accuracy, loss = self.query_one("#run-accuracy", Curves), self.query_one("#run-loss",
                                                                                   Curves)
        accuracy.series.clear()
        loss.series.clear()
        for run_id in shown:
            history = Run(workspace.runs_dir() / run_id).history
            epochs = [row["epoch"] for row in history if row["val_accuracy"] is not None]
            accuracy.set_series(run_id, epochs, [row["val_accuracy"] for row in history
                                                 if row["val_accuracy"] is not None])
            loss.set_series(run_id, epochs, [row["val_loss"] for row in history
                                             if row["val_accuracy"] is not None])
        accuracy.redraw()
        loss.redraw()
        self.show_note()

    @on(DataTable.RowHighlighted, "#cvs-table")
    @on(events.DescendantFocus)
    def show_note(self) -> None:
        """The line under the tables: what is wrong with the damaged run (and how to delete
        it), CV or ensemble under the cursor, else the overlay; then the last ensemble averaged
        here."""
        run = self.summaries.get(self.selected or "")
        groups = self.query_one("#cvs-table", DataTable)
        problem = self.problems.get(row_key(groups) or "") if groups.has_focus else None
        if problem is not None:
            note = problem
        elif not self.summaries:
            note = "No runs yet: train one on the Train screen (t)."
        elif run is not None and run.problem is not None:
            note = f"{run.id} is damaged: {run.problem}; {worded(run.fix, in_app)}."
        elif self.overlay:
            note = f"overlaid: {', '.join(self.overlay)} (e: ensemble them)"
        else:
            note = "c: overlay the selected run with others; delete: remove it"
        if self.averaged is not None:
            note += "\n" + averaged_note(self.averaged)
        self.query_one("#runs-note", Static).update(note)

    def action_export(self) -> None:
        """The overlaid runs (else the highlighted run, or the highlighted CV when the CV
        table has the focus) as pictures and CSV files to keep."""
        groups = self.query_one("#cvs-table", DataTable)
        chosen = row_key(groups) if groups.has_focus else None
        refs = ([chosen] if chosen and not chosen.startswith(ENSEMBLE_PREFIX) else
                list(self.overlay) or ([self.selected] if self.selected else []))
        if not refs:
            self.notify("Nothing to export: train a run first (t).", severity="warning")
            return
        self.export(refs)

    @background("export", "Exporting the pictures")
    def export(self, refs: list[str]) -> None:
        from workbench.engine.reports.figures import export

        exported = export(refs, workspace.runs_dir())
        self.app.call_from_thread(
            self.notify, f"Wrote {len(exported.files)} files (curves and confusion matrices, "
            f"PNG and CSV) to {exported.folder.absolute()}", title="Exported", timeout=15)

    def action_ensemble(self) -> None:
        if len(self.overlay) < 2:
            self.notify("Overlay two or more runs first (c on each).", severity="warning")
            return
        if running(self.app, "ensemble"):
            self.notify("An ensemble is being made; its result comes next.", severity="warning")
            return
        self.notify(f"Ensembling {len(self.overlay)} runs ...")
        self.average(list(self.overlay))

    @background("ensemble", "Ensembling the runs")
    def average(self, run_ids: list[str]) -> None:
        """Average the runs' probabilities into a submission under submissions/, recorded as an
        ensemble so that the table lists it on later visits."""
        folder = workspace.runs_dir()
        self.post_message(EnsembleAveraged(average([Run.open(folder / run) for run in run_ids],
                                                   runs_dir=folder)))

    @on(EnsembleAveraged)
    def averaged_shown(self, message: EnsembleAveraged) -> None:
        self.averaged = message.result
        self.notify(averaged_note(message.result), timeout=10)
        self.action_reload()

    def action_delete(self) -> None:
        run = self.selected
        if run is None:
            return

        def confirmed(answer: bool | None) -> None:
            if not answer:
                return
            try:
                delete_run(workspace.runs_dir() / run)
            except (WorkbenchError, OSError) as error:
                self.notify(say(error), severity="error")
                return
            if run in self.overlay:
                self.overlay.remove(run)
            self.notify(f"Deleted {run}.")
            self.action_reload()

        self.app.push_screen(ConfirmDelete(run, self.parts.get(run, "")), confirmed)


def row_key(table: DataTable) -> str | None:
    """The key of the row under the cursor; None in an empty table."""
    if not table.row_count:
        return None
    return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)


def refill_rows(table: DataTable, rows: list[tuple[str, tuple[str, ...]]]) -> None:
    """Replace the rows (key, cells); the cursor stays on the row it was on while that row is
    still there (else at the same place)."""
    current, place = row_key(table), table.cursor_row
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    keys = [key for key, _ in rows]
    if keys:
        table.move_cursor(row=keys.index(current) if current in keys
                          else min(place, len(keys) - 1), animate=False)
