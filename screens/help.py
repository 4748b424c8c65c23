"""``?``: every key of the screen below and of the app, in German, grouped."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from . import german

def key_label(key: str) -> str:
    """'d,delete' → 'd, Entf'; the names come from screens.german (docs/glossary.md)."""
    return ", ".join(german.key_label(k.strip()) for k in key.split(",") if k.strip())


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 72; height: 80%; border: thick $accent; background: $panel; padding: 1 2;
    }
    """
    BINDINGS = [
        Binding("escape", "dismiss", "Schließen"),
        Binding("question_mark", "dismiss", "Schließen"),
        Binding("q", "dismiss", "Schließen", show=False),
    ]

    def __init__(self, below=None) -> None:
        super().__init__()
        self._below = below

    def compose(self) -> ComposeResult:
        below = self._below
        lines = ["[b]Tastenkürzel[/]", ""]
        if below is not None:
            lines.append(f"[b $accent]{getattr(below, 'HELP_TITLE', 'Diese Ansicht')}[/]")
            lines.extend(self._rows(below.BINDINGS))
            if below.__class__.__name__ == "InboxScreen":
                lines.append(f"  {'↑↓ j k':<14} Zeile wechseln; am Seitenende die nächste Seite")
                lines.append(f"  {'Bild↑ Bild↓':<14} seitenweise blättern")
                lines.append(f"  {'Pos1 Ende g G':<14} erste / letzte Zeile der Seite")
            lines.append("")
        lines.append("[b $accent]Überall[/]")
        lines.extend(self._rows(self.app.BINDINGS))
        lines.append(f"  {'Strg+P':<14} Befehlspalette: jede Aktion per Name")
        lines.append("")
        lines.append("[dim]Esc oder ? schließt diese Hilfe.[/]")
        with VerticalScroll():
            yield Static("\n".join(lines))

    @staticmethod
    def _rows(bindings) -> list[str]:
        rows = []
        for b in bindings:
            if isinstance(b, Binding) and b.description:
                rows.append(f"  {key_label(b.key):<14} {b.description}")
        return rows

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(None)
