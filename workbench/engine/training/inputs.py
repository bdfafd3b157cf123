"""What a training reads besides its run folder, read once where the work is planned: the data,
the suspect rows it leaves out and the pseudo-labelled test rows it adds. A member trained on
another machine (``scaleout``) receives it through Ray, so it needs none of this machine's
files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.engine.data.competition import Competition, load_competition
from workbench.engine.data.suspects import read_suspects
from workbench.engine.errors import WorkbenchError
from workbench.engine.results.prediction import pseudo_labels
from workbench.engine.training.config import Recipe


@dataclass(frozen=True)
class TrainInputs:
    competition: Competition
    excluded: np.ndarray  # train ids (1-based rows) left out of every training split
    pseudo_rows: np.ndarray  # test rows (indices) added with ``pseudo_labels``
    pseudo_labels: np.ndarray

    def training_rows(self, config: Recipe) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, y) to fit and the validation row indices of ``config``'s split: the split's
        training rows less the excluded ones, plus the pseudo-labelled test rows."""
        competition = self.competition
        train_idx, val_idx = self._split(config)
        x, y = competition.train_images[train_idx], competition.train_labels[train_idx]
        if len(self.pseudo_rows):
            x = np.concatenate([x, competition.test_images[self.pseudo_rows]])
            y = np.concatenate([y, self.pseudo_labels])
        return x, y, val_idx

    def count(self, config: Recipe) -> int:
        """How many rows ``training_rows`` fits, without gathering them."""
        return len(self._split(config)[0]) + len(self.pseudo_rows)

    def check_rows_left(self, config: Recipe) -> None:
        """WorkbenchError, before any folder is made, when the excluded suspects leave no row
        to train on."""
        if self.count(config) == 0:
            raise WorkbenchError(f"the {len(self.excluded):,} confirmed suspect labels "
                                 "(suspects.csv) exclude every training row; train without "
                                 "excluding them, or dismiss some of them.")

    def _split(self, config: Recipe) -> tuple[np.ndarray, np.ndarray]:
        """The training row indices (less the excluded ones) and the validation ones."""
        train_idx, val_idx = config.held_out(self.competition.train_labels)
        if len(self.excluded):
            train_idx = np.setdiff1d(train_idx, self.excluded - 1)
        return train_idx, val_idx


def read_inputs(config: Recipe, competition: Competition | None = None) -> TrainInputs:
    """``config``'s inputs, each file read and checked once (WorkbenchError naming a bad one);
    ``competition`` if given is the data already loaded."""
    competition = competition or load_competition(config.data)
    if competition.n_train == 0:
        raise WorkbenchError("the data has no labelled rows to train on; give a train.csv.")
    excluded = (np.array(sorted(read_suspects(strict=True)), dtype=np.int64)
                if config.exclude_suspects else np.zeros(0, np.int64))
    rows, labels = (pseudo_labels(Path(config.pseudo_labels), competition.test_ids,
                                  config.pseudo_threshold)
                    if config.pseudo_labels else (np.zeros(0, np.int64), np.zeros(0, np.uint8)))
    return TrainInputs(competition, excluded, rows, labels)
