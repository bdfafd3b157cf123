"""A training run's configuration: what ``config.json`` holds and what reproduces a run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from workbench.engine.backend import PRECISIONS
from workbench.engine.errors import WorkbenchError
from workbench.engine.models import model_spec
from workbench.engine.recipes import OPTIMIZERS, PRESETS, SCHEDULES, check_choice


@dataclass(frozen=True)
class TrainConfig:
    model: str = "simple-cnn"
    epochs: int = 5
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float | None = None
    schedule: str = "constant"
    preset: str | None = None
    augment: bool | None = None
    val_split: float = 0.1
    seed: int = 0
    early_stopping: int | None = None
    cpu: bool = False
    precision: str = "auto"
    exclude_suspects: bool = False
    data: str | None = None

    def resolved(self) -> TrainConfig:
        """Apply the preset, fill defaults, check every choice; raises WorkbenchError."""
        config = self
        if config.preset:
            preset_name = check_choice("preset", config.preset, PRESETS)
            preset = PRESETS[preset_name]
            config = replace(config, preset=preset_name, optimizer=preset.optimizer,
                             schedule=preset.schedule,
                             learning_rate=config.learning_rate or preset.learning_rate)
        optimizer = check_choice("optimizer", config.optimizer, OPTIMIZERS)
        spec = model_spec(config.model)
        if config.epochs < 0 or config.batch_size < 1:
            raise WorkbenchError("epochs must be >= 0 and batch size >= 1.")
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
            schedule=check_choice("schedule", config.schedule, SCHEDULES),
            learning_rate=config.learning_rate or OPTIMIZERS[optimizer][1],
            augment=spec.augment_by_default if config.augment is None else config.augment,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})
