"""Keras: the backend, the models and their parts, inference."""
