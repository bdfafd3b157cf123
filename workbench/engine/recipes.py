"""Optimizers, learning-rate schedules and named presets (names and numbers only: no Keras here)."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.engine.errors import WorkbenchError, printable

# Keras class and default learning rate of each optimizer. Adadelta needs 1.0: tf.keras' default
# of 0.001 barely learns (one of the seed's bugs).
OPTIMIZERS: dict[str, tuple[str, float]] = {
    "adam": ("Adam", 1e-3), "adamax": ("Adamax", 2e-3), "nadam": ("Nadam", 1e-3),
    "rmsprop": ("RMSprop", 1e-3), "adadelta": ("Adadelta", 1.0), "adagrad": ("Adagrad", 0.01),
    "sgd": ("SGD", 0.1), "ftrl": ("Ftrl", 0.01),
    # Adam whose moment estimates forget faster (tuomaso/train_mnist_fast): 0.19 points better
    # than Adam's defaults after 3 epochs of fast-cnn, 3 seeds (BENCHMARKS.md).
    "adam-fast": ("Adam", 1e-2),
}
OPTIMIZER_ARGS: dict[str, dict[str, float]] = {"adam-fast": {"beta_1": 0.7, "beta_2": 0.9}}
SCHEDULES: dict[str, str] = {
    "constant": "the same rate throughout",
    "plateau": "halve the rate when val_loss stalls for 2 epochs (min 1e-5)",
    "linear": "decay linearly to 0 at the last step",
    "triangular": "cyclic between lr/10 and lr, a cycle every 4 epochs",
    "triangular2": "cyclic like triangular, the amplitude halved each cycle",
    "exponential": "multiply the rate by 0.95 each epoch",
    "exponential-slow": "multiply the rate by 0.98 each epoch (for runs of 50-150 epochs)",
    "one-cycle": "warm up from lr/25 to lr over 25% of steps, then cosine down to lr/2.5e6",
}
PLATEAU = {"factor": 0.5, "patience": 2, "min_lr": 1e-5}


@dataclass(frozen=True)
class Preset:
    """A named recipe; the fields left None keep the run's own choice (or its default)."""

    optimizer: str
    learning_rate: float
    schedule: str
    model: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    label_smoothing: float | None = None
    ema: float | None = None


# What a run gets for each choice that neither its flags nor its preset make.
# The one source of every default a recipe, a plan or a search takes: the engine fills them,
# the CLI's help and the app's form show them.
DEFAULTS = {"model": "simple-cnn", "epochs": 5, "batch_size": 128, "optimizer": "adam",
            "schedule": "constant", "label_smoothing": 0.0, "ema": 0.0}
DEFAULT_VAL_SPLIT = 0.1
DEFAULT_SEED = 0
DEFAULT_FOLDS = 5  # a CV's folds, and an ensemble's members in the app's form

PRESETS: dict[str, Preset] = {
    # The fewest seconds to 99% validation accuracy on a laptop CPU (BENCHMARKS.md, "fast"):
    # two epochs reached 99.0% on 25 of 25 seeds, three reached it later and no higher.
    "fast": Preset("adam-fast", 0.01, "one-cycle", model="fast-cnn", epochs=2, batch_size=128,
                   label_smoothing=0.1),
    # The strongest single model by 5-fold out-of-fold accuracy (docs/recipes.md): 99.57% on
    # an H200 (a fold in ~1 min there; ~4x strong-cnn's FLOPs, so slow on a laptop CPU).
    "kaggle-best": Preset("adam", 0.005, "one-cycle", model="wide-cnn", epochs=20,
                          batch_size=128, label_smoothing=0.0),
    # kaggle-best's recipe on strong-cnn: 99.51% OOF at a quarter of the FLOPs (~9 min a
    # member on a 2-core CPU).
    "kaggle-lite": Preset("adam", 0.005, "one-cycle", model="strong-cnn", epochs=20,
                          batch_size=128, label_smoothing=0.0),
    # Chris Deotte's own schedule: 99.54% OOF, 45 epochs of batch 64 (~2.5x kaggle-lite's time).
    "deotte": Preset("adam", 0.001, "exponential", model="strong-cnn", epochs=45,
                     batch_size=64, label_smoothing=0.0),
    # The levers of the honest records, at the length they need (An et al.'s MnistSimpleCNN:
    # conv-only nets, rotation 20 degrees and shift 20%, Adam x0.98 an epoch, an average of the
    # weights with momentum 0.999; their logs: 99.61% at epoch 30, 99.67% at 50, 99.69% at 70).
    # Built for a GPU and --parallel: conv3-net is ~11x strong-cnn's FLOPs. Bag architectures
    # by CV: the same preset with --model conv5-net and conv7-net, then cv --combine.
    "record": Preset("adam", 0.001, "exponential-slow", model="conv3-net", epochs=70,
                     batch_size=128, label_smoothing=0.0, ema=0.999),
    # The seed's convergence-search shortlist.
    "Adagrad_triangular": Preset("adagrad", 0.1, "triangular"),
    "Adagrad_plateau": Preset("adagrad", 0.1, "plateau"),
    "Adam_triangular2": Preset("adam", 0.01, "triangular2"),
    "Nadam_plateau": Preset("nadam", 0.01, "plateau"),
    "Adadelta_plateau": Preset("adadelta", 1.0, "plateau"),
    "SGD_triangular2": Preset("sgd", 1.0, "triangular2"),
    "RMSprop_constant": Preset("rmsprop", 0.001, "constant"),
}


def check_choice(kind: str, value: str, choices) -> str:
    """Return ``value`` (case-insensitive match) or raise naming the choices."""
    if not isinstance(value, str):
        raise WorkbenchError(f"{kind} must be a name (got {str(value)[:40]!r}); choose one of: "
                             f"{', '.join(choices)}.")
    for choice in choices:
        if choice.lower() == value.lower():
            return choice
    raise WorkbenchError(f"unknown {kind} '{printable(value[:60])}'; choose one of: "
                         f"{', '.join(choices)}.")
