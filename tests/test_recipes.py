"""Presets and defaults: how a recipe resolves; the label-smoothed loss."""

import numpy as np
import pytest

from workbench.engine.errors import WorkbenchError
from workbench.engine.recipes import DEFAULTS, PRESETS
from workbench.engine.training.config import TrainConfig


def test_kaggle_best_preset_sets_the_whole_recipe():
    config = TrainConfig(preset="kaggle-best").resolved()
    preset = PRESETS["kaggle-best"]
    assert (config.model, config.epochs, config.batch_size, config.optimizer,
            config.learning_rate, config.schedule, config.label_smoothing) == (
        preset.model, preset.epochs, preset.batch_size, preset.optimizer,
        preset.learning_rate, preset.schedule, preset.label_smoothing)
    assert config.augment is True  # strong-cnn's default


def test_the_fast_preset_is_fast_cnn_with_adam_fast_and_no_augmentation():
    config = TrainConfig(preset="fast").resolved()
    assert (config.model, config.optimizer, config.learning_rate, config.schedule,
            config.epochs, config.batch_size, config.label_smoothing, config.augment) == (
        "fast-cnn", "adam-fast", 0.01, "one-cycle", 2, 128, 0.1, False)


def test_adam_fast_is_adam_whose_moments_forget_faster():
    from workbench.engine.network.models import build_model
    from workbench.engine.network.schedules import compile_model

    model = build_model("fast-cnn")
    compile_model(model, "adam-fast", 0.01, "one-cycle", 10, 3)
    optimizer = model.optimizer
    assert type(optimizer).__name__ == "Adam"
    assert (optimizer.beta_1, optimizer.beta_2) == (0.7, 0.9)
    compile_model(model, "adam", 0.01, "constant", 10, 3)
    assert (model.optimizer.beta_1, model.optimizer.beta_2) == (0.9, 0.999)


def test_the_default_search_grid_is_the_seed_s_eight_optimizers():
    from workbench.engine.plans.search import DEFAULT_OPTIMIZERS

    assert "adam-fast" not in DEFAULT_OPTIMIZERS and len(DEFAULT_OPTIMIZERS) == 8


def test_flags_given_with_a_preset_win():
    config = TrainConfig(preset="KAGGLE-BEST", epochs=2, model="mlp", label_smoothing=0.0,
                         learning_rate=0.02).resolved()
    assert config.preset == "kaggle-best"
    assert (config.model, config.epochs, config.label_smoothing, config.learning_rate) == (
        "mlp", 2, 0.0, 0.02)
    assert config.schedule == PRESETS["kaggle-best"].schedule


def test_a_preset_rate_belongs_to_its_optimizer():
    config = TrainConfig(preset="kaggle-best", optimizer="sgd").resolved()
    assert config.learning_rate == 0.1  # SGD's own default, not the preset's Adam rate


def test_no_preset_gives_the_defaults():
    config = TrainConfig().resolved()
    assert {name: getattr(config, name) for name in DEFAULTS} == DEFAULTS
    assert config.split_seed == config.seed == 0


@pytest.mark.parametrize("smoothing", [-0.1, 1.0])
def test_label_smoothing_outside_0_1_is_refused(smoothing):
    with pytest.raises(WorkbenchError, match="label smoothing"):
        TrainConfig(label_smoothing=smoothing).resolved()


def test_configs_written_before_split_seed_validate_on_their_seed():
    assert TrainConfig.from_dict({"model": "mlp", "seed": 4}).validation_seed == 4
    assert TrainConfig(seed=4, split_seed=1).resolved().validation_seed == 1


@pytest.fixture(scope="module")
def losses():
    from workbench.engine.network import losses  # Keras loads only for the tests that need it

    return losses


def test_smoothed_loss_matches_keras_one_hot_loss(losses):
    keras = losses.keras
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(10), size=8).astype("float32")
    labels = rng.integers(0, 10, size=8)
    ours = losses.SmoothedCrossentropy(0.1)(labels, probabilities)
    theirs = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(
        np.eye(10, dtype="float32")[labels], probabilities)
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5)
    plain = keras.losses.SparseCategoricalCrossentropy()(labels, probabilities)
    assert float(losses.SmoothedCrossentropy(0.0)(labels, probabilities)) == pytest.approx(
        float(plain), rel=1e-5)


def test_smoothed_loss_survives_serialization(losses):
    keras = losses.keras
    restored = keras.losses.deserialize(keras.losses.serialize(losses.SmoothedCrossentropy(0.2)))
    assert isinstance(restored, losses.SmoothedCrossentropy) and restored.smoothing == 0.2
