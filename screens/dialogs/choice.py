"""Pick one value from a short list (status, assignee …) with the arrows and enter."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from ..forms import DialogScreen


class ChoiceDialog(DialogScreen):
    """Pick one value from a short list; returns its value, ``escape`` cancels with ``None``."""

    AUTO_FOCUS = "#choices"
    BINDINGS = [Binding("escape", "cancel", "Abbrechen")]

    def __init__(self, title: str, choices: list[tuple[str, str]], *, current: str | None = None) -> None:
        super().__init__()
        self._title = title
        self._choices = choices
        self._current = current

    def compose(self) -> ComposeResult:
        options = OptionList(*(Option(label, id=value) for value, label in self._choices), id="choices")
        values = [value for value, _ in self._choices]
        if self._current in values:  # set before it is shown: a key typed at once starts from here
            options.highlighted = values.index(self._current)
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="title")
            yield options
            yield Static("↑↓ wählen · Enter übernehmen · Esc abbrechen", classes="hint")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["ChoiceDialog"]
