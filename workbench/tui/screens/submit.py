"""Submit: pick a run's or a saved submission, see the checker's verdict, the first rows and the
label distribution; one key sends it to Kaggle through the engine, after a confirmation that
names the file, the run and the message, one submission at a time. The outcome (the score and
its place on the public leaderboard) stays on the screen; the history, each row naming the run
it came from, is loaded on entry when credentials exist."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Header, Input, Label, Select, Static
from textual.widgets.data_table import ColumnKey

from workbench.engine.data.competition import Competition
from workbench.engine.errors import WorkbenchError, printable
from workbench.engine.kaggle.account import credentials_source
from workbench.engine.kaggle.history import KaggleSubmission
from workbench.engine.kaggle.leaderboard import quota
from workbench.engine.kaggle.ledger import sent_before
from workbench.engine.results.submission import (
    COMPETITION,
    Expectation,
    check_submission_file,
    default_message,
    kaggle_test_set,
    problem_lines,
    run_of,
)
from workbench.engine.store import workspace
from workbench.render import bar_chart
from workbench.tui.messages import KaggleHistory, KaggleOutcome, KaggleStatus, WorkFailed
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.choices import refill, runs_with
from workbench.tui.widgets.keybar import KeyBar
from workbench.tui.workers import background, in_app, say

MESSAGE_MIN = 20  # the message column's least width: it takes the room the others leave
POLL_S = 5.0  # how often Kaggle is asked whether the score is there
HEAD_BYTES = 4096  # enough for the first rows shown
T = TypeVar("T")


def submission_files() -> list[Path]:
    """Runs' submission.csv (newest first), then the files in submissions/."""
    runs = [run.submission for run in runs_with(lambda run: run.submission)]
    saved = sorted(workspace.submissions_dir().glob("*.csv"), key=lambda p: p.stat().st_mtime,
                   reverse=True)
    return runs + saved


def described(path: Path) -> str:
    """The file and, for a run's submission, the run: "submission.csv (run 2026...)"."""
    run = run_of(path)
    return f"{path.name} (run {run})" if run else path.name


def verdict(path: Path, competition: Competition) -> tuple[str, str]:
    """The checker's verdict on ``path`` against the loaded data's test set and Kaggle's (what
    ctrl+s sends to), and the preview: the first rows and the label counts."""
    data = Expectation(competition.test_ids, competition.source)
    kaggle = kaggle_test_set()
    check = check_submission_file(path, data.ids)
    if check.ok:
        text = (f"valid: {check.rows:,} rows, every ImageId of {data.source} once, labels 0-9")
        if len(data.ids) != len(kaggle.ids):
            text += (f"\n(not for Kaggle: its test set has {len(kaggle.ids):,} images; train on "
                     "Kaggle's data to submit there)")
    elif len(data.ids) != len(kaggle.ids) and check_submission_file(path, kaggle.ids).ok:
        text = (f"valid for {kaggle.source}, where ctrl+s sends it: {check.rows:,} rows, "
                f"ImageId 1..{check.rows:,} once, labels 0-9 (the loaded data, {data.source}, "
                f"has {len(data.ids):,} test images)")
    else:
        text = "problems:\n" + "\n".join(f"- {p}" for p in problem_lines(check, data, words=in_app))
    bars = bar_chart([check.label_counts.get(digit, 0) for digit in range(10)], 20).plain
    with path.open("rb") as file:
        head = file.read(HEAD_BYTES).decode("utf-8", "replace").splitlines()[:6]
    rows = "\n".join(printable(line) for line in head)
    return f"{path}\n{text}", f"first rows:\n{rows}\n\nlabels:\n{bars}"


