"""Messages the app's workers post to the UI thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from textual.message import Message

from workbench.engine.events import Event, Trial
from workbench.engine.kaggle.history import KaggleSubmission
from workbench.engine.plans.cv import CVResult
from workbench.engine.plans.ensemble import EnsembleResult

if TYPE_CHECKING:  # training imports Keras, which the app loads only when it trains
    from workbench.engine.training.fit import TrainResult


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
class SearchTrialFinished(Message):
    """A trial of the Search screen's grid is in its trials file (``done`` of ``total``)."""

    trial: Trial
    done: int
    total: int


@dataclass
class SearchEnded(Message):
    """The Search screen's grid is over: done, or stopped after a batch (``stopped``)."""

    folder: Path
    stopped: bool


@dataclass
class EnsembleAveraged(Message):
    """The Runs screen's overlaid runs are averaged: the submission written, the ensemble
    recorded."""

    result: EnsembleResult


@dataclass
class WorkFailed(Message):
    """Work this screen started failed (already shown as a notification by the app)."""

    group: str
    text: str


@dataclass
class CanvasChanged(Message):
    """The drawing on the Draw screen's canvas changed."""


@dataclass
class DrawingPredicted(Message):
    """The chosen run's probabilities for the drawing, or a note in their place (the model is
    loading, the canvas is empty)."""

    probabilities: np.ndarray | None
    note: str = ""
    asked: int = 0  # which stroke's prediction this answers: an older one is not shown


@dataclass
class KaggleStatus(Message):
    """How the Submit screen's Kaggle work is going: sending, waiting for the score, the
    history loaded."""

    text: str


@dataclass
class KaggleOutcome(Message):
    """How a submission ended (scored, with its place on the leaderboard; refused; still
    waiting): the Submit screen's line that stays until the next one."""

    text: str
    error: bool = False


@dataclass
class KaggleHistory(Message):
    """The competition's submission history, newest first, each row naming its run."""

    rows: list[KaggleSubmission]
