"""The Submit screen as a user drives it: the confirmation shown whole, one submission in flight,
the score (and its place on the public leaderboard) stated and kept, the history loaded on
entry with each row naming its run, a message that names the run. The real `kaggle` client
talks to the fake server on 127.0.0.1 (tests/fake_kaggle.py)."""

from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import Button, DataTable, Input, Label, Select

from tests.fake_kaggle import served
from tests.helpers import Kaggle, synthetic_run
from tests.pilots import Notes, full_submission, press, send_with, settle, text, until
from workbench.engine.data.competition import load_competition
from workbench.tui.app import WorkbenchApp

RUN = "20261130-101010-simple-cnn"
SECRET = "fake-key-5ub41t-0123456789"
SCORED = (f"submission.csv (run {RUN}) scored: public score 0.97600, #6 on the public "
          "leaderboard.")
LEADERBOARD = ["1.00000"] * 3 + ["0.99000", "0.98000", "0.97600", "0.97600", "0.95000"]



def shown(widget) -> str:
    """What the widget shows on screen, its lines joined, runs of spaces as one."""
    lines = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return " ".join(" ".join(strip.text for strip in lines).split())


def history(app) -> list[list[str]]:
    table = app.screen.query_one("#history", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """The app's folder: Kaggle-shaped data (12 test images) and a run whose submission.csv
    has Kaggle's 28,000 rows."""
    monkeypatch.chdir(tmp_path)
    Kaggle(tmp_path).zip()
    run = synthetic_run(tmp_path / "runs", load_competition("digit-recognizer.zip"), RUN)
    full_submission(run / "submission.csv")
    return tmp_path


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """Fake credentials, and the fake server (one submission made elsewhere already in its
    history; a leaderboard served 3 entries a page) as the client's endpoint."""
    monkeypatch.setattr("workbench.tui.screens.submit.POLL_S", 0.01)
    with served(monkeypatch, SECRET, tmp_path / "kcfg", score="0.97600",
                leaderboard=LEADERBOARD, max_page=3, date="2026-11-30T10:20:30Z") as server:
        server.submissions.append({
            "ref": 1, "date": "2026-11-29T09:00:00Z", "description": "from a notebook",
            "fileName": "submission.csv", "status": "COMPLETE", "publicScore": "0.99000",
            "polls": 0})
        yield server


async def open_submit(pilot) -> None:
    await press(pilot, "k")


async def send(pilot, fake) -> None:
    """ctrl+s, y, and wait for the outcome line."""
    await pilot.press("ctrl+s", "y")
    await until(pilot, lambda: text(pilot.app, "#kaggle-outcome") != "")
    await settle(pilot)


async def test_the_confirmation_shows_file_run_and_message_whole_at_100x30(workdir, fake):
    message = "simple-cnn, " + " ".join(f"word{i}" for i in range(40)) + " END"
    app = WorkbenchApp("digit-recognizer.zip")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_submit(pilot)
        await send_with(pilot, message)
        await pilot.pause()
        dialog = app.screen.query_one("#confirm-submit")
        inside = dialog.content_region
        assert Region(0, 0, 100, 30).contains_region(dialog.region)
        for label_id, whole in (("confirm-file", f"runs/{RUN}/submission.csv"),
                                ("confirm-run", RUN), ("confirm-message", message)):
            label = app.screen.query_one(f"#{label_id}", Label)
            assert inside.contains_region(label.region), label_id  # not cut at the border
            assert whole in shown(label), label_id
        await pilot.press("n")
    assert fake.calls("CreateSubmission") == 0


async def test_the_confirmation_says_the_day_s_quota_and_a_file_sent_before(workdir, fake):
    app = WorkbenchApp("digit-recognizer.zip")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_submit(pilot)
        await pilot.press("ctrl+s")
        quota = app.screen.query_one("#confirm-quota", Label)
        await until(pilot, lambda: "left today" in shown(quota))
        assert "5 of 5 submissions left today" in shown(quota)
        assert not app.screen.query("#confirm-again")
        await pilot.press("y")
        await until(pilot, lambda: text(app, "#kaggle-outcome") != "")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        again = shown(app.screen.query_one("#confirm-again", Label))
        assert "This file was sent already" in again
        assert str(app.screen.query_one("#yes", Button).label) == "Send again (y)"
        await pilot.press("n")
    assert fake.calls("CreateSubmission") == 1


async def test_a_second_submit_while_waiting_for_the_score_is_refused(workdir, fake):
    fake.pending_polls = 10 ** 9  # Kaggle keeps it PENDING until the test says otherwise
    app = WorkbenchApp("digit-recognizer.zip")
    heard = Notes()
    async with app.run_test(size=(160, 50), message_hook=heard) as pilot:
        await open_submit(pilot)
        await pilot.press("ctrl+s", "y")
        await until(pilot, lambda: "waiting for its score" in text(app, "#kaggle-status"))
        assert RUN in text(app, "#kaggle-status")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ == "SubmitScreen"  # no second question
        refusals = [n for n in heard if "waiting for its score" in n]
        assert (len(refusals) == 1 and "one submission at a time" in refusals[0]
                and RUN in refusals[0])
        fake.pending_polls = 0
        await until(pilot, lambda: text(app, "#kaggle-outcome") != "")
        await settle(pilot)
    assert fake.calls("CreateSubmission") == 1 and len(fake.uploads) == 1


async def test_the_score_is_stated_with_the_run_and_the_leaderboard_place_and_stays(
        workdir, fake):
    app = WorkbenchApp("digit-recognizer.zip")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_submit(pilot)
        await send(pilot, fake)
        assert text(app, "#kaggle-outcome") == SCORED
        await pilot.press("ctrl+y")  # the history reloaded: the line stays
        await settle(pilot)
        await pilot.press("d", "k")  # another screen and back: it stays
        await settle(pilot)
        assert text(app, "#kaggle-outcome") == SCORED
    assert fake.calls("GetLeaderboard") == 2  # pages of 3 until a score below 0.976


async def test_no_leaderboard_position_is_said_not_hidden(workdir, fake):
    fake.fail("GetLeaderboard", 403, {"code": 403, "message": "Leaderboard is private"})
    app = WorkbenchApp("digit-recognizer.zip")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_submit(pilot)
        await send(pilot, fake)
        outcome = text(app, "#kaggle-outcome")
        assert outcome.startswith(f"submission.csv (run {RUN}) scored: public score 0.97600 ")
        assert "no leaderboard position" in outcome and "Leaderboard is private" in outcome


async def test_the_history_is_loaded_on_entry_and_names_each_run(workdir, fake):
    app = WorkbenchApp("digit-recognizer.zip")
    heard = Notes()
    async with app.run_test(size=(160, 50), message_hook=heard) as pilot:
        await open_submit(pilot)
        assert history(app) == [["2026-11-29 09:00", "0.99000", "COMPLETE", "submission.csv",
                                 "from a notebook"]]
        assert "Kaggle lists 1 of your submissions." in text(app, "#kaggle-status")
        await send(pilot, fake)
        rows = history(app)
        assert rows[0][1:4] == ["0.97600", "COMPLETE", f"submission.csv (run {RUN})"]
        assert rows[1][3] == "submission.csv"  # sent from elsewhere: what Kaggle knows
    assert all(SECRET not in note for note in heard)

    again = WorkbenchApp("digit-recognizer.zip")  # a later session: the log remembers the run
    async with again.run_test(size=(160, 50)) as pilot:
        await open_submit(pilot)
        assert history(again)[0][3] == f"submission.csv (run {RUN})"


async def test_without_credentials_one_line_says_how_to_set_them_up(no_credentials, workdir):
    app = WorkbenchApp("digit-recognizer.zip")
    heard = Notes()
    async with app.run_test(size=(160, 50), message_hook=heard) as pilot:
        await open_submit(pilot)
        status = text(app, "#kaggle-status")
        assert "no Kaggle credentials found" in status and "KAGGLE_API_TOKEN" in status
        assert history(app) == [] and not heard  # no failure shown, nothing asked


async def test_the_message_names_the_run_and_the_user_s_words_are_kept(workdir):
    full_submission(workdir / "submissions/kaggle-best-x3.csv")
    app = WorkbenchApp("digit-recognizer.zip")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_submit(pilot)
        message = app.screen.query_one("#message", Input)
        files = app.screen.query_one("#submission-file", Select)
        assert message.value == "simple-cnn run 20261130-101010, val acc 90.00%"
        files.value = "submissions/kaggle-best-x3.csv"
        await pilot.pause()
        assert message.value == "kaggle-best-x3"
        message.value = "my own words"
        files.value = f"runs/{RUN}/submission.csv"
        await pilot.pause()
        assert message.value == "my own words"


# --- snapshots ---


@pytest.mark.parametrize("size", [(100, 30), (160, 50)])
def test_snapshot_after_the_score(snap_compare, workdir, fake, size):
    async def show(pilot):
        await open_submit(pilot)
        await pilot.press("ctrl+s", "y")
        await until(pilot, lambda: text(pilot.app, "#kaggle-outcome") != "")
        await settle(pilot)

    assert snap_compare(WorkbenchApp("digit-recognizer.zip"), run_before=show,
                        terminal_size=size)


def test_snapshot_of_the_confirmation_at_100x30(snap_compare, workdir, fake):
    async def show(pilot):
        await open_submit(pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "left today" in shown(
            pilot.app.screen.query_one("#confirm-quota", Label)))

    assert snap_compare(WorkbenchApp("digit-recognizer.zip"), run_before=show,
                        terminal_size=(100, 30))


async def test_the_history_s_message_column_takes_the_room_left_and_wraps(workdir, fake):
    fake.submissions[0]["description"] = "a long message " * 8 + "END"
    app = WorkbenchApp("digit-recognizer.zip")
    async with app.run_test(size=(160, 50)) as pilot:
        await open_submit(pilot)
        await until(pilot, lambda: history(app))
        table = app.screen.query_one("#history", DataTable)
        widths = sum(column.get_render_width(table) for column in table.columns.values())
        assert table.scrollable_content_region.width - 2 <= widths
        assert table.scrollable_content_region.width >= widths
        assert "END" in shown(table)  # wrapped onto more lines, not cut
