"""Training progress as plain, immutable event objects (no Keras here), for any subscriber.

The engine calls each subscriber from the training thread; events are frozen dataclasses, so a
subscriber may hand them to another thread as they are (``EventQueue`` does exactly that).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class TrainStarted:
    run_id: str
    model: str
    device: str
    epochs: int
    initial_epoch: int
    steps_per_epoch: int
    train_rows: int
    val_rows: int
    data: str = ""  # the data in a few words (Competition.label); "" in older event logs


@dataclass(frozen=True)
class BatchEnded:
    epoch: int
    step: int
    steps: int
    loss: float
    accuracy: float
    learning_rate: float
    samples_per_s: float
    eta_s: float
    run_id: str = ""  # the run it belongs to ("" in older event logs)


@dataclass(frozen=True)
class EpochEnded:
    epoch: int
    epochs: int
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    learning_rate: float
    seconds: float
    samples_per_s: float
    eta_s: float
    best: bool
    run_id: str = ""  # the run it belongs to ("" in older event logs)


@dataclass(frozen=True)
class Predicting:
    """Training is over; the run is predicting its held-out and test rows (seconds on a CPU)."""

    run_id: str
    val_rows: int
    test_rows: int


@dataclass(frozen=True)
class TrainFinished:
    run_id: str
    status: str
    epochs_done: int
    best_val_accuracy: float | None
    seconds: float
    message: str = ""


@dataclass(frozen=True)
class MemberStarted:
    """An ensemble begins (or continues, or skips when done) member ``index`` of ``members``;
    a CV's members are its folds (``kind`` "fold"), then its refits."""

    index: int
    members: int
    run_id: str | None
    kind: str = "member"


@dataclass(frozen=True)
class MemberEvent:
    """An event of member ``index`` of ``members`` (a ``kind`` as in MemberStarted) while several
    members train at once (``--parallel``, ``--cluster``): its run's own event, told apart from
    the others' by member and run."""

    index: int
    members: int
    kind: str
    run_id: str
    event: Event


@dataclass(frozen=True)
class Estimated:
    """What the training about to start will cost on this machine (``engine.estimate``):
    ``members`` trainings of ``epochs`` x ``steps`` steps of ``seconds_per_step`` each on
    ``device``; ``measured``: timed just now, else as the last such training here ran."""

    seconds_per_step: float
    steps: int
    epochs: int
    members: int
    device: str
    measured: bool

    @property
    def member_seconds(self) -> float:
        return self.seconds_per_step * self.steps * self.epochs

    def sentence(self) -> str:
        """"~1 h 30 min a member on CPU (2 cores) (0.25 s a step, 20 epochs of 329 steps)"."""
        each = (f"~{duration(self.member_seconds)} "
                f"{'a member' if self.members > 1 else 'to train'} on {self.device} "
                f"({self.seconds_per_step:.3g} s a step, {self.epochs} epochs of {self.steps} "
                f"steps{'' if self.measured else ', as its last training here'})")
        if self.members > 1:
            each += f"; {self.members} members: ~{duration(self.members * self.member_seconds)}"
        return each


def duration(seconds: float) -> str:
    """3 s, 2 min, 1 h 30 min: rounded as an estimate is."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass(frozen=True)
class TrialFinished:
    """A search's trial is trained: ``done`` of the grid's ``total`` trials are now done (those
    of earlier sessions of the same search included)."""

    trial: Trial
    done: int
    total: int


Event = (TrainStarted | BatchEnded | EpochEnded | Predicting | TrainFinished | MemberStarted
         | MemberEvent | Estimated | TrialFinished)
Subscriber = Callable[[Event], None]


def publisher(subscribers: Iterable[Subscriber]) -> Subscriber:
    """The one way the engine publishes: a subscriber that hands each event to every one of
    ``subscribers``, in order, one event at a time (members training at once publish from
    several threads)."""
    everyone = tuple(subscribers)
    lock = threading.Lock()

    def publish(event: Event) -> None:
        with lock:
            for subscriber in everyone:
                subscriber(event)

    return publish


class EventQueue:
    """A subscriber that queues events for a consumer on another thread."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Event] = queue.Queue()

    def __call__(self, event: Event) -> None:
        self.queue.put(event)

    def drain(self) -> list[Event]:
        """Every event queued so far, without waiting."""
        events = []
        while True:
            try:
                events.append(self.queue.get_nowait())
            except queue.Empty:
                return events


@dataclass(frozen=True)
class Trial:
    """One row of trials.csv."""

    trial: str
    optimizer: str
    learning_rate: float
    schedule: str
    best_val_accuracy: float
    final_val_accuracy: float
    epochs_to_converge: int
    epochs: int
    seconds: float
