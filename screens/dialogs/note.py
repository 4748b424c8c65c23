"""An internal note: a text area, ``ctrl+s`` saves, ``escape`` cancels."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, Static, TextArea

from ..forms import DialogScreen


class NoteDialog(DialogScreen):
    """An internal note: a text area, ``ctrl+s`` saves, ``escape`` cancels."""

    AUTO_FOCUS = "#note"
    BINDINGS = [
        Binding("ctrl+s", "save", "Speichern", priority=True),
        Binding("escape", "cancel", "Abbrechen"),
    ]

    def __init__(
        self,
        title: str,
        *,
        explain: str = "",
        empty_message: str = "Eine leere Notiz wird nicht gespeichert.",
        save_label: str = "speichern",
    ) -> None:
        super().__init__()
        self._title = title
        self._explain = explain
        self._empty_message = empty_message
        self._save_label = save_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="title")
            if self._explain:
                yield Static(self._explain, classes="explain")
            yield TextArea(id="note")
            yield Static("", id="error", classes="hint")
            yield Static(f"Strg+S {self._save_label} · Esc abbrechen", classes="hint")

    def action_save(self) -> None:
        text = self.query_one(TextArea).text.strip()
        if not text:
            self.query_one("#error", Static).update(f"[b $error]{self._empty_message}[/]")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["NoteDialog"]
