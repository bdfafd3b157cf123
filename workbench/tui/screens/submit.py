"""Submit: pick a run's or a saved submission, see the checker's verdict, the first rows and the
label distribution; one key sends it to Kaggle through the engine, after a confirmation that
names the file, the run and the message, one submission at a time; the submission history."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Select, Static

from workbench.engine.errors import WorkbenchError, user_message
from workbench.engine.kaggle import COMPETITION, TEST_ROWS, credentials_source
from workbench.engine.runs import RUNS_DIR
from workbench.engine.submission import SUBMISSIONS_DIR, check_submission_file
from workbench.tui.messages import WorkFailed
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.choices import refill, runs_with
from workbench.tui.workers import background

KAGGLE_TEST_ROWS = TEST_ROWS[COMPETITION]


def submission_files() -> list[Path]:
    """Runs' submission.csv (newest first), then the files in submissions/."""
    runs = [RUNS_DIR / run / "submission.csv" for run in runs_with("submission.csv")]
    saved = sorted(SUBMISSIONS_DIR.glob("*.csv"), key=lambda p: p.stat().st_mtime, reverse=True)
    return runs + saved


def run_of(path: Path) -> str | None:
    """The run whose submission ``path`` is (runs/RUN/submission.csv), else None."""
    try:
        relative = path.resolve().relative_to(RUNS_DIR.resolve())
    except ValueError:
        return None
    return relative.parts[0] if len(relative.parts) == 2 else None


