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

from textual.message_pump import MessagePump
from textual.worker import Worker

from workbench.engine.errors import WorkbenchError, user_message

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


def failure_text(error: BaseException | None) -> str:
    """One line for a failed worker: the engine's sentence, or the error's type and message."""
    if isinstance(error, (WorkbenchError, OSError)):
        return user_message(error)
    detail = " ".join(str(error).split())[:200] if error is not None else ""
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__
