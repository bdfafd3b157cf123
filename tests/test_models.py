"""The model registry builds every model; the same code builds and trains compiled under JAX
when it is installed."""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from workbench.engine.errors import WorkbenchError
from workbench.engine.network import models
from workbench.engine.network.models import MODELS, model_spec


@pytest.mark.parametrize("name", MODELS)
def test_every_model_outputs_probabilities(name):
    model = models.build_model(name)
    images = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    probabilities = np.asarray(model(images, training=False))
    assert probabilities.shape == (4, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_augmentation_is_on_for_cnns_only_and_off_at_inference():
    assert model_spec("strong-cnn").augment_by_default and not model_spec("mlp").augment_by_default
    model = models.build_model("simple-cnn", augment=True)
    assert "augment" in [layer.name for layer in model.layers]
    assert "augment" not in [layer.name for layer in models.build_model("simple-cnn", False).layers]
    images = np.random.default_rng(1).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    np.testing.assert_allclose(np.asarray(model(images, training=False)),
                               np.asarray(model(images, training=False)))


def test_use_xla_compiles_the_augmented_model_under_jax_only(monkeypatch):
    from workbench.engine.network.backend import keras, use_xla
    from workbench.engine.network.schedules import compile_model

    model = models.build_model("simple-cnn", augment=True)
    compile_model(model, "adam", 1e-3, "constant", 1, 1)
    augment = [model.get_layer("augment")]
    # TensorFlow on a CPU: Keras' own choice (the image layers opt out of XLA) stands.
    assert model.jit_compile is False and not any(layer.supports_jit for layer in augment)
    monkeypatch.setattr(keras().config, "backend", lambda: "jax")
    assert use_xla(model) is model
    assert model.jit_compile is True and all(layer.supports_jit for layer in augment)


def test_unknown_model():
    with pytest.raises(WorkbenchError, match="unknown model 'vgg'; choose one of: random"):
        model_spec("vgg")


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_registry_builds_under_jax():
    code = ("import numpy as np; from workbench.engine.models import MODELS, build_model\n"
            "for name in MODELS:\n"
            "    p = np.asarray(build_model(name)(np.zeros((2, 28, 28), np.uint8)))\n"
            "    assert p.shape == (2, 10), name\n"
            "from workbench.engine.schedules import compile_model\n"
            "m = build_model('simple-cnn', True)\n"
            "compile_model(m, 'adam', 1e-3, 'constant', 2, 1)\n"
            "m.fit(np.zeros((8, 28, 28), np.uint8), np.zeros(8), batch_size=4, verbose=0)\n"
            "state = m.get_layer('augment').seed_generator.state.value\n"
            "assert m.jit_compile and np.asarray(state)[1] == 2, state  # one draw a step\n"
            "import keras; print(keras.config.backend())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "KERAS_BACKEND": "jax"}, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "jax"


def test_the_fused_batchnorm_computes_what_keras_batchnormalization_does():
    import tensorflow as tf

    from workbench.engine.network.backend import keras
    from workbench.engine.network.layers import BatchNorm

    rng = np.random.default_rng(0)
    x = rng.normal(2, 3, (16, 6, 6, 5)).astype("float32")
    weights = tf.constant(rng.normal(0, 1, x.shape).astype("float32"))
    # float32 whatever global policy an earlier test in this process left behind
    ours = BatchNorm(momentum=0.9, dtype="float32")
    theirs = keras().layers.BatchNormalization(momentum=0.9, dtype="float32")
    for layer in (ours, theirs):
        layer.build(x.shape)
        layer.gamma.assign(np.linspace(0.5, 2, 5))
        layer.beta.assign(np.linspace(-1, 1, 5))
    ours.moving_updates.assign(1e6)  # past the warm-up (tested below): Keras' momentum

    def step(layer):
        inputs = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs, training=True)
            loss = tf.reduce_sum(outputs * weights)
        return [outputs, *tape.gradient(loss, [inputs, layer.gamma, layer.beta])]

    for a, b in zip(step(ours), step(theirs)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-4)
    for name in ("moving_mean", "moving_variance"):
        np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(),
                                   rtol=1e-5)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), atol=1e-5)
    assert ours.moving_mean.numpy().any()  # training moved the statistics


