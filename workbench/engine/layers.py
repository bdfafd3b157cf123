"""Custom Keras layers of the registry (imported lazily: importing this imports Keras)."""

from typing import Any

from workbench.engine.backend import keras as _keras

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
