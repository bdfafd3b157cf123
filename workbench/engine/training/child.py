"""An engine job in a child process at a lower priority: how the app trains, so that its keys
are answered while Keras keeps every core busy (bench/bench_tui.py keys-while-training).

The parent writes the call, pickled, to the child's stdin and reads pickled events, then the
outcome (the job's result, or the exception it raised), from a pipe of their own. Closing the
child's stdin is the stop: the job ends after its batch, as an in-process ``stop`` does, and a
parent that dies, even by ``kill -9``, closes it too, so no training outlives the app.

    python -m workbench.engine.training.child FD NICE   (the child's side; not for people)
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from workbench.engine.errors import WorkbenchError
from workbench.engine.events import publisher
from workbench.engine.store import workspace

# The jobs a child runs: each takes ``subscribers`` and ``stop`` keywords.
JOBS = {
    "train": ("workbench.engine.training.fit", "train"),
    "resume": ("workbench.engine.training.fit", "resume"),
    "cv": ("workbench.engine.plans.cv", "train_cv"),
    "ensemble": ("workbench.engine.plans.ensemble", "train_ensemble"),
    "search": ("workbench.engine.plans.search", "search_job"),
}

NICE = 10
# A child that dies says what it was doing and what is kept.
DEATHS = {
    "train": ("training", "its run, if it made one, is kept: resume it"),
    "search": ("search", "the trials it finished are kept: start the same search to go on"),
}


def run_in_child(job: str, *args: Any, subscribers: Sequence[Callable[[Any], None]] = (),
                 stop: threading.Event | None = None, nice: int = NICE,
                 kinds: tuple[type, ...] | None = None, **kwargs: Any) -> Any:
    """``job(*args, **kwargs)`` (a name in JOBS) in a new Python process at ``nice``: its events
    of ``kinds`` (every kind if None; the child sends no other) reach ``subscribers`` here, in
    order; its result is returned and its exception raised here. Setting ``stop`` stops it
    after its batch."""
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}")
    read_end, write_end = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "workbench.engine.training.child", str(write_end), str(nice)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(write_end,), start_new_session=True)
    finally:
        os.close(write_end)
    done = threading.Event()
    outcome: tuple[str, Any] | None = None
    try:
        assert child.stdin is not None
        try:
            child.stdin.write(pickle.dumps((job, args, kwargs, workspace.runs_dir(), kinds)))
            child.stdin.flush()
        except BrokenPipeError:
            pass  # it died at once: said below
        if stop is not None:  # after the job is written: a stop set already ends it at once
            threading.Thread(target=_stop_when, args=(child, stop, done), daemon=True).start()
        publish = publisher(subscribers)
        with os.fdopen(read_end, "rb") as pipe:
            while True:
                try:
                    kind, value = pickle.load(pipe)
                except EOFError:
                    break
                if kind == "event":
                    publish(value)
                else:
                    outcome = (kind, value)
    finally:
        done.set()
        _close(child)
        code = child.wait()
    if outcome is None:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        what, fix = DEATHS.get(job, DEATHS["train"])
        raise WorkbenchError(f"the {what} process {how} before it finished (out of memory?)", fix)
    kind, value = outcome
    if kind == "error":
        raise value
    return value


def _stop_when(child: subprocess.Popen, stop: threading.Event, done: threading.Event) -> None:
    """Close the child's stdin (its stop) once ``stop`` is set, unless it is done first."""
    while not done.is_set():
        if stop.wait(0.05):
            _close(child)
            return


def _close(child: subprocess.Popen) -> None:
    try:
        if child.stdin is not None and not child.stdin.closed:
            child.stdin.close()
    except OSError:
        pass  # the child is gone already


def _child(fd: int, nice: int) -> None:
    out = os.fdopen(fd, "wb")
    lock = threading.Lock()

    def send(kind: str, value: Any) -> None:
        try:
            with lock:
                pickle.dump((kind, value), out)
                out.flush()
        except OSError:
            stop.set()  # the parent is gone: nobody to tell, so stop as it would have asked

    stop = threading.Event()
    os.nice(nice)
    job, args, kwargs, runs, kinds = pickle.load(sys.stdin.buffer)
    workspace.choose(runs)  # the parent's runs folder: its suspect list, its submissions

    def watch_stdin() -> None:
        sys.stdin.buffer.read()   # returns when the parent closes it, or dies
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    module, name = JOBS[job]
    try:
        function = getattr(__import__(module, fromlist=[name]), name)
        def forward(event: Any) -> None:
            if kinds is None or isinstance(event, kinds):
                send("event", event)

        result = function(*args, subscribers=[forward], stop=stop, **kwargs)
    except BaseException as error:  # every outcome goes back to the parent, whatever it is
        send("error", _portable(error))
    else:
        send("result", result)
    out.close()


def _portable(error: BaseException) -> Exception:
    """``error`` if the parent can unpickle and raise it as it is, else its sentence."""
    if isinstance(error, Exception):
        try:
            pickle.loads(pickle.dumps(error))
            return error
        except Exception:
            pass
    return WorkbenchError(f"{type(error).__name__}: {error}")


if __name__ == "__main__":
    _child(int(sys.argv[1]), int(sys.argv[2]))
