"""The big digit: a real image where the terminal speaks a graphics protocol (Kitty or Sixel,
through textual-image), half-block greyscale (or ASCII) otherwise.

textual-image detects the terminal when it is imported, so the app imports this module before
it starts. Without a TTY (tests) it detects no graphics, which keeps snapshots stable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image as PILImage
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from workbench.render import digit_ascii, digit_blocks


def _graphics_widget() -> type | None:
    """textual-image's widget class if the terminal speaks Kitty or Sixel graphics, else None.

    Its import probes the terminal (cell size, protocol queries), and a probe that fails (a
    pty reporting 0 columns divides by zero) must not take the app down: half-blocks then."""
    try:
        from textual_image.renderable import Image as AutoRenderable
        from textual_image.renderable.sixel import Image as SixelRenderable
        from textual_image.renderable.tgp import Image as TGPRenderable

        if AutoRenderable not in (SixelRenderable, TGPRenderable):
            return None
        from textual_image.widget import Image
    except Exception:  # any failure of a third-party probe means: no graphics
        return None
    return Image


GraphicsImage: Any = _graphics_widget()  # chosen at run time: its type is the terminal's


class DigitPreview(Vertical):
    """One digit, large, with a caption."""

    def compose(self) -> ComposeResult:
        if GraphicsImage is not None:
            yield GraphicsImage(id="preview-image")
        yield Static("", id="preview-text")

    def show(self, image: np.ndarray, caption: str, ascii: bool = False) -> None:
        text = self.query_one("#preview-text", Static)
        if GraphicsImage is not None and not ascii:
            self.query_one("#preview-image", GraphicsImage).image = PILImage.fromarray(image)
            text.update(caption)
            return
        drawing = Text(digit_ascii(image)) if ascii else digit_blocks(image)
        text.update(Text.assemble(drawing, "\n", caption))
