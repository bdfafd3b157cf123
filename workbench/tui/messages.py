"""Messages the app's workers post to the UI thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from workbench.engine.cv import CVResult
from workbench.engine.ensemble import EnsembleResult
from workbench.engine.events import Event

if TYPE_CHECKING:  # training imports Keras, which the app loads only when it trains
    from workbench.engine.training import TrainResult


@dataclass
class TrainingEvent(Message):
    """An engine event, carried from the training thread."""

    event: Event


@dataclass
class TrainingFailed(Message):
    error: str


@dataclass
class TrainingEnded(Message):
    """The Train screen's work is over: a run's, an ensemble's or a CV's result (a CV's with its
    OOF summary once every fold is done)."""

    result: TrainResult | EnsembleResult | CVResult


@dataclass
class WatchRun(Message):
    """The run the Train screen started is under way: watch its event log."""

    run: Path


@dataclass
class WorkFailed(Message):
    """Work this screen started failed (already shown as a notification by the app)."""

    group: str
    text: str
