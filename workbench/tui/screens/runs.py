"""Runs: the engine's runs as a table, and the CVs (folds done, OOF accuracy) in a second one; a
run's curves; two or more overlaid (and ensembled into a submission); delete (confirmed)."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Header, Label, Static

from workbench.engine.cv import cv_status, list_cvs
from workbench.engine.errors import WorkbenchError, user_message
from workbench.engine.runs import RUNS_DIR, delete_run, list_runs, read_history
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.curves import Curves
from workbench.tui.workers import background


def cv_row(name: str) -> tuple[str, str, str, str]:
    """A CV's line: its name, the folds (and refits) finished, the OOF accuracy with its 95%
    interval once gathered, and the minutes its members trained."""
    state = cv_status(name, RUNS_DIR)
    accuracy = "-"
    if state.summary is not None:
        low, high = state.summary.interval
        accuracy = f"{100 * state.summary.accuracy:.2f}% ({100 * low:.2f}-{100 * high:.2f})"
    return name, state.progress, accuracy, f"{state.seconds / 60:.1f} min"


class ConfirmDelete(ModalScreen[bool]):
    """Asks before a run folder is deleted."""

    BINDINGS = [("y", "answer(True)", "Yes"), ("n,escape", "answer(False)", "No")]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label(f"Delete run {self.run_id} and all its files?")
            with Horizontal():
                yield Button("Delete (y)", variant="error", id="yes")
                yield Button("Keep (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class RunsScreen(WorkbenchScreen):
    BINDINGS = [
        Binding("c", "compare", "Overlay", id="runs.compare"),
        Binding("e", "ensemble", "Ensemble overlaid", id="runs.ensemble"),
        Binding("delete", "delete", "Delete", id="runs.delete"),
        Binding("f5", "reload", "Reload", id="runs.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.overlay: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="cvs-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="runs-note", markup=False)
        with Horizontal(id="run-plots"):
            yield Curves("validation accuracy", "val acc", id="run-accuracy")
            yield Curves("validation loss", "val loss", id="run-loss")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#runs-table", DataTable).add_columns(
            "run", "model", "epochs", "best val acc", "status", "duration")
        self.query_one("#cvs-table", DataTable).add_columns(
            "CV", "folds done", "OOF accuracy (95% CI)", "training")
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        table.clear()
        for run in reversed(list_runs(RUNS_DIR)):
            accuracy = "-" if run.best_val_accuracy is None else f"{100 * run.best_val_accuracy:.2f}%"
            table.add_row(run.id, run.model, f"{run.epochs_done}/{run.epochs}", accuracy,
                          run.status, f"{run.duration_s:.0f} s", key=run.id)
        if not table.row_count:
            self.query_one("#runs-note", Static).update(
                "No runs yet: train one on the Train screen (t).")
        cvs = self.query_one("#cvs-table", DataTable)
        cvs.clear()
        for name in reversed(list_cvs(RUNS_DIR)):
            cvs.add_row(*cv_row(name), key=name)
        cvs.display = bool(cvs.row_count)
        self._plot()

    @property
    def selected(self) -> str | None:
        table = self.query_one("#runs-table", DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
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
            history = read_history(RUNS_DIR / run_id)
            epochs = [row["epoch"] for row in history if row["val_accuracy"] is not None]
            accuracy.set_series(run_id, epochs, [row["val_accuracy"] for row in history
                                                 if row["val_accuracy"] is not None])
            loss.set_series(run_id, epochs, [row["val_loss"] for row in history
                                             if row["val_accuracy"] is not None])
        accuracy.redraw()
        loss.redraw()
        note = (f"overlaid: {', '.join(self.overlay)} (e: ensemble them)" if self.overlay
                else "c: overlay the selected run with others; delete: remove it")
        self.query_one("#runs-note", Static).update(note)

    def action_ensemble(self) -> None:
        if len(self.overlay) < 2:
            self.notify("Overlay two or more runs first (c on each).", severity="warning")
            return
        self.notify(f"Ensembling {len(self.overlay)} runs ...")
        self.ensemble(list(self.overlay))

    @background("ensemble", "Ensembling the runs")
    def ensemble(self, run_ids: list[str]) -> None:
        """Average the runs' probabilities into a submission under submissions/."""
        from workbench.engine.prediction import ensemble_runs, last_epoch_accuracy, save_prediction

        members = [RUNS_DIR / run for run in run_ids]
        try:
            prediction = ensemble_runs(members)
            path = save_prediction(prediction, f"ensemble-{time.strftime('%Y%m%d-%H%M%S')}")
            last = last_epoch_accuracy(members)
        except (WorkbenchError, OSError) as error:
            self.app.call_from_thread(self.notify, user_message(error), severity="error")
            return
        accuracy = ""
        if prediction.val_accuracy is not None:
            accuracy = (f"; validation accuracy {100 * prediction.val_accuracy:.2f}% on "
                        f"{len(prediction.val_labels):,} rows held out by all, best epochs")
            if last is not None:
                accuracy += f" ({100 * last:.2f}% with the last epochs)"
        self.app.call_from_thread(self.notify, f"Wrote {path}{accuracy}. Submit it on the "
                                  "Submit screen (k).", timeout=10)

    def action_delete(self) -> None:
        run = self.selected
        if run is None:
            return

        def confirmed(answer: bool | None) -> None:
            if not answer:
                return
            try:
                delete_run(RUNS_DIR / run)
            except (WorkbenchError, OSError) as error:
                self.notify(user_message(error), severity="error")
                return
            if run in self.overlay:
                self.overlay.remove(run)
            self.notify(f"Deleted {run}.")
            self.action_reload()

        self.app.push_screen(ConfirmDelete(run), confirmed)
