"""Small modal dialogs of the inbox: pick one of a list, write a note, set a filter.

Each returns its result through ``dismiss``; ``escape`` always cancels with ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

DIALOG_CSS = """
DialogScreen { align: center middle; }
.dialog {
    width: 64; height: auto; max-height: 80%;
    border: thick $accent; background: $panel; padding: 1 2;
}
.dialog .title { text-style: bold; margin-bottom: 1; width: 100%; }
.dialog .hint { color: $text-muted; margin-top: 1; }
.dialog OptionList { height: auto; max-height: 16; }
.dialog TextArea { height: 8; }
.dialog Select { margin-bottom: 1; }
.dialog .row Label { width: 14; padding-top: 1; }
.dialog .row { height: auto; }
.dialog .row Select { width: 1fr; }
.dialog .explain { margin-bottom: 1; }
"""


class DialogScreen(ModalScreen):
    """Base of the desk's dialogs: centred over the dimmed screen below."""

    DEFAULT_CSS = DIALOG_CSS


class ChoiceDialog(DialogScreen):
    """Pick one value from a short list (status, assignee …) with arrows and enter."""

    BINDINGS = [Binding("escape", "cancel", "Abbrechen")]

    def __init__(self, title: str, choices: list[tuple[str, str]], *, current: str | None = None) -> None:
        super().__init__()
        self._title = title
        self._choices = choices
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="title")
            yield OptionList(*(Option(label, id=value) for value, label in self._choices), id="choices")
            yield Static("↑↓ wählen · Enter übernehmen · Esc abbrechen", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        values = [value for value, _ in self._choices]
        if self._current in values:
            options.highlighted = values.index(self._current)
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class NoteDialog(DialogScreen):
    """An internal note: a text area, ``ctrl+s`` saves, ``escape`` cancels."""

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

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        text = self.query_one(TextArea).text.strip()
        if not text:
            self.query_one("#error", Static).update(f"[b $error]{self._empty_message}[/]")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class FilterChoice:
    status: str  # "active", "all" or one status code
    priority: int | None
    assignee: str | None
    flag: str | None


class FilterDialog(DialogScreen):
    """Narrow the list by status, priority, assignee and flag."""

    BINDINGS = [
        Binding("ctrl+s", "apply", "Anwenden", priority=True),
        Binding("escape", "cancel", "Abbrechen"),
        Binding("ctrl+r", "reset", "Zurücksetzen", priority=True),
    ]

    def __init__(
        self,
        *,
        current: FilterChoice,
        statuses: list[tuple[str, str]],
        priorities: list[tuple[int, str]],
        assignees: list[tuple[str, str]],
        flags: list[tuple[str, str]],
    ) -> None:
        super().__init__()
        self._current = current
        self._statuses = statuses
        self._priorities = priorities
        self._assignees = assignees
        self._flags = flags

    def compose(self) -> ComposeResult:
        c = self._current
        with Vertical(classes="dialog"):
            yield Label("Filter", classes="title")
            with Horizontal(classes="row"):
                yield Label("Status")
                yield Select(
                    [(label, value) for value, label in self._statuses], value=c.status,
                    allow_blank=False, id="status",
                )
            with Horizontal(classes="row"):
                yield Label("Priorität")
                yield Select([(label, value) for value, label in self._priorities], value=c.priority
                             if c.priority is not None else Select.NULL, prompt="alle", id="priority")
            with Horizontal(classes="row"):
                yield Label("Bearbeiter")
                yield Select([(label, value) for value, label in self._assignees], value=c.assignee
                             if c.assignee else Select.NULL, prompt="alle", id="assignee")
            with Horizontal(classes="row"):
                yield Label("Markierung")
                yield Select([(label, value) for value, label in self._flags], value=c.flag
                             if c.flag else Select.NULL, prompt="alle", id="flag")
            yield Static("Tab weiter · Enter öffnet Auswahl · Strg+S anwenden · Strg+R zurücksetzen · Esc",
                         classes="hint")

    def on_mount(self) -> None:
        self.query_one("#status", Select).focus()

    def _value(self, widget_id: str):
        value = self.query_one(f"#{widget_id}", Select).value
        return None if value is Select.NULL else value

    def action_apply(self) -> None:
        self.dismiss(
            FilterChoice(
                status=self._value("status") or "active",
                priority=self._value("priority"),
                assignee=self._value("assignee"),
                flag=self._value("flag"),
            )
        )

    def action_reset(self) -> None:
        self.dismiss(FilterChoice(status="active", priority=None, assignee=None, flag=None))

    def action_cancel(self) -> None:
        self.dismiss(None)
