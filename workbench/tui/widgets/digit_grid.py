"""A page of digit thumbnails (half-block, or ASCII), with a cursor; pages through any count."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from workbench.render import ASCII_RAMP, digit_blocks

TILE_W, TILE_H = 16, 8  # a 14x14 thumbnail is 14 cells x 7 lines, plus a caption line


def thumbnail(image: np.ndarray) -> np.ndarray:
    """28x28 -> 14x14 by averaging 2x2 blocks."""
    return image.reshape(14, 2, 14, 2).mean(axis=(1, 3)).astype(np.uint8)


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
    def columns(self) -> int:
        return max(1, self.size.width // TILE_W)

    @property
    def per_page(self) -> int:
        """The tiles that fit above the position line."""
        return self.columns * max(1, (self.size.height - 1) // TILE_H)

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
        for first in range(shown.start, shown.stop, self.columns):
            tiles = [self._tile(p) for p in range(first, min(first + self.columns, shown.stop))]
            for line in range(TILE_H):
                for tile in tiles:
                    text.append_text(tile[line])
                text.append("\n")
        page, pages = start // self.per_page + 1, -(-len(self.rows) // self.per_page)
        text.append(f"{self.cursor + 1:,} of {len(self.rows):,}", style="bold")
        text.append(f"  ·  page {page:,}/{pages:,}", style="dim")
        return text

    def _tile(self, position: int) -> list[Text]:
        small = thumbnail(self.images[self.rows[position]])
        if self.ascii:
            levels = small.astype(np.uint16) * len(ASCII_RAMP) // 256
            lines = [Text("".join(ASCII_RAMP[v] for v in row)) for row in levels[::2]]
        else:
            lines = digit_blocks(small).split("\n")
        selected = position == self.cursor
        caption = self.captions[position][:TILE_W - 2]
        body = [Text.assemble(line, " " * (TILE_W - line.cell_len)) for line in lines[:7]]
        style = "reverse bold" if selected else "dim"
        return [*body, Text(caption.ljust(TILE_W - 1) + " ", style=style)]
