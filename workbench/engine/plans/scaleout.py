"""Members trained at once on Ray: on this machine (``--parallel N``, a Ray started for the
command and stopped after it) or on a running cluster (``--cluster ADDRESS``).

Each member's run is claimed here, in this machine's ``runs/``, as one trained in-process is;
a Ray worker trains it in a folder of its own (``remote.train_member``) and streams back its
events and each epoch's committed files, which are written here as they come. So no folder is
shared with the workers, the run is whole here at every epoch, and a member whose worker or
machine dies is trained again from the last epoch that reached this machine. GPUs are shared
as fractions (``per_gpu`` members on each), and the cores are split so that the members do not
each take all of them. A stop (Ctrl-C, the app's stop key) cancels the workers; the runs keep
their last epoch, and the same command continues them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.engine.errors import Option, WorkbenchError, printable
from workbench.engine.events import Event, MemberEvent, MemberStarted, TrainFinished
from workbench.engine.network import backend
from workbench.engine.plans import plan, remote
from workbench.engine.plans.scale import Scale
from workbench.engine.runs import run as runs
from workbench.engine.runs.eventlog import EventLog
from workbench.engine.store import atomic
from workbench.engine.training.estimate import estimate, recall

MAX_ATTEMPTS = 3  # a member whose worker dies this many times ends the plan, with its reason
OBJECT_STORE_BYTES = 512 << 20  # the data (~55 MB) and a few checkpoints in flight
POLL_S = 0.2  # how often the driver looks for a stop while members train


@dataclass(frozen=True)
class Placement:
    """What each member asks of Ray, and the cores its backend may use."""

    num_cpus: float
    num_gpus: float
    threads: int
    slots: int  # members that run at once

    @property
    def options(self) -> dict[str, Any]:
        # A member on a GPU has a process of its own, so that all its GPU memory is freed
        # after it; on cores alone, members reuse Ray's workers: Keras loads once a worker,
        # not once a member (seconds of CPU each, more than a tiny member's training).
        return {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus, "max_retries": 0,
                "max_calls": 1 if self.num_gpus else 0}


def place(scale: Scale, members: int, cpus: float, gpus: float, cpu_only: bool) -> Placement:
    """How ``members`` share ``cpus`` and ``gpus`` (Ray's counts) as ``scale`` asks: on GPUs,
    ``per_gpu`` of them on each (by default as many as fit ``parallel`` on the GPUs); the cores
    split evenly between the members that run at once."""
    parallel = min(scale.parallel or members, members)  # a continued plan may have fewer left
    if gpus >= 1 and not cpu_only:
        per_gpu = scale.per_gpu or max(1, math.ceil(parallel / int(gpus)))
        slots = max(1, min(parallel, int(gpus) * per_gpu))
        num_gpus = math.floor(10_000 / per_gpu) / 10_000  # Ray takes four decimals
    else:
        slots, num_gpus = parallel, 0.0
    share = max(cpus, 1.0) / slots
    return Placement(max(0.01, math.floor(share * 100) / 100), num_gpus,
                     max(1, int(share)), slots)


@contextlib.contextmanager
def session(scale: Scale) -> Iterator[Any]:
    """Ray for one command (yielded): joined at ``scale.cluster``, or started on this machine
    and stopped after, so no Ray process outlives the command; a Ray this process runs already
    (a notebook's) is used as it is. A Ray of this machine binds 127.0.0.1 alone: Ray reads
    that choice once, at its import, which is why Ray is imported here and nowhere earlier."""
    if scale.cluster is None:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    if ray.is_initialized():
        yield ray
        return
    quiet: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                             "logging_level": logging.ERROR}
    try:
        if scale.cluster is not None:
            ray.init(address=scale.cluster, **quiet)
        else:
            ray.init(num_cpus=os.cpu_count() or 1, object_store_memory=OBJECT_STORE_BYTES,
                     **quiet)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = f"the Ray cluster at {printable(scale.cluster)}" if scale.cluster else "Ray"
        raise WorkbenchError(f"{where} could not be started or joined ("
                             f"{printable(' '.join(str(error).split())[:160])})",
                             ("check the address (", Option("cluster"), "), or train without "
                              "it (", Option("parallel"), " 1).")) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def train(manifest: plan.Manifest, members: Sequence[plan.Member], total: int, runs_dir: Path,
          *, scale: Scale, inputs: plan.Inputs, emit: Callable[[Event], None],
          stop: threading.Event | None) -> str:
    """``members`` of a plan of ``total`` trained on Ray as ``scale`` says (see the module's
    docstring); the plan's state after, as ``members.train_members`` says it."""
    with session(scale) as ray:
        resources = ray.cluster_resources()
        placement = place(scale, len(members), resources.get("CPU", 1.0),
                          resources.get("GPU", 0.0), members[0].config.cpu)
        driver = _Driver(ray, manifest, runs_dir, total, placement, inputs, emit,
                         local=scale.cluster is None)
        driver.estimate(members)
        pool = ThreadPoolExecutor(max_workers=placement.slots, thread_name_prefix="member")
        futures = [pool.submit(driver.member, member) for member in members]
        try:
            while True:
                done, pending = wait(futures, timeout=POLL_S, return_when=FIRST_EXCEPTION)
                if stop is not None and stop.is_set():
                    driver.stop()
                if not pending or any(f.exception() for f in done):
                    break
        except BaseException:
            driver.stop()  # a second Ctrl-C: the workers are cancelled before Ray stops
            raise
        finally:
            if any(f.done() and f.exception() for f in futures):
                driver.stop()
            pool.shutdown(wait=True)
        statuses = [_outcome(future) for future in futures]
    if "interrupted" in statuses:
        return "interrupted"
    return "waiting" if "running" in statuses else "finished"


def run_tasks(scale: Scale, function: Callable[..., Any], shared: Any,
              calls: Sequence[tuple], options: dict[str, Any], cpu_only: bool,
              on_result: Callable[[int, Any], None], stop: threading.Event | None) -> None:
    """``function(shared, *call, **options)`` for each of ``calls`` on Ray, as ``scale`` says
    (short tasks that write nothing: a search's trials), each in a worker told its ``threads``
    and whether to ``share_gpu``; ``on_result(index, result)`` here as each ends. A worker
    that dies has its task run again (Ray retries it); a stop cancels them all and raises
    KeyboardInterrupt; a task's own error is raised here as it was raised."""
    with session(scale) as ray:
        resources = ray.cluster_resources()
        placement = place(scale, len(calls), resources.get("CPU", 1.0),
                          resources.get("GPU", 0.0), cpu_only)
        task = ray.remote(**{**placement.options, "max_retries": MAX_ATTEMPTS - 1})(function)
        data = ray.put(shared)
        pending = {task.remote(data, *call, **options, threads=placement.threads,
                               share_gpu=placement.num_gpus > 0): index
                   for index, call in enumerate(calls)}
        try:
            while pending:
                if stop is not None and stop.is_set():
                    raise KeyboardInterrupt
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    index = pending.pop(ref)
                    on_result(index, _result(ray, ref))
        finally:
            for ref in pending:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)


def _result(ray: Any, ref: Any) -> Any:
    """A task's result; its own error as it was raised in the worker."""
    from ray import exceptions as ray_errors

    try:
        return ray.get(ref)
    except ray_errors.RayTaskError as error:
        cause = error.cause
        raise (cause if isinstance(cause, Exception) else error) from None
    except ray_errors.RayError as error:
        raise WorkbenchError(f"a Ray worker died {MAX_ATTEMPTS} times on one task ("
                             f"{printable(' '.join(str(error).split())[:120])}); what finished "
                             "is kept: run the same command to continue.") from None


def _outcome(future: Future) -> str:
    error = future.exception()
    if error is not None:
        raise error
    return future.result()


class _Driver:
    """The members' threads here: each claims a member, hands it to a worker and writes what
    comes back; ``stop`` cancels every worker and starts no more."""

    def __init__(self, ray: Any, manifest: plan.Manifest, runs_dir: Path, total: int,
                 placement: Placement, inputs: plan.Inputs,
                 emit: Callable[[Event], None], local: bool) -> None:
        self.ray, self.local = ray, local
        self.manifest, self.runs_dir, self.total = manifest, runs_dir, total
        self.placement, self.inputs, self.emit = placement, inputs, emit
        self.task = ray.remote(**placement.options)(remote.train_member)
        self.lock = threading.Lock()
        self.running: dict[int, Any] = {}
        self.stopping = threading.Event()
        self._data: Any = None

    def data(self) -> Any:
        """The inputs in Ray's object store, put there once for every member."""
        with self.lock:
            if self._data is None:
                self._data = self.ray.put(self.inputs())
            return self._data

    def estimate(self, members: Sequence[plan.Member]) -> None:
        """The members' cost, timed by a worker placed as a member is (on a cluster: on one of
        its machines), emitted before any member starts; none if it cannot be had."""
        config = members[0].config
        if self.local:  # as a member placed so last ran here: no worker to start for it
            known = recall(config, self.inputs().count(config), len(members),
                           self.placement.threads)
            if known is not None:
                self.emit(known)
                return
        task = self.ray.remote(**self.placement.options)(_estimate)
        try:
            cost = self.ray.get(task.remote(config, self.data(), len(members),
                                            self.placement.threads,
                                            self.placement.num_gpus > 0), timeout=600)
        except Exception:  # an estimate is advice: never a reason not to train
            return
        if cost is not None:
            self.emit(cost)

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            tasks = list(self.running.values())
        for task in tasks:
            with contextlib.suppress(Exception):
                self.ray.cancel(task, force=True)

    def member(self, member: plan.Member) -> str:
        if self.stopping.is_set():
            return "interrupted"
        found = plan.claim(self.manifest, member, self.runs_dir)
        if found.run is None:
            return found.status
        with found.run as run:
            self.emit(MemberStarted(member.index + 1, self.total, found.run_id, member.kind))
            return self._train(run, member)

    def _train(self, run: runs.Run, member: plan.Member) -> str:
        from ray import exceptions as ray_errors

        log = EventLog(run.path)
        what = f"{member.kind} {member.index + 1}"
        lost: Exception | None = None
        for attempt in range(MAX_ATTEMPTS):
            if self.stopping.is_set():
                break
            files = remote.read_files(run.path)
            task = self.task.remote(run.id, files, self.data(), member.index, attempt,
                                    self.placement.threads, self.placement.num_gpus > 0)
            with self.lock:
                self.running[member.index] = task
            try:
                for ref in task:  # type: ignore[attr-defined]  # a streaming generator
                    kind, value = self.ray.get(ref)
                    if kind == "worker":
                        atomic.write_json(run.path / "worker.json", {**value, "attempt": attempt})
                    elif kind == "event":
                        log(value)
                        self.emit(MemberEvent(member.index + 1, self.total, member.kind,
                                              run.id, value))
                    elif kind == "files":
                        run.receive({name: data for name, data in value.items()
                                     if name not in remote.LOCAL_ONLY})  # this machine's own
                    else:
                        return value
            except ray_errors.TaskCancelledError:
                break
            except ray_errors.RayTaskError as error:  # the training's own error: not retried
                cause = error.cause if isinstance(error.cause, Exception) else error
                self._ended(run, member, log, "failed", f"{type(cause).__name__}: {cause}")
                if isinstance(cause, WorkbenchError):
                    raise cause from None
                raise WorkbenchError(f"{what} failed on its Ray worker ({type(cause).__name__}: "
                                     f"{printable(' '.join(str(cause).split())[:160])})") from None
            except ray_errors.RayError as error:  # its worker or machine is gone: again
                lost = error
            finally:
                with self.lock:
                    self.running.pop(member.index, None)
        else:
            reason = printable(' '.join(str(lost).split())[:120])
            self._ended(run, member, log, "failed", f"its worker died {MAX_ATTEMPTS} times: "
                        f"{reason}")
            raise WorkbenchError(f"{what}'s Ray worker died {MAX_ATTEMPTS} times ({reason}); "
                                 "the epochs that reached this machine are kept: run the same "
                                 "command to continue.")
        self._ended(run, member, log, "interrupted", "stopped by request")
        return "interrupted"

    def _ended(self, run: runs.Run, member: plan.Member, log: EventLog, status: str,
               message: str) -> None:
        """A member that ended here, not in its worker (stopped, or its workers lost): its
        status, and the TrainFinished its worker could not send, for the log and the faces."""
        run.set_status(status, message)
        event = TrainFinished(run.id, status, run.epochs_done, run.best_val_accuracy,
                              run.seconds, message)
        log(event)
        self.emit(MemberEvent(member.index + 1, self.total, member.kind, run.id, event))


def _estimate(config: Any, inputs: Any, members: int, threads: int, share_gpu: bool) -> Any:
    """``estimate.estimate`` in a Ray worker placed as a member is."""
    backend.share_machine(threads, share_gpu)
    return estimate(config, inputs.count(config), members)


