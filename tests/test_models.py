"""The model registry builds every model; the same code builds and trains compiled under JAX
when it is installed."""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from workbench.engine import models
from workbench.engine.errors import WorkbenchError
from workbench.engine.models import MODELS, model_spec


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
    from workbench.engine.backend import keras, use_xla
    from workbench.engine.schedules import compile_model

    model = models.build_model("simple-cnn", augment=True)
    compile_model(model, "adam", 1e-3, "constant", 1, 1)
    augment = model.get_layer("augment").layers
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
            "state = m.get_layer('augment').layers[0].generator.state.value\n"
            "assert m.jit_compile and np.asarray(state)[1] == 2, state  # one draw a step\n"
            "import keras; print(keras.config.backend())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "KERAS_BACKEND": "jax"}, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "jax"
