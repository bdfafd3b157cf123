"""The app's one bar chart: a line per digit (class counts, a model's probabilities)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from rich.text import Text


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
