"""A page of digit thumbnails (half-block, or ASCII), with a cursor; pages through any count."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from workbench.render import ASCII_RAMP, digit_blocks

SIDES = (20, 14)  # thumbnail sides in pixels: a tile is side + 2 cells by side / 2 + 1 lines


def thumbnail(image: np.ndarray, side: int = 14) -> np.ndarray:
    """28x28 -> side x side: 2x2 blocks averaged for 14, else resampled."""
    if side == 14:
        return image.reshape(14, 2, 14, 2).mean(axis=(1, 3)).astype(np.uint8)
    return np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BOX))


def tile_size(side: int) -> tuple[int, int]:
    """A tile's cells and lines: the thumbnail in half blocks, a gap, a caption line."""
    return side + 2, side // 2 + 1


def fitting_side(width: int, height: int) -> int:
    """The thumbnail side that wastes the fewest lines of ``height`` (less the position line),
    the larger on a tie, as long as at least three columns of it fit in ``width``."""
    def waste(side: int) -> tuple[int, int]:
        tile_w, tile_h = tile_size(side)
        rows = max(1, (height - 1) // tile_h)
        return (height - 1 - rows * tile_h, -side)

    fits = [side for side in SIDES if width // tile_size(side)[0] >= 3] or [SIDES[-1]]
    return min(fits, key=waste)


class DigitGrid(Widget, can_focus=True):
    """Shows ``images[rows]`` a page at a time; arrows move the cursor, pages turn by themselves.
    Under the page, a line says where the cursor is: which digit of how many, which page."""

    BINDING_GROUP_TITLE = "Digits"
    BINDINGS = [  # off the footer, which the screen's keys need; the keys help lists them
        Binding("left", "move(-1)", "Prev", show=False),
        Binding("right", "move(1)", "Next", show=False),
        Binding("up", "move_row(-1)", "Row up", show=False),
        Binding("down", "move_row(1)", "Row down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
    ]
    cursor = reactive(0)
    ascii = reactive(False)

    @dataclass
    class Selected(Message):
        position: int

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.images = np.zeros((0, 28, 28), np.uint8)
        self.captions: list[str] = []
        self.rows = np.zeros(0, np.int64)

    def show(self, images: np.ndarray, rows: np.ndarray, captions: list[str]) -> None:
        """Display ``images[rows]`` with one caption per row; the cursor goes to the first."""
        self.images, self.rows, self.captions = images, rows, captions
        self.cursor = 0
        self.refresh()
        self.post_message(self.Selected(0))

    @property
    def side(self) -> int:
        """The thumbnails' side: what fills the widget best (see ``fitting_side``)."""
        return fitting_side(self.size.width, self.size.height)

    @property
    def columns(self) -> int:
        return max(1, self.size.width // tile_size(self.side)[0])

    @property
    def per_page(self) -> int:
        """The tiles that fit above the position line."""
        return self.columns * max(1, (self.size.height - 1) // tile_size(self.side)[1])

    def watch_cursor(self) -> None:
        self.refresh()

    def watch_ascii(self) -> None:
        self.refresh()

    def action_move(self, step: int) -> None:
        self.select(self.cursor + step)

    def action_move_row(self, step: int) -> None:
        self.select(self.cursor + step * self.columns)

    def action_page(self, step: int) -> None:
        self.select(self.cursor + step * self.per_page)

    def select(self, position: int) -> None:
        """Put the cursor on ``position`` (of ``rows``; kept in range), turning the page."""
        if len(self.rows):
            self.cursor = max(0, min(len(self.rows) - 1, position))
            self.post_message(self.Selected(self.cursor))

    def render(self) -> Text:
        if not len(self.rows):
            return Text("No digits match.")
        start = self.cursor // self.per_page * self.per_page
        shown = range(start, min(start + self.per_page, len(self.rows)))
        text = Text()
        side = self.side
        for first in range(shown.start, shown.stop, self.columns):
            tiles = [self._tile(p, side)
                     for p in range(first, min(first + self.columns, shown.stop))]
            for line in range(tile_size(side)[1]):
                for tile in tiles:
                    text.append_text(tile[line])
                text.append("\n")
        page, pages = start // self.per_page + 1, -(-len(self.rows) // self.per_page)
        text.append(f"{self.cursor + 1:,} of {len(self.rows):,}", style="bold")
        text.append(f"  ·  page {page:,}/{pages:,}", style="dim")
        return text

    def _tile(self, position: int, side: int) -> list[Text]:
        small = thumbnail(self.images[self.rows[position]], side)
        tile_w, tile_h = tile_size(side)
        if self.ascii:
            levels = small.astype(np.uint16) * len(ASCII_RAMP) // 256
            lines = [Text("".join(ASCII_RAMP[v] for v in row)) for row in levels[::2]]
        else:
            lines = list(digit_blocks(small).split("\n"))
        selected = position == self.cursor
        caption = self.captions[position][:tile_w - 2]
        body = [Text.assemble(line, " " * (tile_w - line.cell_len))
                for line in lines[:tile_h - 1]]
        style = "reverse bold" if selected else "dim"
        return [*body, Text(caption.ljust(tile_w - 1) + " ", style=style)]
