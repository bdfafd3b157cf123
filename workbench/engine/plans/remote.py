"""One member trained in a Ray worker, on this machine or another: the run folder arrives as
files, the training runs in a folder of the worker's own, and what it writes goes back as it is
committed, so the driver's ``runs/`` holds the run and no folder is shared.

The task yields, in order: ``("worker", {node, host, pid})``; ``("event", event)`` for each
training event; ``("files", {name: bytes})`` after each epoch's commit (what that epoch wrote:
history, checkpoints, state.json) and once more at the end (every file of the run); then
``("result", status)``.

Fault injection, for the tests only: with ``WORKBENCH_KILL_MEMBER=I`` in the environment the
worker training member I (from 0) kills itself with SIGKILL at its second epoch's first batch,
on its first attempt, as a lost machine would.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench.engine.events import BatchEnded, EpochEnded, Event
from workbench.engine.network import backend
from workbench.engine.runs import run as runs
from workbench.engine.training.inputs import TrainInputs

# Never shipped either way: the driver keeps its own lock, event log and record of workers.
LOCAL_ONLY = (".lock", "events.jsonl", "worker.json")
# What an epoch's commit changes (state.json last: the driver writes them in this order).
EPOCH_FILES = ("config.json", "status.json", "history.csv", "last.keras", "best.keras",
               "state.json")


def train_member(run_id: str, files: dict[str, bytes], inputs: TrainInputs, index: int,
                 attempt: int, threads: int, share_gpu: bool) -> Iterator[tuple[str, Any]]:
    """Train run ``run_id``, whose files are ``files``, on ``inputs`` (see the module's
    docstring)."""
    backend.share_machine(threads, share_gpu)
    folder = Path(tempfile.mkdtemp(prefix="workbench-member-")) / run_id
    try:
        folder.mkdir()
        for name, data in files.items():
            (folder / name).write_bytes(data)
        yield "worker", {"node": _node_id(), "host": socket.gethostname(), "pid": os.getpid()}
        for kind, value in _train(folder, inputs, _kill_at(index, attempt)):
            if kind == "result":
                status = value
                break
            yield kind, value
    finally:  # before the result: the driver lets go of the task once it has that
        shutil.rmtree(folder.parent, ignore_errors=True)
    yield "result", status


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()


def _kill_at(index: int, attempt: int) -> int | None:
    wanted = os.environ.get("WORKBENCH_KILL_MEMBER", "")
    return 2 if attempt == 0 and wanted.isdigit() and int(wanted) == index else None


def _train(folder: Path, inputs: TrainInputs, kill_at_epoch: int | None
           ) -> Iterator[tuple[str, Any]]:
    from workbench.engine.training import fit as training

    out: queue.Queue[tuple[str, Any]] = queue.Queue()

    def publish(event: Event) -> None:
        if kill_at_epoch is not None and isinstance(event, BatchEnded) and (
                event.epoch >= kill_at_epoch):
            os.kill(os.getpid(), signal.SIGKILL)
        out.put(("event", event))
        if isinstance(event, EpochEnded):  # called right after the epoch's commit
            out.put(("files", read_files(folder, EPOCH_FILES)))

    def work() -> None:
        try:
            with runs.Run.claim(folder) as run:
                result = training.fit(run, subscribers=[publish], inputs=inputs)
            out.put(("files", read_files(folder)))
            out.put(("result", result.status))
        except BaseException as error:  # every outcome goes back to the driver
            out.put(("error", error))

    threading.Thread(target=work, daemon=True).start()
    while True:
        kind, value = out.get()
        if kind == "error":
            raise value
        yield kind, value
        if kind == "result":
            return


def read_files(folder: Path, names: tuple[str, ...] | None = None) -> dict[str, bytes]:
    """The run's files by name (``names`` alone if given, those that exist), never the local
    ones nor temp files of a write in progress."""
    chosen = names if names is not None else tuple(sorted(
        p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
        and p.name not in LOCAL_ONLY))
    files = {}
    for name in chosen:
        try:
            files[name] = (folder / name).read_bytes()
        except FileNotFoundError:
            continue
    return files
