"""The inbox filter: narrow the list by status, priority, assignee and flag."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Select, Static

from ..forms import DialogScreen


@dataclass(frozen=True)
class FilterChoice:
    status: str  # "active", "all" or one status code
    priority: int | None
    assignee: str | None
    flag: str | None


class FilterDialog(DialogScreen):
    """Narrow the list by status, priority, assignee and flag."""

    AUTO_FOCUS = "#status"
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
                yield Label("Kennzeichen")
                yield Select([(label, value) for value, label in self._flags], value=c.flag
                             if c.flag else Select.NULL, prompt="alle", id="flag")
            yield Static("Tab weiter · Enter öffnet Auswahl · Strg+S anwenden · Strg+R zurücksetzen · Esc",
                         classes="hint")

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


__all__ = ["FilterChoice", "FilterDialog"]
