"""The inbox at any terminal width, from 80×24 up (docs/rules.md#narrow-terminals).

Mixin of ``InboxScreen``: below ``SIDEBAR_AUTO`` columns the sidebar (queues and views)
folds away by itself; ``b`` shows or hides it at any width (the choice holds until the
next ``b``). The ticket table's columns share the rest (``table.column_widths``).
"""

from __future__ import annotations

from textual import events
from textual.screen import Screen

from .table import SIDEBAR_WIDTH, TicketTable

SIDEBAR_AUTO = 120


class InboxLayout(Screen):
    sidebar_wanted: bool | None = None  # None: by width; True/False: the agent's choice (b)

    def sidebar_shown(self, width: int) -> bool:
        return self.sidebar_wanted if self.sidebar_wanted is not None else width >= SIDEBAR_AUTO

    def fit_to_width(self, width: int) -> None:
        shown = self.sidebar_shown(width)
        self.query_one("#sidebar").display = shown
        self.query_one(TicketTable).fit_columns(width - (SIDEBAR_WIDTH if shown else 0))

    def on_resize(self, event: events.Resize) -> None:
        self.fit_to_width(event.size.width)

    def action_toggle_sidebar(self) -> None:
        width = self.app.size.width
        self.sidebar_wanted = not self.sidebar_shown(width)
        self.fit_to_width(width)
        if self.sidebar_wanted:
            self.query_one("#sources").focus()
        else:
            self.query_one(TicketTable).focus()


__all__ = ["InboxLayout", "SIDEBAR_AUTO"]
