"""The keys help (F1 or ?): every key that works on the screen below, with what it does.

It is read from the bindings themselves (Textual's ``active_bindings``: the focused widget's,
its containers', the screen's and the app's), so it cannot drift from what the keys do."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


@dataclass(frozen=True)
class KeyLine:
    keys: str
    description: str
    enabled: bool


def section_title(node: DOMNode, screen: Screen) -> str:
    """Where keys come from: the node's BINDING_GROUP_TITLE (Textual's key panel title), the
    screen by its name in the header, the app as everywhere."""
    if node is screen:
        return f"{screen.sub_title or type(screen).__name__.removesuffix('Screen')} screen"
    if node is screen.app:
        return "Everywhere"
    if node.BINDING_GROUP_TITLE:
        return node.BINDING_GROUP_TITLE
    kind = type(node).__name__
    return f"The focused {WIDGET_NAMES.get(kind, kind.lower())}"


# What a user calls the widgets whose keys the help lists (not their class names).
WIDGET_NAMES = {"DataTable": "table", "VerticalScroll": "panel", "Heatmap": "heatmap",
                "Canvas": "canvas", "DigitGrid": "digit grid", "Input": "text field",
                "Select": "menu", "Button": "button", "Checkbox": "checkbox"}


def key_sections(screen: Screen) -> list[tuple[str, list[KeyLine]]]:
    """The keys that work on ``screen`` now, grouped by where they come from: one line per
    action (its keys together), or per binding group (``0-9  One label``)."""
    grouped: dict[DOMNode, dict[object, list[Binding]]] = {}
    enabled: dict[object, bool] = {}
    for node, binding, is_enabled, _ in screen.active_bindings.values():
        if binding.system or binding.action.endswith("copy_text"):  # Textual's own, not ours
            continue
        line = (node, binding.group or binding.action)
        grouped.setdefault(node, {}).setdefault(line, []).append(binding)
        enabled[line] = enabled.get(line, False) or is_enabled
    display = screen.app.get_key_display
    sections = []
    for node, lines in grouped.items():
        rows = []
        for group, bindings in lines.items():
            keys = list(dict.fromkeys(display(binding) for binding in bindings))
            first = bindings[0]
            if first.group is not None:
                shown = f"{keys[0]}-{keys[-1]}" if len(keys) > 2 else " ".join(keys)
                description = first.group.description
            else:
                shown = " ".join(keys)
                description = first.description or first.action
            if first.tooltip:
                description = f"{description}: {first.tooltip}"
            rows.append(KeyLine(shown, description, enabled[group]))
        sections.append((section_title(node, screen), rows))
    return sections


def key_table(sections: list[tuple[str, list[KeyLine]]]) -> Text:
    """The sections as text: a title, then a line per key (keys right-aligned)."""
    width = max((len(row.keys) for _, rows in sections for row in rows), default=0)
    text = Text()
    for title, rows in sections:
        text.append(f"{title}\n", style="bold underline")
        for row in rows:
            text.append(f"{row.keys:>{width}}", style="bold" if row.enabled else "dim")
            text.append(f"  {row.description}\n", style="" if row.enabled else "dim")
        text.append("\n")
    text.rstrip()
    return text


class HelpScreen(ModalScreen[None]):
    """Over the current screen; Escape, ? or F1 closes it."""

    BINDINGS = [Binding("escape,question_mark,f1", "dismiss", "Close", show=False)]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.sections = key_sections(below)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help") as scroll:
            scroll.border_title = "Keys"
            scroll.border_subtitle = "esc closes"
            yield Static(key_table(self.sections), id="help-keys")
