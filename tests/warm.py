"""Imported by the fork server of tests/forks.py: Keras, as the engine loads it."""

from workbench.engine.network.backend import keras

keras()