class ConfirmSubmit(ModalScreen[bool]):
    """Asks before a submission is sent: it uses one of the day's few. Enter alone does not
    send (the focus starts on Cancel), so a double Enter cannot submit."""

    BINDINGS = [("y", "answer(True)", "Submit"), ("n,escape", "answer(False)", "Cancel")]

    def __init__(self, path: Path, message: str) -> None:
        super().__init__()
        self.path, self.message = path, message

    def compose(self) -> ComposeResult:
        run = run_of(self.path)
        with Vertical(id="confirm-submit"):
            yield Label(f"Submit to Kaggle ({COMPETITION})?", markup=False)
            yield Label(f"file:    {self.path}", id="confirm-file", markup=False)
            yield Label(f"run:     {run or '- (a saved submission)'}", id="confirm-run",
                        markup=False)
            yield Label(f"message: {self.message}", id="confirm-message", markup=False)
            yield Label("It uses one of the day's submissions.", markup=False)
            with Horizontal():
                yield Button("Submit (y)", variant="warning", id="yes")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class SubmitScreen(WorkbenchScreen):
    BINDINGS = [
        Binding("ctrl+s", "submit", "Submit to Kaggle", id="submit.send", priority=True),
        Binding("ctrl+y", "history", "Kaggle history", id="submit.history", priority=True),
    ]
    confirming = False  # the confirmation is on screen

    @dataclass
    class Status(Message):
        text: str
        error: bool = False

    @dataclass
    class History(Message):
        rows: list

    def compose(self) -> ComposeResult:
        yield Header()
        yield Select([], prompt="choose a submission", id="submission-file")
        with Horizontal():
            with Vertical(id="verdict-side"):
                yield Static("", id="verdict", markup=False)
                yield Static("", id="preview", markup=False)
            with Vertical():
                yield Input(placeholder="message for Kaggle (what is this submission?)",
                            id="message")
                yield Static("enter or ctrl+s submits (checked first); ctrl+y loads the history.",
                             id="kaggle-status", markup=False)
                yield DataTable(id="history", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#history", DataTable).add_columns("date", "file", "message", "status",
                                                          "public score")

    def on_screen_resume(self) -> None:
        files = [str(p) for p in submission_files()]
        if not refill(self.query_one("#submission-file", Select), files):
            self.query_one("#verdict", Static).update("No submissions yet: train a run (t).")

    @property
    def path(self) -> Path | None:
        select = self.query_one("#submission-file", Select)
        return None if select.is_blank() else Path(str(select.value))

    def on_select_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self._check(Path(event.value))

    def _check(self, path: Path) -> None:
        competition = self.app.competition
        if competition is None:
            return
        try:
            check = check_submission_file(path, competition.test_ids)
        except (WorkbenchError, OSError) as error:
            self.query_one("#verdict", Static).update(user_message(error))
            return
        if check.ok:
            verdict = (f"valid: {check.rows:,} rows, every ImageId of {competition.source} "
                       "once, labels 0-9")
            if competition.n_test != KAGGLE_TEST_ROWS:
                verdict += (f"\n(Kaggle's test set has {KAGGLE_TEST_ROWS:,} images: train on "
                            "Kaggle's data to submit there)")
        else:
            verdict = "problems:\n" + "\n".join(f"- {p}" for p in check.problems)
        top = max(check.label_counts.values(), default=0) or 1
        bars = "\n".join(f"{d} {'█' * round(20 * n / top):<20} {n:,}"
                         for d, n in check.label_counts.items())
        head = "\n".join(path.read_text().splitlines()[:6])
        self.query_one("#verdict", Static).update(f"{path}\n{verdict}")
        self.query_one("#preview", Static).update(f"first rows:\n{head}\n\nlabels:\n{bars}")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_submit()

    @property
    def in_flight(self) -> bool:
        """A submission is being sent (its worker belongs to the app: switching screens and
        back does not forget it)."""
        return any(w.group == "kaggle" and not w.is_finished for w in self.app.workers)

    @property
    def sending(self) -> bool:
        """A submission is being confirmed or sent: the next one waits for it."""
        return self.confirming or self.in_flight

    def action_submit(self) -> None:
        path, message = self.path, self.query_one("#message", Input).value.strip()
        if self.sending:
            self.notify("A submission is already being sent; wait for its answer.",
                        severity="warning")
            return
        if path is None:
            self.notify("Choose a submission first.", severity="warning")
            return
        if not message:
            self.notify("Write a message for Kaggle first.", severity="warning")
            self.query_one("#message", Input).focus()
            return
        try:
            credentials_source()  # no question asked for what cannot be sent
        except WorkbenchError as error:
            self.post_message(self.Status(user_message(error), error=True))
            return

        def answered(yes: bool | None) -> None:
            self.confirming = False
            if yes and not self.in_flight:
                self.post_message(self.Status(f"Submitting {path.name} ..."))
                self.send(path, message)
            elif not yes:
                self.post_message(self.Status("Not submitted."))

        self.confirming = True
        self.app.push_screen(ConfirmSubmit(path, message), answered)

    @background("kaggle", "Submitting to Kaggle")
    def send(self, path: Path, message: str) -> None:
        from workbench.engine.kaggle import submit

        try:
            result = submit(path, message,
                            on_status=lambda s: self.post_message(self.Status(f"{s.status} ...")))
        except (WorkbenchError, OSError) as error:
            self.post_message(self.Status(user_message(error), error=True))
            return
        if result is None:
            self.post_message(self.Status("Submitted; not in the history yet."))
        else:
            score = f", public score {result.public_score}" if result.public_score else ""
            self.post_message(self.Status(f"{result.status}{score}", result.status == "ERROR"))
        self.app.call_from_thread(self.load_history)

    def on_work_failed(self, message: WorkFailed) -> None:
        self.query_one("#kaggle-status", Static).update(message.text)

    def action_history(self) -> None:
        self.post_message(self.Status("Loading the submission history ..."))
        self.load_history()

    @background("kaggle-history", "Loading the Kaggle history")
    def load_history(self) -> None:
        from workbench.engine.kaggle import submissions

        try:
            self.post_message(self.History(submissions()))
        except (WorkbenchError, OSError) as error:
            self.post_message(self.Status(user_message(error), error=True))

    def on_submit_screen_status(self, message: Status) -> None:
        self.query_one("#kaggle-status", Static).update(message.text)
        if message.error:
            self.notify(message.text, title="Kaggle", severity="error", timeout=15)

    def on_submit_screen_history(self, message: History) -> None:
        table = self.query_one("#history", DataTable)
        table.clear()
        for item in message.rows:
            table.add_row(item.date, item.file_name, item.description, item.status,
                          item.public_score or item.error or "")
        self.query_one("#kaggle-status", Static).update(f"{len(message.rows)} submissions.")