@pytest.mark.parametrize("fused", [True, False])
def test_batchnorm_statistics_warm_up_so_inference_matches_training_early(fused, monkeypatch):
    """Activations that vary by ~1e-4, as strong-cnn's do: Keras' layer, whose moving variance
    starts at 1 and keeps 0.99 of it each step, still normalises by a variance ~1,000x too
    large after 50 steps; ours, whose momentum warms up, normalises as training did."""
    import tensorflow as tf

    from workbench.engine.network import backend
    from workbench.engine.network.backend import keras
    from workbench.engine.network.layers import BatchNorm

    monkeypatch.setattr(backend, "fuses_batch_norm", lambda: fused)
    rng = np.random.default_rng(4)
    x = tf.constant(rng.normal(0.02, 0.01, (32, 4, 4, 3)).astype("float32"))
    ours = BatchNorm(dtype="float32")
    theirs = keras().layers.BatchNormalization(dtype="float32")
    for _ in range(50):
        trained = ours(x, training=True)
        theirs(x, training=True)
    assert float(ours.moving_updates.numpy()) == 50
    assert float(ours._momentum_now()) == pytest.approx(51 / 60)
    np.testing.assert_allclose(ours.moving_variance.numpy(), np.var(x.numpy(), axis=(0, 1, 2)),
                               rtol=0.05)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(trained), atol=0.05)
    assert theirs.moving_variance.numpy().min() > 0.5  # Keras' own: still near its start of 1
    assert np.abs(np.asarray(theirs(x))).max() < 0.1  # everything squashed towards 0


def test_a_batchnorm_saved_before_its_update_count_loads_as_warm():
    from workbench.engine.network.layers import WARM_UPDATES, BatchNorm

    old = BatchNorm(dtype="float32")
    old.build((None, 4, 4, 3))
    old.moving_variance.assign([0.1, 0.2, 0.3])
    store: dict = {}
    old.save_own_variables(store)
    assert len(store) == 5
    del store["4"]  # the count: what a checkpoint from before it lacks
    new = BatchNorm(dtype="float32")
    new.build((None, 4, 4, 3))
    new.load_own_variables(store)
    np.testing.assert_allclose(new.moving_variance.numpy(), [0.1, 0.2, 0.3])
    assert float(new.moving_updates.numpy()) == WARM_UPDATES
    assert float(new._momentum_now()) == pytest.approx(0.99)


def test_a_model_with_the_new_layers_saves_and_loads_whole(tmp_path):
    from workbench.engine.network.backend import keras
    from workbench.engine.network.layers import BatchNorm, RandomAffine

    model = models.build_model("strong-cnn")
    assert isinstance(model.get_layer("augment"), RandomAffine)
    assert any(isinstance(layer, BatchNorm) for layer in model.get_layer("strong_cnn").layers)
    images = np.random.default_rng(2).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    model.save(tmp_path / "m.keras")
    loaded = keras().saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(loaded(images)), np.asarray(model(images)), atol=1e-6)
    assert loaded.get_layer("augment").get_config()["rotation"] == 10.0


def test_random_affine_moves_digits_as_far_as_it_says_in_one_resampling():
    from workbench.engine.network.layers import RandomAffine

    rng = np.random.default_rng(3)
    images = np.zeros((256, 28, 28, 1), "float32")
    images[:, 10:18, 12:16] = 1.0  # a bar in the middle
    assert np.array_equal(np.asarray(RandomAffine(0, 0, 0, seed=1)(images, training=True)),
                          images)
    layer = RandomAffine(10.0, 0.1, 0.1, seed=int(rng.integers(100)))
    np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)
    moved = np.asarray(layer(images, training=True))[..., 0]
    ys, xs = np.mgrid[:28, :28]
    mass = moved.sum(axis=(1, 2))
    shift_x = (moved * xs).sum(axis=(1, 2)) / mass - 13.5
    shift_y = (moved * ys).sum(axis=(1, 2)) / mass - 13.5
    # Shifts uniform up to 2.8 pixels each way (std 1.62); zoom scales the ink by 0.83-1.23.
    for shift in (shift_x, shift_y):
        assert np.abs(shift).max() <= 2.9 and 1.3 < shift.std() < 1.9
    assert mass.min() > 0.75 * 32 and mass.max() < 1.3 * 32
    assert np.asarray(layer.seed_generator.state)[1] == 1  # one draw a batch