class ConfirmSubmit(ModalScreen[bool]):
    """Asks before a submission is sent: it uses one of the day's few. Enter alone does not
    send (the focus starts on Cancel), so a double Enter cannot submit. The file, the run and
    the message are shown whole (they wrap)."""

    BINDINGS = [("y", "answer(True)", "Submit"), ("n,escape", "answer(False)", "Cancel")]

    def __init__(self, path: Path, message: str) -> None:
        super().__init__()
        self.path, self.message = path, message
        self.before = sent_before(path)  # this content went to Kaggle already: say so

    def compose(self) -> ComposeResult:
        run = run_of(self.path)
        with Vertical(id="confirm-submit"):
            yield Label(f"Submit to Kaggle ({COMPETITION})?", markup=False)
            yield Label(f"file:    {self.path}", id="confirm-file", markup=False)
            yield Label(f"run:     {run or '- (a saved submission)'}", id="confirm-run",
                        markup=False)
            yield Label(f"message: {self.message}", id="confirm-message", markup=False)
            if self.before is not None:
                yield Label(f"This file was sent already, as '{self.before.get('description')}':"
                            " sending it again uses a submission for the same score.",
                            id="confirm-again", markup=False)
            yield Label("It uses one of the day's submissions (asking Kaggle how many are "
                        "left ...)", id="confirm-quota", markup=False)
            with Horizontal():
                yield Button("Send again (y)" if self.before else "Submit (y)",
                             variant="warning", id="yes")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()
        self.run_worker(self._ask_quota, thread=True, exit_on_error=False)

    def _ask_quota(self) -> None:
        """Kaggle's count, best effort: the question stands without it."""
        try:
            line = f"It uses one of the day's submissions: {quota()}."
        except (WorkbenchError, OSError):
            line = "It uses one of the day's submissions (how many are left is unknown)."
        self.app.call_from_thread(self._show_quota, line)

    def _show_quota(self, line: str) -> None:
        if self.is_attached:  # not answered meanwhile
            self.query_one("#confirm-quota", Label).update(line)

    @on(Button.Pressed, "#yes")
    def yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def no(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class SubmitScreen(WorkbenchScreen):
    BINDINGS = [
        Binding("ctrl+s", "submit", "Submit to Kaggle", id="submit.send", priority=True),
        Binding("ctrl+y", "history", "Kaggle history", id="submit.history", priority=True),
    ]
    confirming: var[bool] = var(False)  # the confirmation is on screen
    asked: var[bool] = var(False)  # the screen comes back from the confirmation, not a visit
    sending: var[str] = var("")  # the submission in flight ("submission.csv (run ...)")
    suggested: var[str] = var("")  # the message filled in for the chosen file
    history: var[list[KaggleSubmission]] = var(list)  # the history last read

    def compose(self) -> ComposeResult:
        yield Header()
        yield Select([], prompt="choose a submission", id="submission-file")
        with Horizontal():
            with Vertical(id="verdict-side"):
                yield Static("", id="verdict", markup=False)
                yield Static("", id="preview", markup=False)
            with Vertical(id="kaggle-side"):
                yield Input(placeholder="message for Kaggle (what is this submission?)",
                            id="message")
                yield Static("enter or ctrl+s submits (checked first); ctrl+y reloads the "
                             "history.", id="kaggle-status", markup=False)
                yield Static("", id="kaggle-outcome", markup=False)
                yield DataTable(id="history", cursor_type="row")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#history", DataTable)
        for label in ("date", "public score", "status", "file (run)"):
            table.add_column(label, key=label)
        table.add_column("message", key="message", width=MESSAGE_MIN)

    def on_screen_resume(self) -> None:
        if self.asked:
            self.asked = False
            return
        files = [str(p) for p in submission_files()]
        if not refill(self.query_one("#submission-file", Select), files):
            self.query_one("#verdict", Static).update("No submissions yet: train a run (t).")
        if self._engine(credentials_source, "#kaggle-status") is not None:
            self.action_history()  # else the line says how to set them up

    def _engine(self, call: Callable[[], T], line: str) -> T | None:
        """``call()``, or None with the engine's sentence on the ``line`` Static: the screen's
        one place for the engine's errors on the UI thread (its workers' failures go to the
        app's handler, then to ``on_work_failed``)."""
        try:
            return call()
        except (WorkbenchError, OSError) as error:
            self.query_one(line, Static).update(say(error))
            return None

    def _status(self, text: str) -> None:
        self.query_one("#kaggle-status", Static).update(text)

    @property
    def path(self) -> Path | None:
        select = self.query_one("#submission-file", Select)
        return None if select.is_blank() else Path(str(select.value))

    @on(Select.Changed, "#submission-file")
    def file_chosen(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str):
            return
        path = Path(event.value)
        message = self.query_one("#message", Input)
        if message.value in ("", self.suggested):  # the user's own words are kept
            message.value = self.suggested = default_message(path)
        competition = self.app.competition
        if competition is not None:
            shown = self._engine(lambda: verdict(path, competition), "#verdict")
            if shown is not None:
                self.query_one("#verdict", Static).update(shown[0])
                self.query_one("#preview", Static).update(shown[1])

    @on(Input.Submitted, "#message")
    def message_submitted(self) -> None:
        self.action_submit()

    @property
    def in_flight(self) -> bool:
        """A submission is being sent or waits for its score (its worker belongs to the app:
        switching screens and back does not forget it)."""
        return any(w.group == "kaggle" and not w.is_finished for w in self.app.workers)

    def action_submit(self) -> None:
        path, message = self.path, self.query_one("#message", Input).value.strip()
        if self.confirming or self.in_flight:
            self.notify(f"{self.sending or 'A submission'} is already being sent or waiting for "
                        "its score: one submission at a time, wait for its outcome.",
                        severity="warning")
            return
        if path is None:
            self.notify("Choose a submission first.", severity="warning")
            return
        if not message:
            self.notify("Write a message for Kaggle first.", severity="warning")
            self.query_one("#message", Input).focus()
            return
        if self._engine(credentials_source, "#kaggle-status") is None:
            return  # no question asked for what cannot be sent

        def answered(yes: bool | None) -> None:
            self.confirming = False
            if yes and not self.in_flight:
                self.sending = described(path)
                self._status(f"Submitting {self.sending} ...")
                self.send(path, message)  # a file sent before: the question said so
            elif not yes:
                self._status("Not submitted.")

        self.confirming = self.asked = True
        self.app.push_screen(ConfirmSubmit(path, message), answered)

    @background("kaggle", "Submitting to Kaggle")
    def send(self, path: Path, message: str) -> None:
        from workbench.engine.kaggle.submit import outcome, submit

        def waiting(submission: KaggleSubmission) -> None:
            self.post_message(KaggleStatus(f"{submission.source}: {submission.status}, waiting "
                                           "for its score ..."))

        result = submit(path, message, poll_s=POLL_S, again=True, on_status=waiting)
        if result is not None and result.status == "COMPLETE":
            self.post_message(KaggleStatus(f"{result.source}: scored; reading the leaderboard "
                                           "..."))
        self.post_message(KaggleOutcome(outcome(result),
                                        result is not None and result.status == "ERROR"))
        self.app.call_from_thread(self.action_history)

    def on_work_failed(self, message: WorkFailed) -> None:
        if message.group == "kaggle":
            self.sending = ""
        self._status(message.text)

    def action_history(self) -> None:
        if not self.sending:
            self._status("Loading the submission history ...")
        self.load_history()

    @background("kaggle-history", "Loading the Kaggle history")
    def load_history(self) -> None:
        from workbench.engine.kaggle.history import submissions

        self.post_message(KaggleHistory(submissions()))

    @on(KaggleStatus)
    def status_shown(self, message: KaggleStatus) -> None:
        self._status(message.text)

    @on(KaggleOutcome)
    def outcome_shown(self, message: KaggleOutcome) -> None:
        self.sending = ""
        self._status("Done; the line below says how it went.")
        outcome = self.query_one("#kaggle-outcome", Static)
        outcome.update(message.text)
        outcome.set_class(message.error, "-error")
        self.notify(message.text, title="Kaggle", severity="error" if message.error else
                    "information", timeout=15)

    @on(KaggleHistory)
    def history_shown(self, message: KaggleHistory) -> None:
        self.history = message.rows
        self._fill_history()
        if not self.sending:  # the line tells how a submission in flight goes until it ends
            self._status(f"Kaggle lists {len(message.rows)} of your submissions.")

    def on_resize(self) -> None:
        if self.history:
            self.call_after_refresh(self._fill_history)

    def _fill_history(self) -> None:
        """The rows, the message column as wide as the room left (a long message wraps onto
        more lines, never cut)."""
        table = self.query_one("#history", DataTable)
        table.clear()
        rows = [(item.date[:16], item.public_score or item.error or "", item.status,
                 item.source, item.description) for item in map(KaggleSubmission.shown,
                                                                 self.history)]
        others = [max([len(label)] + [len(row[i]) for row in rows]) + 2 * table.cell_padding
                  for i, label in enumerate(("date", "public score", "status", "file (run)"))]
        column = table.columns[ColumnKey("message")]
        column.width = max(MESSAGE_MIN, table.scrollable_content_region.width - sum(others)
                           - 2 * table.cell_padding - 1)  # - 1: the scrollbar's cell
        for row in rows:
            table.add_row(*row, height=None)
