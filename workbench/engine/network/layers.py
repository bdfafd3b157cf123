"""Custom Keras layers of the registry (imported lazily: importing this imports Keras)."""

import math
from typing import Any

from workbench.engine.network import backend
from workbench.engine.network.backend import keras as _keras

keras: Any = _keras()


@keras.saving.register_keras_serializable("workbench")
class RandomLogits(keras.layers.Layer):
    """Random scores, whatever the input: the noise baseline, with nothing to learn."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(0)

    def call(self, x):
        shape = (keras.ops.shape(x)[0], 10)
        return keras.random.normal(shape, stddev=3.0, seed=self.seed_generator)


@keras.saving.register_keras_serializable("workbench")
class BatchNorm(keras.layers.BatchNormalization):
    """Keras' BatchNormalization, computed by the backend's fused kernel where it has one: the
    same outputs, gradients and config, at under a quarter of the time on TensorFlow
    (``backend.fused_batch_norm``). Elsewhere, and for masks, renorm or a non-last axis, Keras'
    own ``call`` runs.

    The moving statistics warm up: an update's momentum is min(momentum, (1 + n) / (10 + n))
    after n updates (TensorFlow's ExponentialMovingAverage with num_updates). Keras' moving
    variance starts at 1 and keeps 0.99 of it each step, and strong-cnn's activations vary by
    ~0.001: after one epoch of 296 steps its moving variance was still 40-250x too large and the
    model scored ~20% at inference (while training well), ~95% after two. From ~900 updates
    on the momentum is Keras' own, so long runs end with the same statistics."""

    momentum: Any  # Keras' float; for the length of Keras' own update, this update's tensor

    def build(self, input_shape):
        super().build(input_shape)
        self.moving_updates = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                              autocast=False, name="moving_updates")

    def call(self, inputs, training=None, mask=None):
        learning = bool(training and self.trainable)
        if (mask is not None or self.renorm or len(inputs.shape) != 4
                or self.axis not in (-1, 3) or not backend.fuses_batch_norm()):
            if not learning or self.renorm:
                return super().call(inputs, training=training, mask=mask)
            momentum = self.momentum
            self.momentum = self._momentum_now()
            try:  # Keras' own update, at this update's momentum
                outputs = super().call(inputs, training=training, mask=mask)
            finally:
                self.momentum = momentum
            self.moving_updates.assign_add(1.0)
            return outputs
        ops = keras.ops
        channels = inputs.shape[-1]
        scale = self.gamma if self.scale else ops.ones((channels,))
        offset = self.beta if self.center else ops.zeros((channels,))
        outputs, mean, variance = backend.fused_batch_norm(
            inputs, ops.convert_to_tensor(scale), ops.convert_to_tensor(offset),
            ops.convert_to_tensor(self.moving_mean), ops.convert_to_tensor(self.moving_variance),
            self.epsilon, learning)
        if learning:
            momentum = self._momentum_now()
            self.moving_mean.assign(self.moving_mean * momentum + mean * (1 - momentum))
            self.moving_variance.assign(
                self.moving_variance * momentum + variance * (1 - momentum))
            self.moving_updates.assign_add(1.0)
        return ops.cast(outputs, self.compute_dtype)

    def _momentum_now(self):
        updates = self.moving_updates
        return keras.ops.minimum(self.momentum, (1.0 + updates) / (10.0 + updates))

    def load_own_variables(self, store):
        """Also loads a checkpoint saved before the update count existed (its statistics long
        since warm: the count is set past the warm-up)."""
        if len(store.keys()) == len(self.variables) - 1:
            kept = [v for v in self._trainable_variables + self._non_trainable_variables
                    if v is not self.moving_updates]
            for i, variable in enumerate(kept):
                variable.assign(store[str(i)])
            self.moving_updates.assign(WARM_UPDATES)
            return
        super().load_own_variables(store)


WARM_UPDATES = 1e6  # an update count past any warm-up: the momentum is the layer's own


def restart_statistics(model) -> list:
    """Every BatchNorm of ``model``, its moving statistics to be gathered anew: the next
    updates warm up again, each weighing much more than the old ones."""
    norms = [layer for layer in _all_layers(model) if isinstance(layer, BatchNorm)]
    for norm in norms:
        norm.moving_updates.assign(0.0)
    return norms


def _all_layers(layer):
    yield layer
    for inner in getattr(layer, "layers", ()):
        yield from _all_layers(inner)


@keras.saving.register_keras_serializable("workbench")
class RandomAffine(keras.layers.Layer):
    """A random rotation (up to ``rotation`` degrees), zoom (1 +- ``zoom``) and shift (up to
    ``shift`` of the side, each way), drawn per image in training and applied as one affine map
    about the centre; empty pixels are black. Keras' RandomRotation, RandomZoom and
    RandomTranslation draw the same, but resample the image three times: a third of the
    interpolation, and a sharper image. The identity at inference."""

    def __init__(self, rotation: float = 10.0, zoom: float = 0.1, shift: float = 0.1,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rotation, self.zoom, self.shift, self.seed = rotation, zoom, shift, seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Like Keras' image layers: TensorFlow's XLA has no kernel for the transform
        # (backend.use_xla turns this on under JAX, which compiles it).
        self.supports_jit = False

    def call(self, images, training=None):
        if not training:
            return images
        ops = keras.ops
        height, width = images.shape[1], images.shape[2]
        draws = keras.random.uniform((ops.shape(images)[0], 4), -1.0, 1.0,
                                     seed=self.seed_generator)   # one draw a step
        angle = draws[:, 0] * (self.rotation * math.pi / 180)
        scale = 1.0 + draws[:, 1] * self.zoom
        cos, sin = ops.cos(angle) * scale, ops.sin(angle) * scale
        shift_x, shift_y = draws[:, 2] * self.shift * width, draws[:, 3] * self.shift * height
        centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
        zeros = ops.zeros_like(cos)
        # Output pixel -> input pixel: undo the shift (in output pixels, as RandomTranslation's),
        # then scale and rotate about the centre.
        from_x, from_y = centre_x + shift_x, centre_y + shift_y
        transform = ops.stack([
            cos, -sin, centre_x - cos * from_x + sin * from_y,
            sin, cos, centre_y - sin * from_x - cos * from_y,
            zeros, zeros], axis=1)
        moved = ops.image.affine_transform(ops.cast(images, "float32"), transform,
                                           interpolation="bilinear", fill_mode="constant")
        return ops.cast(moved, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation": self.rotation, "zoom": self.zoom,
                "shift": self.shift, "seed": self.seed}
