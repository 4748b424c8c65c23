"""The card's logs in full: columns that give the text the free width, a reader for one
entry, a new Kundenakte entry (docs/rules.md#customer-file).

``log_text_widths`` says how wide the text columns of the Nachrichtenlog and the
Kundenakte are at a terminal width (the two sections share the line); ``EntryReader``
shows one entry whole, scrolling, ``escape`` back to the card.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

DATE_WIDTH = 14
AUTHOR_WIDTH = 8
CELL_PADDING = 2
SECTION_CHROME = 2 + 2  # the round border, and the table's scrollbar with a column of slack


def log_text_widths(screen_width: int) -> tuple[int, int]:
    """(Nachrichtenlog text, Kundenakte text) for a card ``screen_width`` columns wide."""
    half = screen_width // 2
    message = half - SECTION_CHROME - (DATE_WIDTH + CELL_PADDING) - CELL_PADDING
    file_ = half - SECTION_CHROME - (DATE_WIDTH + CELL_PADDING) - (AUTHOR_WIDTH + CELL_PADDING) - CELL_PADDING
    return max(12, message), max(12, file_)


class EntryReader(ModalScreen[None]):
    """One log entry, whole: its heading (date, author, subject) and the text, scrolling."""

    DEFAULT_CSS = """
    EntryReader { align: center middle; }
    EntryReader > Vertical {
        width: 90%; max-width: 100; height: 80%;
        border: thick $accent; background: $panel; padding: 0 1;
    }
    EntryReader .title { text-style: bold; }
    EntryReader VerticalScroll { height: 1fr; }
    EntryReader .hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "close", "Schließen"),
        Binding("q", "close", "Schließen", show=False),
        Binding("j", "scroll('down')", "Runter", show=False),
        Binding("k", "scroll('up')", "Hoch", show=False),
    ]

    def __init__(self, heading: str, text: str) -> None:
        super().__init__()
        self._heading = heading
        self._text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._heading, classes="title")
            with VerticalScroll(id="entry-scroll"):
                yield Static(self._text, id="entry-text", markup=False)
            yield Static("↑↓ j k blättern · Esc zurück zur Karte", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#entry-scroll").focus()

    def action_scroll(self, direction: str) -> None:
        scroll = self.query_one("#entry-scroll", VerticalScroll)
        scroll.scroll_down() if direction == "down" else scroll.scroll_up()

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["EntryReader", "log_text_widths"]
