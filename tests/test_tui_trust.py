"""The app under faults: a terminal that reports 0 columns, workers that fail, a Submit key
pressed twice. Pilot tests (App.run_test), and the real `workbench` on a bare pty."""

import os
import pty
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from textual.widgets import Input, Label, Select, Static

from tests.fake_kaggle import served
from tests.helpers import synthetic_run
from tests.pilots import Notes, full_submission, press, send_with, settle, text, until
from workbench.engine.data.competition import load_competition
from workbench.tui.app import WorkbenchApp


def confirming(app) -> bool:
    """The Submit screen's confirmation is up."""
    return type(app.screen).__name__ == "ConfirmSubmit"



# -- a terminal that reports 0 columns -------------------------------------------------------


def test_the_app_starts_on_a_pty_that_reports_0_columns(tmp_path):
    """A bare pty has no window size: textual-image's cell-size probe divided by 0 at import.
    The app must start (half-blocks instead of graphics) and quit cleanly."""
    main, child = pty.openpty()  # never sized: 0 rows, 0 columns
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    process = subprocess.Popen([str(Path(sys.executable).with_name("workbench"))], stdin=child,
                               stdout=child, stderr=child, env=env, cwd=tmp_path,
                               close_fds=True)
    os.close(child)

    def read_until(done, seconds: float = 60) -> bytes:
        """The app's output until ``done(output)`` or its exit; read all along, or the app
        blocks on a full pty."""
        seen, deadline = b"", time.monotonic() + seconds
        while not done(seen) and time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the child is gone
                    break
                if not chunk:
                    break
                seen += chunk
        return seen

    try:
        seen = read_until(lambda out: b"Digit Workbench" in out)
        assert b"Digit Workbench" in seen, seen[-2000:].decode(errors="replace")
        assert b"Traceback" not in seen
        os.write(main, b"q")
        read_until(lambda out: process.poll() is not None)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main)


# -- a failed worker is a message, the app stays ---------------------------------------------


async def test_an_unexpected_error_while_loading_the_data_is_a_notification(kaggle,
                                                                           monkeypatch):
    def broken(data):
        raise ValueError("no such thing as a negative pixel")

    monkeypatch.setattr("workbench.tui.app.load_competition", broken)
    app = WorkbenchApp(str(kaggle.zip()))
    heard = Notes()
    async with app.run_test(message_hook=heard) as pilot:
        await settle(pilot)
        assert any("Loading the data failed: ValueError: no such thing as a negative pixel" in n
                   for n in heard)
        await pilot.press("t")
        assert app.current_mode == "train"
        await pilot.press("q")
    assert app.return_code == 0


