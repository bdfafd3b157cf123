"""The model registry: each model is a short function returning a ``keras.Model``.

Every model takes uint8 images (28, 28) and outputs 10 softmax probabilities (float32, also under
mixed precision). Augmentation (rotation, zoom, shift) is a block of Keras preprocessing layers
inside the model: active in ``fit``, the identity at inference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.engine.errors import WorkbenchError
from workbench.engine.network.backend import keras as _keras, per_execution, use_xla


@dataclass(frozen=True)
class ModelSpec:
    name: str
    summary: str
    build: Callable[[], Any]
    augment_by_default: bool
    trainable: bool = True
    # Steps Keras runs per call from Python. Above 1 for nets whose step takes a few ms, where
    # Keras' per-step work in Python is a large share (fast-cnn and simple-cnn: ~1.2x the
    # samples/s at 16; strong-cnn's ~70 ms steps: no change).
    steps_per_execution: int = 1
    # Its augmentation: rotation (degrees), zoom and shift (of the side), each up to.
    augment_with: tuple[float, float, float] = (10.0, 0.1, 0.1)

    def steps_per_call(self) -> int:
        """The steps Keras runs per call on this backend (``backend.per_execution``)."""
        return per_execution(self.steps_per_execution)


def build_model(name: str, augment: bool | None = None, seed: int = 0):
    """Build registry model ``name``, with augmentation if ``augment`` (None: its default)."""
    keras = _keras()
    spec = model_spec(name)
    augment = spec.augment_by_default if augment is None else augment
    inputs = keras.Input((28, 28), dtype="uint8", name="image")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Reshape((28, 28, 1))(x)
    if augment and spec.trainable:
        x = augmentation(seed, *spec.augment_with)(x)
    features = spec.build()(x)
    outputs = keras.layers.Activation("softmax", dtype="float32", name="probabilities")(features)
    return use_xla(keras.Model(inputs, outputs, name=name.replace("-", "_")))


def model_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise WorkbenchError(f"unknown model '{name}'; choose one of: {', '.join(MODELS)}.")
    return MODELS[name]


def augmentation(seed: int = 0, rotation: float = 10.0, zoom: float = 0.1, shift: float = 0.1):
    """Rotation up to ``rotation`` degrees, zoom 1 +- ``zoom``, shift up to ``shift`` of the
    side; black fill."""
    from workbench.engine.network.layers import RandomAffine

    return RandomAffine(rotation, zoom, shift, seed=seed, name="augment")


def _random():
    from workbench.engine.network.layers import RandomLogits

    return RandomLogits(name="random_logits")


def _linear():
    layers = _keras().layers
    return _keras().Sequential([layers.Flatten(), layers.Dense(10)], name="linear")


def _mlp():
    layers = _keras().layers
    return _keras().Sequential([
        layers.Flatten(),
        layers.Dense(512, activation="relu"), layers.Dropout(0.2),
        layers.Dense(256, activation="relu"), layers.Dropout(0.2),
        layers.Dense(10),
    ], name="mlp")


def _simple_cnn():
    """keras.io's "Simple MNIST convnet"."""
    layers = _keras().layers
    return _keras().Sequential([
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dropout(0.5), layers.Dense(10),
    ], name="simple_cnn")


def _fast_cnn():
    """tuomaso/train_mnist_fast's net: conv 24 5x5, pool, conv 32 3x3, pool, dense 256; no
    dropout or BatchNorm (both cost time that a run of three epochs does not earn back)."""
    layers = _keras().layers
    return _keras().Sequential([
        layers.Conv2D(24, 5, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(256, activation="relu"), layers.Dense(10),
    ], name="fast_cnn")


def _fast_cnn_wide():
    """fast-cnn widened to 32 and 64 filters, each conv followed by BatchNorm: for runs of a few
    more epochs, with augmentation, that aim at 99.5% rather than 99%."""
    from workbench.engine.network.layers import BatchNorm

    layers = _keras().layers
    return _keras().Sequential([
        layers.Conv2D(32, 5, use_bias=False), BatchNorm(), layers.ReLU(), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, use_bias=False), BatchNorm(), layers.ReLU(), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(256, activation="relu"), layers.Dense(10),
    ], name="fast_cnn_wide")


