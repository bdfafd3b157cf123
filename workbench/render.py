"""Terminal text both faces draw: a 28x28 digit (half-block greyscale, two pixels a cell, or
pure ASCII) and the bar chart of a line per digit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from rich.style import Style
from rich.text import Text

ASCII_RAMP = " .:-=+*#%@"


def digit_ascii(image: np.ndarray) -> str:
    """One line per pixel row, two characters per pixel, darker ink as denser characters."""
    levels = (image.astype(np.uint16) * len(ASCII_RAMP) // 256).astype(np.intp)
    return "\n".join("".join(ASCII_RAMP[v] * 2 for v in row) for row in levels)


def digit_blocks(image: np.ndarray) -> Text:
    """Rich Text of '▀' cells: the foreground is the upper pixel, the background the lower."""
    rows = image if len(image) % 2 == 0 else np.vstack([image, np.zeros_like(image[:1])])
    text = Text()
    for top, bottom in zip(rows[0::2], rows[1::2]):
        for upper, lower in zip(top.tolist(), bottom.tolist()):
            text.append("▀", _style(upper, lower))
        text.append("\n")
    text.rstrip()
    return text


@lru_cache(maxsize=4096)
def _style(upper: int, lower: int) -> Style:
    return Style(color=f"rgb({upper},{upper},{upper})", bgcolor=f"rgb({lower},{lower},{lower})")


def plural(count: object, word: str) -> str:
    """``1 epoch``, ``2 epochs`` (and ``? epochs`` for a count not known)."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def bar_chart(values: Sequence[float] | np.ndarray, width: int, *, top: float | None = None,
              value: Callable[[float], str] = "{:,}".format,
              highlight: int | None = None) -> Text:
    """``0 ████      4,132``: the index, a bar of up to ``width`` cells scaled to ``top``
    (default: the largest value), and ``value(v)``; line ``highlight`` stands out."""
    numbers = np.asarray(values).tolist()
    scale = max(numbers, default=0) if top is None else top
    lines = []
    for index, number in enumerate(numbers):
        cells = round(width * number / scale) if scale > 0 else 0
        lines.append(Text(f"{index} {'█' * cells:<{width}} {value(number)}",
                          style="bold green" if index == highlight else ""))
    return Text("\n").join(lines)
