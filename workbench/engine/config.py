"""A training run's configuration: what ``config.json`` holds and what reproduces a run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from workbench.engine.backend import PRECISIONS
from workbench.engine.errors import WorkbenchError
from workbench.engine.models import model_spec
from workbench.engine.recipes import DEFAULTS, OPTIMIZERS, PRESETS, SCHEDULES, check_choice
from workbench.engine.split import fold_split, stratified_split


@dataclass(frozen=True)
class TrainConfig:
    """None means: the preset's value, else the default (``recipes.DEFAULTS``)."""

    model: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    schedule: str | None = None
    preset: str | None = None
    augment: bool | None = None
    label_smoothing: float | None = None
    val_split: float = 0.1
    seed: int = 0
    split_seed: int | None = None  # the validation split's seed (None: ``seed``)
    early_stopping: int | None = None
    cpu: bool = False
    precision: str = "auto"
    exclude_suspects: bool = False
    data: str | None = None
    folds: int | None = None  # with ``fold``: hold out that stratified fold, not ``val_split``
    fold: int | None = None
    pseudo_labels: str | None = None  # an .npz of test probabilities (a CV's test.npz)
    pseudo_threshold: float = 0.99

    def resolved(self) -> TrainConfig:
        """Apply the preset, fill defaults, check every choice; raises WorkbenchError.

        What the config sets wins over the preset, and the preset over the defaults."""
        config = self
        preset = None
        if config.preset:
            config = replace(config, preset=check_choice("preset", config.preset, PRESETS))
            preset = PRESETS[config.preset]
        chosen = {}
        for name, default in DEFAULTS.items():
            value = getattr(config, name)
            if value is None and preset is not None:
                value = getattr(preset, name)
            chosen[name] = default if value is None else value
        config = replace(config, **chosen)
        optimizer = check_choice("optimizer", config.optimizer, OPTIMIZERS)
        if (config.learning_rate is None and preset is not None
                and preset.optimizer.lower() == optimizer.lower()):
            config = replace(config, learning_rate=preset.learning_rate)
        spec = model_spec(config.model)
        if config.epochs < 0 or config.batch_size < 1:
            raise WorkbenchError("epochs must be >= 0 and batch size >= 1.")
        if not 0 <= config.label_smoothing < 1:
            raise WorkbenchError(f"label smoothing {config.label_smoothing} is outside [0, 1); "
                                 "use e.g. 0.1.")
        if not 0 <= config.val_split < 1:
            raise WorkbenchError(f"validation split {config.val_split} is outside [0, 1); "
                                 "use e.g. 0.1 for 10%.")
        if config.learning_rate is not None and config.learning_rate <= 0:
            raise WorkbenchError("the learning rate must be positive.")
        if config.precision not in PRECISIONS:
            raise WorkbenchError(f"unknown precision '{config.precision}'; choose one of: "
                                 f"{', '.join(PRECISIONS)}.")
        if config.folds is not None or config.fold is not None:
            if config.folds is None or config.folds < 2:
                raise WorkbenchError(f"folds must be 2 or more (got {config.folds}); use e.g. 5.")
            if config.fold is None or not 0 <= config.fold < config.folds:
                raise WorkbenchError(f"fold {config.fold} is not one of 0..{config.folds - 1}.")
        if not 0.5 <= config.pseudo_threshold <= 1:
            raise WorkbenchError(f"pseudo-label threshold {config.pseudo_threshold} is outside "
                                 "[0.5, 1]; use e.g. 0.99.")
        data = config.data
        if data is not None:
            data = str(Path(data).expanduser().resolve())
        pseudo = config.pseudo_labels
        if pseudo is not None:
            pseudo = str(Path(pseudo).expanduser().resolve())
        return replace(
            config, optimizer=optimizer, data=data, pseudo_labels=pseudo,
            split_seed=config.seed if config.split_seed is None else config.split_seed,
            schedule=check_choice("schedule", config.schedule, SCHEDULES),
            learning_rate=config.learning_rate or OPTIMIZERS[optimizer][1],
            augment=spec.augment_by_default if config.augment is None else config.augment,
        )

    @property
    def validation_seed(self) -> int:
        """The seed of the validation split (configs written before ``split_seed``: ``seed``)."""
        return self.seed if self.split_seed is None else self.split_seed

    def held_out(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row indices (train, validation): the fold of a CV run, else the stratified split."""
        if self.folds is not None and self.fold is not None:
            return fold_split(labels, self.folds, self.fold, self.validation_seed)
        return stratified_split(labels, self.val_split, self.validation_seed)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})
