"""Keeping Python's full garbage collection out of the way of a key press.

A full collection walks every object the collector tracks: ~130,000 once the app is up (the
screens, Textual, pandas; more once Keras loads for the Draw screen), 70-90 ms while a training
shares the two cores, and a key press waits for it. The app settles what it has built (each
screen as it mounts, each worker's results as it finishes) into the collector's permanent
generation, so later full passes walk only what came after. Settled objects are still freed when
nothing refers to them; only a reference cycle among them is left until the app ends.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect the young generations' cycles, then freeze every object left."""
    gc.collect(1)
    gc.freeze()
