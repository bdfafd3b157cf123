"""Every use the app makes of Textual's private parts, in one place, each with a test
(tests/test_internals.py) that fails loudly when an upgrade moves it. pyproject.toml pins Textual
to the range these were tested on."""

from __future__ import annotations

import io
import sys

from textual.screen import Screen


def mark_styled(screen: Screen) -> None:
    """Record that ``screen`` has the app's current stylesheet (Textual records it only for the
    screen on show when the stylesheet is refreshed; see WorkbenchScreen.on_mount)."""
    screen._css_update_count = screen.app._css_update_count


def draw_on(terminal: io.TextIOWrapper) -> None:
    """Have Textual draw on ``terminal``: its Linux driver writes to ``sys.__stderr__``, read
    when the app starts (the app then gives file descriptor 2 to native logs)."""
    sys.__stderr__ = terminal  # type: ignore[misc]  # Final in typeshed; Textual reads it
