"""The key bar at the foot of every screen: the keys that work here, drawn as one widget."""

from __future__ import annotations

from typing import NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class Key(NamedTuple):
    key: str
    display: str
    description: str
    enabled: bool
    tooltip: str = ""
    action: str = ""


# Where a row is too long, these lose their words first (the screens' letters are in the
# header's title and the keys help), then every key but these keeps only its letter.
TERSE_FIRST = "switch_mode"
KEEP_WORDS = ("quit", "help")


def _full(key: Key) -> str:
    return key.description


def _switch_terse(key: Key) -> str:
    return "" if key.action.startswith(TERSE_FIRST) else key.description


def _first_words(key: Key) -> str:
    """The screen keys' first word ("Start / resume" -> "Start")."""
    if key.action.startswith(KEEP_WORDS):
        return key.description
    return _switch_terse(key).split(" ")[0].rstrip(":/")


def _keep_words(key: Key) -> str:
    return key.description if key.action.startswith(KEEP_WORDS) else ""


class KeyBar(Widget):
    """Textual's Footer, painted instead of mounted. The Footer mounts a widget per key and
    mounts them all again whenever the bindings change (every screen switch and focus move):
    that cost as much as restyling the whole Train screen, on every key that switches screens.
    This bar only repaints. It looks the same for this app's bindings (it has no binding
    groups shown, and a row too long is cut, not scrolled): the keys of the screen, the current
    screen's dimmed, the command palette's on the right; the key under the mouse is lit, with
    its tooltip, and a click on it presses it. Where the row is too long it grows terse (see
    ``TERSE_FIRST``) before anything is cut, so Quit and the keys help stay on a narrow screen."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"keybar--key", "keybar--description", "keybar--palette",
                         "keybar--hover"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .keybar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .keybar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .keybar--palette {
            color: $foreground 20%;
        }
        .keybar--hover {
            background: $block-hover-background;
        }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, Key]] = []
        self._hovered: Key | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def _bindings_changed(self, screen: Screen) -> None:
        self.refresh()

    def keys(self) -> tuple[list[Key], Key | None]:
        """The keys shown (one per action, as the screen's bindings order them) and the
        command palette's."""
        active = self.screen.active_bindings
        shown: dict[str, Key] = {}
        for _, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in shown:
                shown[binding.action] = Key(binding.key, self.app.get_key_display(binding),
                                            binding.description, enabled, tooltip,
                                            binding.action)
        palette = None
        if self.app.ENABLE_COMMAND_PALETTE and self.app.COMMAND_PALETTE_BINDING in active:
            _, binding, enabled, _ = active[self.app.COMMAND_PALETTE_BINDING]
            palette = Key(binding.key, self.app.get_key_display(binding), binding.description,
                          enabled)
            shown.pop(binding.action, None)
        return list(shown.values()), palette

    def render(self) -> Text:
        keys, palette = self.keys()
        key_style = self.get_component_rich_style("keybar--key")
        description_style = self.get_component_rich_style("keybar--description")
        dim = Style(dim=True)
        width = self.size.width
        right = Text()
        if palette is not None:
            right.append("▏", self.get_component_rich_style("keybar--palette"))
            right.append(palette.display, key_style)
            right.append(f" {palette.description}", description_style)
            right.append(" ")
        room = max(0, width - right.cell_len)
        for words in (_full, _switch_terse, _first_words, _keep_words):
            left, spans = Text(), []
            for key in keys:
                start, state = left.cell_len, Style() if key.enabled else dim
                left.append(f" {key.display} ", key_style + state)
                description = words(key)
                if description:
                    left.append(f"{description} ", description_style + state)
                spans.append((start, left.cell_len, key))
            if left.cell_len <= room:
                break
        left.truncate(room, pad=True)
        spans = [(start, min(end, room), key) for start, end, key in spans if start < room]
        if palette is not None:
            spans.append((room, width, palette))
        self._spans = spans
        line = Text.assemble(left, right, no_wrap=True, end="")
        for start, end, key in spans:
            if key == self._hovered:
                line.stylize(self.get_component_rich_style("keybar--hover"), start, end)
        return line

    def key_at(self, x: int) -> Key | None:
        return next((key for start, end, key in self._spans if start <= x < end), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._hover(self.key_at(event.x))

    def on_leave(self) -> None:
        self._hover(None)

    def _hover(self, key: Key | None) -> None:
        if key != self._hovered:
            self._hovered = key
            self.tooltip = key.tooltip or None if key is not None else None
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        key = self.key_at(event.x)
        if key is not None and key.enabled:
            self.app.simulate_key(key.key)
        elif key is not None:
            self.app.bell()
