"""Messages the app's workers post to the UI thread."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from workbench.engine.cv import CVResult
from workbench.engine.events import Event


@dataclass
class TrainingEvent(Message):
    """An engine event, carried from the training thread."""

    event: Event


@dataclass
class TrainingFailed(Message):
    error: str


@dataclass
class CrossValidated(Message):
    """A CV's training is over: finished (with its OOF summary), interrupted, or waiting."""

    result: CVResult


@dataclass
class WorkFailed(Message):
    """Work this screen started failed (already shown as a notification by the app)."""

    group: str
    text: str
