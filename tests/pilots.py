"""Driving the app in tests: wait for its state (never for a time), read what it shows, hear
what it posts."""

from __future__ import annotations

import time
from pathlib import Path


class Notes(list):
    """The app's notifications as "title: message" lines, seen by a message hook
    (``app.run_test(message_hook=notes)``): Textual's public way to watch what an app posts."""

    def __call__(self, message) -> None:
        from textual.notifications import Notify

        if isinstance(message, Notify):
            note = message.notification
            self.append(f"{note.title}: {note.message}" if note.title else note.message)


async def until(pilot, condition, seconds: float = 60, why=None) -> None:
    """Let the app run until ``condition()`` holds (an event in the app, a file, a server):
    wait for the event, not for a time; fail after ``seconds``, saying ``why()`` if given."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, (
            "the awaited event never happened" + (f": {why()}" if why else ""))
        await pilot.pause(0.02)


async def settle(pilot, seconds: float = 60) -> None:
    """Until every worker of the app has finished, failed ones included (Textual's
    ``wait_for_complete`` re-raises a worker's error, which is what the app must not do), and
    every message they left has been handled."""
    await until(pilot, lambda: all(worker.is_finished for worker in pilot.app.workers), seconds)
    await pilot.pause()
    await pilot.pause()


def text(app, selector: str) -> str:
    """What the widget ``selector`` of the current screen renders."""
    return str(app.screen.query_one(selector).render())


def full_submission(path: Path) -> Path:
    """A well-formed submission of Kaggle's 28,000 test rows at ``path`` (its folder made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("ImageId,Label\n" + "".join(f"{i},{i % 10}\n" for i in range(1, 28001)))
    return path


async def press(pilot, *keys: str) -> None:
    """Press ``keys`` once the app has settled, then settle again: a screen switched to, or an
    action taken, with every worker it started finished."""
    await settle(pilot)
    await pilot.press(*keys)
    await settle(pilot)


async def send_with(pilot, message: str) -> None:
    """On the Submit screen: type ``message`` and press ctrl+s (a confirmation may follow)."""
    pilot.app.screen.query_one("#message").value = message
    await pilot.press("ctrl+s")
