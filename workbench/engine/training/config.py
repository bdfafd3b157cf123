"""A training run's configuration: what ``config.json`` holds and what reproduces a run."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from workbench.engine import recipes
from workbench.engine.data.competition import data_path, sample_path
from workbench.engine.data.split import fold_split, stratified_split
from workbench.engine.errors import Option, WorkbenchError
from workbench.engine.network.backend import PRECISIONS
from workbench.engine.network.models import model_spec
from workbench.engine.recipes import check_choice

# The bounds of every number a recipe or a search takes; each one is checked here, once, before
# any folder is made or Keras loads. Seeds stop at 2**31 - 1 so that a CV's per-fold seeds
# (seed + fold) stay below 2**32, the most NumPy's and Keras' seeding accept.
MAX_SEED = 2**31 - 1
MAX_EPOCHS = 10_000
# 65,536 rows of 28x28 float32 are 200 MB a batch; a larger batch only grows memory (a batch
# of 10**9 crashed TensorFlow outright here), and no split of Kaggle's 42,000 rows needs it.
MAX_BATCH_SIZE = 65_536
MAX_LEARNING_RATE = 10.0  # above 10 every optimizer here diverges at once
MAX_FOLDS = 100


def _number(name: str, value: object, whole: bool) -> float:
    """``value`` as a number, or WorkbenchError: no bools, strings, NaN or infinities."""
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "a whole number" if whole else "a number"
        raise WorkbenchError(f"{name} must be {kind} (got {str(value)[:40]!r}).")
    if not math.isfinite(value):
        raise WorkbenchError(f"{name} must be a finite number (got {value}).")
    return float(value) if not whole else int(value)


def check_range(name: str, value: object, low: float, high: float, *, whole: bool = False,
                hint: str = "") -> float:
    """``value`` if it is a finite number in [low, high], else WorkbenchError in one sentence."""
    number = _number(name, value, whole)
    if not low <= number <= high:
        shown = (f"{low:,}..{high:,}" if whole else f"[{low:g}, {high:g}]")
        raise WorkbenchError(f"{name} {value} is outside {shown}{'; ' + hint if hint else ''}.")
    return number


def check_seed(seed: object, name: str = "seed") -> int:
    return int(check_range(name, seed, 0, MAX_SEED, whole=True, hint="use e.g. 0"))


def check_epochs(epochs: object) -> int:
    return int(check_range("epochs", epochs, 1, MAX_EPOCHS, whole=True, hint="use e.g. 5"))


def check_batch_size(batch_size: object) -> int:
    return int(check_range("batch size", batch_size, 1, MAX_BATCH_SIZE, whole=True,
                           hint="use e.g. 128"))


def check_learning_rate(rate: object) -> float:
    number = _number("learning rate", rate, whole=False)
    if not 0 < number <= MAX_LEARNING_RATE:
        raise WorkbenchError(f"learning rate {rate} is outside (0, {MAX_LEARNING_RATE:g}]; "
                             "use e.g. 0.001.")
    return number


def check_val_split(fraction: object) -> float:
    number = _number("validation split", fraction, whole=False)
    if not 0 <= number < 1:
        raise WorkbenchError(f"validation split {fraction} is outside [0, 1); use e.g. 0.1 "
                             "for 10%.")
    return number


def check_folds(folds: object) -> int:
    number = int(_number("folds", folds, whole=True))
    if not 2 <= number <= MAX_FOLDS:
        raise WorkbenchError(f"folds must be 2 or more and at most {MAX_FOLDS} (got {folds}); "
                             "use e.g. 5.")
    return number


def check_patience(patience: object) -> int:
    return int(check_range("early-stopping patience", patience, 1, MAX_EPOCHS, whole=True,
                           hint="use e.g. 3 (epochs without a better validation loss)"))


# Recipe fields added since the first CV and ensemble manifests were written, and what a
# manifest that lacks one meant: such a manifest still names the same recipe.
ADDED_FIELDS: dict[str, Any] = {"ema": 0.0}


def same_recipe(saved: dict, recipe: dict) -> bool:
    """Whether a manifest's ``saved`` recipe is ``recipe`` (one written before a field was
    added counts as having that field's value of then)."""
    return {**ADDED_FIELDS, **saved} == {**ADDED_FIELDS, **recipe}


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
    val_split: float = recipes.DEFAULT_VAL_SPLIT
    seed: int = recipes.DEFAULT_SEED
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
    ema: float | None = None  # the momentum of the weights' moving average (0: none)

    def resolved(self) -> Recipe:
        """The recipe this config says: the preset applied, the defaults filled, every
        choice checked; raises WorkbenchError.

        What the config sets wins over the preset, and the preset over the defaults."""
        config = self
        preset = None
        if config.preset:
            name = check_choice("preset", config.preset, recipes.PRESETS)
            config, preset = replace(config, preset=name), recipes.PRESETS[name]
        chosen: dict[str, Any] = {}  # every default filled: no None
        for name, default in recipes.DEFAULTS.items():
            value = getattr(config, name)
            if value is None and preset is not None:
                value = getattr(preset, name)
            chosen[name] = default if value is None else value
        config = replace(config, **chosen)
        optimizer = check_choice("optimizer", chosen["optimizer"], recipes.OPTIMIZERS)
        if (config.learning_rate is None and preset is not None
                and preset.optimizer.lower() == optimizer.lower()):
            config = replace(config, learning_rate=preset.learning_rate)
        spec = model_spec(chosen["model"])
        config = replace(config, epochs=check_epochs(config.epochs),
                         batch_size=check_batch_size(config.batch_size),
                         seed=check_seed(config.seed), val_split=check_val_split(config.val_split))
        if config.split_seed is not None:
            check_seed(config.split_seed, "split seed")
        smoothing = _number("label smoothing", chosen["label_smoothing"], whole=False)
        if not 0 <= smoothing < 1:
            raise WorkbenchError(f"label smoothing {smoothing} is outside [0, 1); use e.g. 0.1.")
        average = _number("ema", chosen["ema"], whole=False)
        if not 0 <= average < 1:
            raise WorkbenchError(f"ema {average} is outside [0, 1)",
                                 ("use e.g. 0.999 (", Option("ema"), "), or 0 for none."))
        if config.learning_rate is not None:
            check_learning_rate(config.learning_rate)
        if config.early_stopping is not None:
            check_patience(config.early_stopping)
        if config.precision not in PRECISIONS:
            raise WorkbenchError(f"unknown precision '{config.precision}'; choose one of: "
                                 f"{', '.join(PRECISIONS)}.")
        if config.folds is not None or config.fold is not None:
            if config.folds is None:
                raise WorkbenchError(f"fold {config.fold} needs a number of folds; use e.g. 5.")
            check_folds(config.folds)
            if (config.fold is None or isinstance(config.fold, bool)
                    or not isinstance(config.fold, int) or not 0 <= config.fold < config.folds):
                raise WorkbenchError(f"fold {config.fold} is not one of 0..{config.folds - 1}.")
        check_range("pseudo-label threshold", config.pseudo_threshold, 0.5, 1,
                    hint="use e.g. 0.99")
        data = config.data
        if data is None and (default := data_path()) != sample_path():  # the downloaded zip,
            data = str(default)                            # named: the default may change
        if data is not None:
            data = str(Path(data).expanduser().resolve())
        pseudo = config.pseudo_labels
        if pseudo is not None:
            pseudo = str(Path(pseudo).expanduser().resolve())
        return Recipe(**{
            **{field.name: getattr(config, field.name) for field in fields(config)},
            "optimizer": optimizer, "data": data, "pseudo_labels": pseudo,
            "split_seed": config.seed if config.split_seed is None else config.split_seed,
            "schedule": check_choice("schedule", chosen["schedule"], recipes.SCHEDULES),
            "learning_rate": config.learning_rate or recipes.OPTIMIZERS[optimizer][1],
            "augment": spec.augment_by_default if config.augment is None else config.augment,
        })

    @property
    def validation_seed(self) -> int:
        """The seed of the validation split (configs written before ``split_seed``: ``seed``)."""
        return self.seed if self.split_seed is None else self.split_seed

    def held_out(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row indices (train, validation): the fold of a CV run, else the stratified split."""
        self.check_rows(labels)
        if self.folds is not None and self.fold is not None:
            return fold_split(labels, self.folds, self.fold, self.validation_seed)
        return stratified_split(labels, self.val_split, self.validation_seed)

    def check_rows(self, labels: np.ndarray) -> None:
        """Refuse a split these labels cannot make: every row held out (a split of 0.9999 on
        a tiny set), or more folds than the rarest digit has rows (folds without that digit).
        Cheap: call it once the data is loaded, before a run folder is made."""
        if self.folds is not None and self.fold is not None:
            digits, counts = np.unique(labels, return_counts=True)
            rarest = int(counts.argmin()) if len(counts) else None
            if rarest is None or self.folds > counts[rarest]:
                have = (f"digit {digits[rarest]} has only {counts[rarest]} "
                        f"row{'s' if counts[rarest] != 1 else ''}"
                        if rarest is not None else "there are no labelled rows")
                raise WorkbenchError(f"{self.folds} folds need at least {self.folds} rows of "
                                     f"every digit, but {have}; use fewer folds.")
            return
        train_idx, _ = stratified_split(labels, self.val_split, self.validation_seed)
        if not len(train_idx):
            raise WorkbenchError(f"validation split {self.val_split} holds out all "
                                 f"{len(labels):,} labelled rows, leaving none to train on",
                                 ("use a smaller validation split (", Option("val_split"),
                                  ", e.g. 0.1)."))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


@dataclass(frozen=True, kw_only=True)
class Recipe(TrainConfig):
    """A config with every choice made (``TrainConfig.resolved``): what training takes, typed
    so that no None reaches it where a value is needed."""

    model: str
    epochs: int
    batch_size: int
    optimizer: str
    learning_rate: float
    schedule: str
    augment: bool
    label_smoothing: float
    split_seed: int
    ema: float
