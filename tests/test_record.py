"""The record recipe's levers: An et al.'s conv-only nets with their 20-degree augmentation, the
slow exponential decay, and a moving average of the weights whose BatchNorm statistics are
gathered anew for it; and CV manifests written before the average existed still continue."""

import json
import math

import numpy as np
import pytest

from workbench.engine.errors import WorkbenchError
from workbench.engine.network.models import MODELS, build_model
from workbench.engine.plans import cv
from workbench.engine.recipes import PRESETS
from workbench.engine.store import atomic, files
from workbench.engine.training.config import TrainConfig


def test_the_record_preset_sets_the_records_levers():
    config = TrainConfig(preset="record").resolved()
    assert (config.model, config.optimizer, config.learning_rate, config.schedule,
            config.epochs, config.ema, config.augment) == (
        "conv3-net", "adam", 0.001, "exponential-slow", 70, 0.999, True)
    assert TrainConfig(preset="record", ema=0).resolved().ema == 0  # a flag wins
    assert TrainConfig(model="strong-cnn").resolved().ema == 0.0  # no average unless asked


@pytest.mark.parametrize("ema", [1.0, -0.1, 2, float("nan")])
def test_an_average_momentum_outside_0_1_is_refused(ema):
    with pytest.raises(WorkbenchError, match="ema|finite"):
        TrainConfig(model="linear", ema=ema).resolved()


@pytest.mark.parametrize(("name", "kernel", "convs"), [
    ("conv3-net", 3, 10), ("conv5-net", 5, 5), ("conv7-net", 7, 4)])
def test_the_conv_nets_shrink_the_image_without_pooling_and_augment_by_20_degrees(name, kernel,
                                                                                  convs):
    model = build_model(name)
    inner = model.get_layer(name.replace("-", "_"))
    kernels = [layer.kernel_size for layer in inner.layers if hasattr(layer, "kernel_size")]
    assert kernels == [(kernel, kernel)] * convs
    assert not any("pool" in layer.name for layer in inner.layers)
    augment = model.get_layer("augment")
    assert (augment.rotation, augment.zoom, augment.shift) == (20.0, 0.0, 0.2)
    assert model.output_shape == (None, 10)
    assert MODELS[name].augment_by_default


def test_the_slow_exponential_schedule_keeps_98_percent_a_epoch():
    from workbench.engine.network.schedules import learning_rate

    schedule = learning_rate("exponential-slow", 0.001, steps_per_epoch=10, epochs=70)
    for epoch in (0, 1, 50):
        assert float(schedule(epoch * 10 + 5)) == pytest.approx(0.001 * 0.98 ** epoch, rel=1e-5)


@pytest.fixture(scope="module")
def averaged(tiny_data, tmp_path_factory):
    """fast-cnn-wide (BatchNorm, cheap) trained 2 epochs with an average of momentum 0.9."""
    from workbench.engine.training import fit as training

    config = TrainConfig(model="fast-cnn-wide", epochs=2, batch_size=32, ema=0.9,
                         data=str(tiny_data), cpu=True)
    return training.train(config, runs_dir=tmp_path_factory.mktemp("runs"))


def test_an_averaged_run_predicts_with_the_average_and_its_own_batchnorm_statistics(averaged):
    from workbench.engine.network.inference import load_checkpoint, predict_probabilities
    from workbench.engine.network.layers import BatchNorm

    run = averaged.run
    assert averaged.status == "finished"
    assert (run / "last.keras").read_bytes() == (run / "best.keras").read_bytes()
    model = load_checkpoint(run / "last.keras")
    averages = model.optimizer._model_variables_moving_average
    assert averages and all(np.allclose(np.asarray(weight), np.asarray(average))
                            for weight, average in zip(model.trainable_variables, averages))
    # Statistics gathered anew under the averaged weights: as many updates as the batches that
    # gathered them (ceil(270 / 32) = 9), not the 2 epochs' 2 x 16 training steps.
    norms = [layer for layer in model.get_layer("fast_cnn_wide").layers
             if isinstance(layer, BatchNorm)]
    assert norms and all(float(norm.moving_updates) == math.ceil(270 / 32) for norm in norms)
    saved = np.load(run / "val_predictions.npz")
    from workbench.engine.data.competition import load_competition

    competition = load_competition(json.loads((run / "config.json").read_text())["data"])
    again = predict_probabilities(model, competition.train_images[saved["ids"] - 1])
    assert np.allclose(again, saved["probabilities"], atol=1e-3)
    state = files.read_json(run / "state.json")
    assert state["best_val_accuracy"] == pytest.approx(
        float((saved["probabilities"].argmax(1) == saved["labels"]).mean()))


def test_a_cv_manifest_written_before_the_average_existed_continues(tiny_data, tmp_path):
    config = TrainConfig(model="linear", epochs=1, batch_size=64, data=str(tiny_data))
    recipe = {**config.resolved().to_dict(), "folds": 2, "refit": 0}
    del recipe["ema"]
    atomic.write_json(tmp_path / "runs" / "cv" / "old.json", {"recipe": recipe, "runs": {}})
    result = cv.train_cv(config, 2, name="old", runs_dir=tmp_path / "runs",
                         submissions_dir=tmp_path / "subs")
    assert result.status == "finished"
    with pytest.raises(WorkbenchError, match="another recipe"):
        cv.train_cv(TrainConfig(model="linear", epochs=1, batch_size=64, ema=0.5,
                                data=str(tiny_data)), 2, name="old",
                    runs_dir=tmp_path / "runs", submissions_dir=tmp_path / "subs")


def test_every_preset_still_resolves():
    for name in PRESETS:
        TrainConfig(preset=name).resolved()
