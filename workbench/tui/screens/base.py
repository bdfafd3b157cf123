"""What every screen of the app shares: the keyboard rules of a text field, and a cheap return.

While a text field has the focus, a letter typed goes into it, so the screen's and the app's
letter keys are hidden from the footer (they would not work); Escape leaves the field, and the
keys are back."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from textual import events, getters
from textual.binding import Binding, BindingsMap
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, TextArea

from workbench.tui.heap import settle
from workbench.tui.internals import mark_styled

if TYPE_CHECKING:
    from workbench.tui.app import WorkbenchApp


def letter_key(key: str) -> bool:
    """A key that a text field takes as text: one printable character (``d``, ``?``, ``5``)."""
    return len(key) == 1 and key.isprintable()


class WorkbenchScreen(Screen):
    BINDINGS = [Binding("escape", "leave_field", "Leave the field", show=False, priority=True)]

    if TYPE_CHECKING:  # the type checker reads the app's own fields (data, competition, ...)
        app = getters.app(WorkbenchApp)

    @property
    def typing(self) -> bool:
        """A text field has the focus: letters are text, not keys."""
        return isinstance(self.focused, (Input, TextArea))

    @cached_property
    def _letter_actions(self) -> frozenset[str]:
        bindings = BindingsMap(
            [b for cls in reversed(type(self).__mro__) for b in cls.__dict__.get("BINDINGS", [])])
        return frozenset(binding.action for key, found in bindings.key_to_bindings.items()
                         if letter_key(key) for binding in found)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_field":
            return self.typing
        # A letter key typed in a text field is text, so its action is off.
        return not (self.typing and action in self._letter_actions)

    def post_message(self, message: Message) -> bool:
        """Textual restyles every widget of a screen each time its mode comes back (the
        resume's ``refresh_styles``), though the stylesheet has not changed: on the Train screen
        that was a third of the app's work in a screen switch. A stylesheet that did change (a
        new theme) is applied by the switch itself, so the resume leaves it out."""
        if isinstance(message, events.ScreenResume) and message.refresh_styles:
            message = events.ScreenResume(refresh_styles=False)
        return super().post_message(message)

    def on_mount(self) -> None:
        """A screen is styled with the app's stylesheet as it mounts, but Textual only records
        that for the screen on show when the stylesheet is refreshed: a screen that first
        appears through a mode switch is not yet mounted then, so its first return re-applied
        the whole stylesheet (~250 ms of the Train screen's first return). Record it here."""
        mark_styled(self)
        self.call_after_refresh(settle)

    def action_leave_field(self) -> None:
        """Escape in a text field: the focus leaves it, so the screen's keys work again."""
        self.set_focus(None)
