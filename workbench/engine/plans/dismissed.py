"""The suspects a CV proposed that the user dismissed, kept in ``runs/cv/NAME/dismissed.csv``
(header ``id``, one train id a line) so that a review can be left and taken up again. Confirmed
suspects go to the project's ``suspects.csv`` instead (``workbench.engine.results.review``), which
training can exclude."""

from __future__ import annotations

from pathlib import Path

from workbench.engine.data.suspects import read_suspects, toggle_suspect
from workbench.engine.plans.cv import cv_folder
from workbench.engine.runs.run import RUNS_DIR


def dismissed_path(name: str, runs_dir: Path = RUNS_DIR) -> Path:
    return cv_folder(name, runs_dir) / "dismissed.csv"


def read_dismissed(name: str, runs_dir: Path = RUNS_DIR) -> set[int]:
    """The train ids dismissed among CV ``name``'s suspects (none before any is)."""
    return read_suspects(dismissed_path(name, runs_dir))


def toggle_dismissed(name: str, train_id: int, runs_dir: Path = RUNS_DIR) -> bool:
    """Dismiss ``train_id`` as a suspect of CV ``name``, or take the dismissal back; returns
    whether it is now dismissed."""
    return toggle_suspect(train_id, dismissed_path(name, runs_dir))
