"""A drawing made ready for a model trained on MNIST: its digits were normalized to fit a 20x20
box (aspect kept) and placed in the 28x28 field by their centre of mass (LeCun et al.), so a
digit drawn at an edge or small reads as the model was taught."""

from __future__ import annotations

import numpy as np
from PIL import Image

SIDE, BOX = 28, 20


def centred(image: np.ndarray) -> np.ndarray:
    """``image`` (uint8, 28x28) with its ink scaled into a 20x20 box and its centre of mass
    moved to the middle; a blank image as it is."""
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    if not len(rows):
        return image
    crop = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = BOX / max(crop.shape)
    height, width = (max(1, round(side * scale)) for side in crop.shape)
    resized = np.asarray(Image.fromarray(crop).resize((width, height), Image.Resampling.LANCZOS))
    top, left = (SIDE - height) // 2, (SIDE - width) // 2
    ink = resized.astype(np.float64)
    mass = ink.sum() or 1.0
    centre_y = (ink.sum(axis=1) @ np.arange(height)) / mass + top
    centre_x = (ink.sum(axis=0) @ np.arange(width)) / mass + left
    # The shift that puts the centre of mass in the middle, kept within the field.
    top = int(np.clip(top + round((SIDE - 1) / 2 - centre_y), 0, SIDE - height))
    left = int(np.clip(left + round((SIDE - 1) / 2 - centre_x), 0, SIDE - width))
    out = np.zeros((SIDE, SIDE), np.uint8)
    out[top:top + height, left:left + width] = resized
    return out
