"""A training run's configuration: what ``config.json`` holds and what reproduces a run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from workbench.engine.backend import PRECISIONS
from workbench.engine.errors import WorkbenchError
from workbench.engine.models import model_spec
from workbench.engine.recipes import DEFAULTS, OPTIMIZERS, PRESETS, SCHEDULES, check_choice


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
        data = config.data
        if data is not None:
            data = str(Path(data).expanduser().resolve())
        return replace(
            config, optimizer=optimizer, data=data,
            split_seed=config.seed if config.split_seed is None else config.split_seed,
            schedule=check_choice("schedule", config.schedule, SCHEDULES),
            learning_rate=config.learning_rate or OPTIMIZERS[optimizer][1],
            augment=spec.augment_by_default if config.augment is None else config.augment,
        )

    @property
    def validation_seed(self) -> int:
        """The seed of the validation split (configs written before ``split_seed``: ``seed``)."""
        return self.seed if self.split_seed is None else self.split_seed

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})
