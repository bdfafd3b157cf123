"""Every use the app makes of Textual's private parts, in one place, each with a test
(tests/test_internals.py) that fails loudly when an upgrade moves it. pyproject.toml pins Textual
to the range these were tested on."""

from __future__ import annotations

from textual.screen import Screen


def mark_styled(screen: Screen) -> None:
    """Record that ``screen`` has the app's current stylesheet (Textual records it only for the
    screen on show when the stylesheet is refreshed; see WorkbenchScreen.on_mount)."""
    screen._css_update_count = screen.app._css_update_count
