"""The app's background work, and what happens when it fails.

Every worker runs on the app (not on the screen that starts it) with ``exit_on_error=False``:
Textual's default would take the whole app down when a worker raises, and a worker's
``StateChanged`` message does not bubble from a screen. So one handler on the app
(``WorkbenchApp.on_worker_state_changed``) sees every failure, shows it as a notification, and
tells the screen that started the work (``WorkFailed``), which stays usable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from weakref import WeakKeyDictionary

from textual.app import App
from textual.message_pump import MessagePump
from textual.worker import Worker

from workbench.engine.errors import Action, Option, WorkbenchError, user_message

# The screen (or widget) that started each worker, to tell it when the work failed.
OWNERS: WeakKeyDictionary[Worker, MessagePump] = WeakKeyDictionary()


def background(group: str, description: str) -> Callable:
    """Like ``@work(thread=True, exclusive=True, group=group)``, but the worker belongs to the
    app and a failure is handled there; ``description`` names the work in the notification."""

    def decorate(method: Callable) -> Callable[..., Worker]:
        @functools.wraps(method)
        def start(self: MessagePump, *args, **kwargs) -> Worker:
            worker = self.app.run_worker(
                functools.partial(method, self, *args, **kwargs), name=method.__name__,
                group=group, description=description, exclusive=True, thread=True,
                exit_on_error=False)
            # Safe after the start: the failure is handled on this (the UI) thread, later.
            OWNERS[worker] = self
            return worker

        return start

    return decorate


def running(app: App, group: str, name: str | None = None) -> bool:
    """One of the app's workers in ``group`` (named ``name``: its method's) is running."""
    return any(w.group == group and name in (None, w.name) and w.is_running
               for w in app.workers)


# What fixes a problem, in the app's words: the engine names options as the CLI's flags.
FIELDS = {
    "name": "the name field", "val_split": "the Validation split field",
    "seed": "the Seed field", "epochs": "the Epochs field", "folds": "the Folds / members field",
    "members": "the Folds / members field", "dir": "the Search screen's Folder field",
    "force": "delete the old file first", "runs_dir": "start the app in another folder",
    "data": "start the app with --data PATH",
    "parallel": "the Parallel field", "cluster": "the Cluster field",
    "per_gpu": "the Parallel field",
    "resume": "u on the Train screen",
}


# What does it, in the app's words: the engine names actions as the CLI's commands.
ACTIONS = {
    "runs delete": "Delete on the Runs screen", "runs list": "the Runs screen",
    "runs show": "the Runs screen", "train": "the Train screen",
    "cv": "the Train screen (plan: CV)", "ensemble": "the Train screen (plan: ensemble)",
}  # the others have no screen: the command, run in a shell


def in_app(part: Option | Action) -> str:
    if isinstance(part, Option):
        return FIELDS.get(part.name, part.flag)
    return ACTIONS.get(part.command, f"{part.line} in a shell")


def say(error: BaseException) -> str:
    """The engine's sentence for ``error``, its fix worded for the app (a field, not a flag)."""
    return user_message(error, in_app) if isinstance(error, Exception) else str(error)


def failure_text(error: BaseException | None) -> str:
    """One line for a failed worker: the engine's sentence, or the error's type and message."""
    if isinstance(error, (WorkbenchError, OSError)):
        return say(error)
    detail = " ".join(str(error).split())[:200] if error is not None else ""
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__