def _strong_cnn(width: int = 1):
    """Kaggle's best public design (Chris Deotte): 32C3-32C3-32C5S2, 64C3-64C3-64C5S2, 128C4;
    ``width`` multiplies every layer's filters."""
    from workbench.engine.network.layers import BatchNorm

    layers = _keras().layers

    def conv(filters, size, strides=1, padding="valid"):
        return [layers.Conv2D(filters, size, strides=strides, padding=padding,
                              activation="relu"), BatchNorm()]

    a, b, c = 32 * width, 64 * width, 128 * width
    return _keras().Sequential([
        *conv(a, 3), *conv(a, 3), *conv(a, 5, 2, "same"), layers.Dropout(0.4),
        *conv(b, 3), *conv(b, 3), *conv(b, 5, 2, "same"), layers.Dropout(0.4),
        *conv(c, 4), layers.Flatten(), layers.Dropout(0.4), layers.Dense(10),
    ], name="strong_cnn" if width == 1 else f"strong_cnn_x{width}")


def _resnet():
    """A small residual net: a 32-filter stem, then two blocks per stage at 32, 64, 128 filters."""
    from workbench.engine.network.layers import BatchNorm

    keras = _keras()
    layers = keras.layers

    def block(x, filters, strides):
        shortcut = x
        y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        y = layers.ReLU()(BatchNorm()(y))
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
        y = BatchNorm()(y)
        if strides != 1 or shortcut.shape[-1] != filters:
            shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False)(shortcut)
            shortcut = BatchNorm()(shortcut)
        return layers.ReLU()(layers.Add()([y, shortcut]))

    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(32, 3, padding="same", use_bias=False)(inputs)
    x = layers.ReLU()(BatchNorm()(x))
    for filters, strides in ((32, 1), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1)):
        x = block(x, filters, strides)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(10)(x), name="resnet")


def _conv_net(kernel: int, channels: tuple[int, ...]):
    """An et al.'s conv-only nets (MnistSimpleCNN M3, M5, M7): ``kernel``-sized convolutions
    with no padding and no pooling, each followed by BatchNorm and ReLU, shrink the image to a
    few pixels; a dense layer with BatchNorm scores the classes."""
    from workbench.engine.network.layers import BatchNorm

    layers = _keras().layers
    stack = []
    for filters in channels:
        stack += [layers.Conv2D(filters, kernel, use_bias=False), BatchNorm(), layers.ReLU()]
    return _keras().Sequential([*stack, layers.Flatten(), layers.Dense(10, use_bias=False),
                                BatchNorm()], name=f"conv{kernel}_net")


# Their augmentation: rotation up to 20 degrees, shift up to 20%, no zoom.
AN_AUGMENTATION = (20.0, 0.0, 0.2)

MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("random", "random scores: the noise floor (~10%), no training", _random, False,
              trainable=False),
    ModelSpec("linear", "softmax regression: the fastest baseline (~92%)", _linear, False,
              steps_per_execution=16),
    ModelSpec("mlp", "two hidden layers, 512 and 256 units, dropout (~98%)", _mlp, False,
              steps_per_execution=16),
    ModelSpec("simple-cnn", "keras.io's simple MNIST convnet (~99%)", _simple_cnn, True,
              steps_per_execution=16),
    ModelSpec("fast-cnn", "a narrow CNN for seconds-long runs, no augmentation (99% in 2 epochs)",
              _fast_cnn, False, steps_per_execution=16),
    ModelSpec("fast-cnn-wide", "fast-cnn with 32 and 64 filters, BatchNorm, augmentation",
              _fast_cnn_wide, True, steps_per_execution=16),
    ModelSpec("strong-cnn", "Kaggle's best public CNN design, BatchNorm, dropout 0.4 (~99.5%)",
              _strong_cnn, True),
    ModelSpec("wide-cnn", "strong-cnn with twice the filters in every layer (4x the FLOPs)",
              lambda: _strong_cnn(2), True),
    ModelSpec("resnet", "a small residual net, 13 conv layers (~99.5%)", _resnet, True),
    ModelSpec("conv3-net", "An et al.'s M3: ten 3x3 convs, no pooling, 20-degree augmentation "
              "(the record preset's)", lambda: _conv_net(3, (32, 48, 64, 80, 96, 112, 128, 144,
                                                            160, 176)), True,
              augment_with=AN_AUGMENTATION),
    ModelSpec("conv5-net", "An et al.'s M5: five 5x5 convs, no pooling, 20-degree augmentation",
              lambda: _conv_net(5, (32, 64, 96, 128, 160)), True,
              augment_with=AN_AUGMENTATION),
    ModelSpec("conv7-net", "An et al.'s M7: four 7x7 convs, no pooling, 20-degree augmentation",
              lambda: _conv_net(7, (48, 96, 144, 192)), True, augment_with=AN_AUGMENTATION),
)}
