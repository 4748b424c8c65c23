"""Textual's own words in German: the command palette, key names, the ctrl+c notice.

``DeskApp`` uses these hooks (docs/glossary.md fixes the words): ``key_label`` for every key
shown in the footer, the help and the palette; ``GermanCommandPalette`` for the palette's
placeholder and its "nothing found" line; ``system_commands`` for Textual's built-in
palette entries.
"""

from __future__ import annotations

from rich.align import Align
from rich.text import Text
from textual.command import CommandList, CommandPalette
from textual.widgets.option_list import Option

# Key names as a German keyboard labels them (Textual's names on the left).
KEY_NAMES = {
    "question_mark": "?",
    "space": "Leertaste",
    "slash": "/",
    "enter": "Enter",
    "escape": "Esc",
    "tab": "Tab",
    "delete": "Entf",
    "backspace": "Rücktaste",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "home": "Pos1",
    "end": "Ende",
    "pageup": "Bild↑",
    "pagedown": "Bild↓",
    "insert": "Einfg",
    "colon": ":",
    "plus": "+",
    "minus": "-",
    "asterisk": "*",
    "number_sign": "#",
    "exclamation_mark": "!",
}
MODIFIERS = {"ctrl": "Strg", "shift": "Umschalt", "alt": "Alt", "meta": "Meta", "super": "Super"}

PALETTE_PLACEHOLDER = "Befehl suchen …"
PALETTE_NOTHING = "Kein passender Befehl"
PALETTE_LABEL = "Befehle"


def key_label(key: str) -> str:
    """One key as the desk shows it: 'ctrl+o' → 'Strg+O', 'question_mark' → '?'."""
    parts = key.split("+")
    *mods, name = parts if parts[-1] else [*parts[:-2], "+"]
    if name in KEY_NAMES:
        shown = KEY_NAMES[name]
    elif len(name) == 1:
        shown = name.upper() if mods else name
    elif name.startswith("f") and name[1:].isdigit():
        shown = name.upper()
    else:
        shown = name.replace("_", " ")
    return "+".join([*(MODIFIERS.get(m, m.capitalize()) for m in mods), shown])


def keys_label(keys: str) -> str:
    """A binding's key list ('d,delete') as words: 'd / Entf'."""
    return " / ".join(key_label(k.strip()) for k in keys.split(",") if k.strip())


class GermanCommandPalette(CommandPalette):
    """Textual's palette with a German placeholder and a German "nothing found" line."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("placeholder", PALETTE_PLACEHOLDER)
        super().__init__(**kwargs)

    def _start_no_matches_countdown(self, search_value: str) -> None:
        # Textual's own method with the line in German (the text is a literal there).
        self._stop_no_matches_countdown()

        def _show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(Align.center(Text(PALETTE_NOTHING, style="not bold")), disabled=True,
                           id=self._NO_MATCHES)
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, _show_no_matches)


# Textual's built-in palette entries the desk keeps, in German.
SYSTEM_COMMANDS = {
    "Theme": ("Farbschema", "Farbschema der Oberfläche wählen"),
    "Keys": ("Tastenübersicht", "Tasten dieses Bildschirms am Rand zeigen oder ausblenden"),
}


def system_commands(commands):
    """Textual's system commands the desk keeps, retitled in German."""
    from textual.app import SystemCommand

    for command in commands:
        if command.title in SYSTEM_COMMANDS:
            title, help_ = SYSTEM_COMMANDS[command.title]
            yield SystemCommand(title, help_, command.callback, command.discover)


__all__ = ["GermanCommandPalette", "key_label", "keys_label", "system_commands"]