async def test_an_unexpected_error_in_a_kaggle_worker_leaves_the_screen_usable(
        kaggle, monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("the client changed its mind")

    monkeypatch.setattr("workbench.engine.kaggle.history.submissions", broken)
    monkeypatch.chdir(tmp_path)
    app = WorkbenchApp(str(kaggle.zip()))
    heard = Notes()
    async with app.run_test(message_hook=heard, size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("k")
        await press(pilot, "ctrl+y")
        assert any("RuntimeError: the client changed its mind" in n for n in heard)
        assert "RuntimeError: the client changed its mind" in text(app, "#kaggle-status")
        await pilot.press("ctrl+y")  # the screen still answers, and fails the same way
        await settle(pilot)
        assert sum("changed its mind" in n for n in heard) == 2
        await pilot.press("d")
        assert app.current_mode == "data"
        await pilot.press("q")
    assert app.return_code == 0


async def test_draw_on_a_damaged_checkpoint_is_a_message_not_a_crash(kaggle, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = synthetic_run(tmp_path / "runs", load_competition(kaggle.zip()))
    (run / "best.keras").write_bytes(b"PK\x03\x04 cut short")
    app = WorkbenchApp(str(kaggle.zip()))
    heard = Notes()
    async with app.run_test(message_hook=heard, size=(120, 36)) as pilot:
        await press(pilot, "w")
        assert app.screen.query_one("#draw-run", Select).value == run.name
        assert any("best.keras cannot be loaded as a Keras model" in n for n in heard)
        assert "Choose another run" in text(app, "#probabilities")
        failures = len(heard)
        await pilot.press("up", "space", "space")  # drawing does not retry the broken model
        await settle(pilot)
        assert len(heard) == failures
        assert app.screen.query_one("#canvas").image.max() > 0
        await pilot.press("d")
        assert app.current_mode == "data"
        await pilot.press("q")
    assert app.return_code == 0


# -- Submit: a confirmation, and one submission in flight ------------------------------------


@pytest.fixture
def fake_kaggle(monkeypatch, tmp_path):
    with served(monkeypatch, config_dir=tmp_path / "kcfg") as server:
        yield server


async def test_enter_twice_asks_then_one_submission_at_a_time(kaggle, tmp_path, monkeypatch,
                                                              fake_kaggle):
    monkeypatch.chdir(tmp_path)
    run = synthetic_run(tmp_path / "runs", load_competition(kaggle.zip()))
    full_submission(run / "submission.csv")
    app = WorkbenchApp(str(kaggle.zip()))
    hold = fake_kaggle.hold["CreateSubmission"] = threading.Event()
    try:
        heard = Notes()
        async with app.run_test(message_hook=heard, size=(140, 40)) as pilot:
            await press(pilot, "k")
            message = app.screen.query_one("#message", Input)
            message.value = "twice?"
            message.focus()
            await pilot.press("enter")
            assert confirming(app)
            shown = {label.id: str(label.render()) for label in app.screen.query(Label)
                     if label.id}
            assert str(Path("runs") / run.name / "submission.csv") in shown["confirm-file"]
            assert run.name in shown["confirm-run"]
            assert "twice?" in shown["confirm-message"]
            await pilot.press("enter")  # the second Enter: Cancel has the focus
            assert not confirming(app)
            assert fake_kaggle.calls("CreateSubmission") == 0 and not fake_kaggle.uploads
            assert "Not submitted" in text(app, "#kaggle-status")

            await pilot.press("ctrl+s")
            await pilot.press("y")
            await until(pilot, lambda: fake_kaggle.calls("CreateSubmission") == 1)
            for key in ("enter", "ctrl+s"):  # while it is in flight: refused, nothing asked
                await pilot.press(key)
                assert not confirming(app)
            assert sum("already being sent" in n for n in heard) == 2
            hold.set()
            await settle(pilot)
            await until(pilot, lambda: "COMPLETE" in text(app, "#kaggle-status")
                        or "submissions." in text(app, "#kaggle-status"))
    finally:
        hold.set()
    assert len(fake_kaggle.submissions) == 1 and len(fake_kaggle.uploads) == 1
    assert fake_kaggle.submissions[0]["description"] == "twice?"


@pytest.fixture
def saved(kaggle, tmp_path, monkeypatch) -> WorkbenchApp:
    """The app in tmp_path on the tiny zip, a user's own submission saved there
    (submissions/mine.csv)."""
    monkeypatch.chdir(tmp_path)
    full_submission(tmp_path / "submissions/mine.csv")
    return WorkbenchApp(str(kaggle.zip()))


async def test_a_saved_submission_is_confirmed_as_no_run(saved, fake_kaggle):
    app = saved
    async with app.run_test(size=(140, 40)) as pilot:
        await press(pilot, "k")
        await send_with(pilot, "saved")
        assert confirming(app)
        assert "a saved submission" in str(app.screen.query_one("#confirm-run", Label).render())
        await pilot.press("n")
        assert fake_kaggle.calls("CreateSubmission") == 0 and not fake_kaggle.uploads
        await press(pilot, "ctrl+s", "y")
        await until(pilot, lambda: len(fake_kaggle.submissions) == 1)
    assert fake_kaggle.submissions[0]["fileName"] == "mine.csv"


@pytest.mark.parametrize(("config", "said"), [
    (None, "no Kaggle credentials found"),
    ('{"username": "tester", "key": "abc', "kaggle.json is not valid JSON"),  # cut short
], ids=["none", "cut"])
async def test_missing_or_broken_credentials_are_said_before_any_question(
        no_credentials, saved, config, said):
    if config is not None:
        no_credentials.mkdir()
        (no_credentials / "kaggle.json").write_text(config)
    app = saved
    async with app.run_test(size=(140, 40)) as pilot:
        await press(pilot, "k")
        await send_with(pilot, "x")
        assert not confirming(app)
        assert said in text(app, "#kaggle-status")
        assert "abc" not in text(app, "#kaggle-status")
        assert isinstance(app.screen.query_one("#kaggle-status"), Static)
        await press(pilot, "ctrl+y")  # the history: the same sentence
        assert said in text(app, "#kaggle-status")
