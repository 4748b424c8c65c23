"""The inbox's ticket list: one page of ``TicketRow`` in a DataTable.

Moving past either end of the page posts ``PageEdge``; the screen fetches the neighbouring
page (keyset paging, see ``InboxScreen``). Never a whole queue in the table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from deskapp import texts
from deskapp.formatting import age_de, inert
from deskapp.services.readmodels import TicketRow
from models.enums import Priority, TicketStatus

from ..styles import PRIORITY_STYLE, STATUS_STYLE, inert_cell

if TYPE_CHECKING:  # annotations only: the first frame comes before SQLAlchemy is imported
    from deskapp.services.extensions import ExtensionRow


def mark_cell(marked: bool) -> Text | str:
    return Text("●", style="bold yellow") if marked else ""


SIDEBAR_WIDTH = 28
# The subject takes what the other columns leave (each column pads 1 each side).
# "number" fits "#100001": a busy desk passes ticket 99,999.
FIXED_WIDTHS = {"mark": 1, "number": 7, "age": 6, "prio": 8, "status": 8, "customer": 18,
                "assignee": 7, "flags": 5}


class TicketTable(DataTable):
    """The list. Moving past either end of the page asks the screen for the next one."""

    BINDINGS = [
        Binding("j", "cursor_down", "Runter", show=False),
        Binding("k", "cursor_up", "Hoch", show=False),
    ]

    class PageEdge(Message):
        def __init__(self, forward: bool) -> None:
            super().__init__()
            self.forward = forward

    def add_ticket_columns(self, screen_width: int) -> None:
        fixed = FIXED_WIDTHS
        subject = max(20, screen_width - SIDEBAR_WIDTH - sum(fixed.values()) - 2 * (len(fixed) + 1) - 5)
        self.add_column(" ", key="mark", width=fixed["mark"])
        self.add_column("Nr.", key="number", width=fixed["number"])
        # Flags (overdue, conspicuous …) at the left, where a narrow terminal cannot cut them off.
        self.add_column("Flags", key="flags", width=fixed["flags"])
        self.add_column("Alter", key="age", width=fixed["age"])
        self.add_column("Prio", key="prio", width=fixed["prio"])
        self.add_column("Status", key="status", width=fixed["status"])
        self.add_column("Kunde", key="customer", width=fixed["customer"])
        self.add_column("Betreff", key="subject", width=subject)
        self.add_column("Bearb.", key="assignee", width=fixed["assignee"])

    def show_rows(self, rows, now: dt.datetime, *, marked, requests: dict[int, ExtensionRow]) -> None:
        """Replace the rows with one page (``marked``: ticket ids with the mark)."""
        self.clear()
        for row in rows:
            self.add_row(*ticket_cells(row, now, marked=row.id in marked, request=requests.get(row.number)),
                         key=str(row.id))

    def show_mark(self, row: TicketRow, marked: bool) -> None:
        self.update_cell(str(row.id), "mark", mark_cell(marked))

    def _at_edge(self, forward: bool) -> bool:
        """At the first/last row: ask for the neighbouring page instead of moving."""
        if not self.row_count:
            return False
        edge = self.cursor_row >= self.row_count - 1 if forward else self.cursor_row <= 0
        if edge:
            self.post_message(self.PageEdge(forward=forward))
        return edge

    def action_cursor_down(self) -> None:
        if not self._at_edge(forward=True):
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if not self._at_edge(forward=False):
            super().action_cursor_up()

    def action_page_down(self) -> None:
        if not self._at_edge(forward=True):
            super().action_page_down()

    def action_page_up(self) -> None:
        if not self._at_edge(forward=False):
            super().action_page_up()


def ticket_cells(row: TicketRow, now: dt.datetime, *, marked: bool, request: ExtensionRow | None) -> list:
    priority = Priority(row.priority)
    status = TicketStatus(row.status)
    flags = "".join(texts.FLAG_SYMBOL.get(f, "?") for f in row.flags)
    subject: str | Text = inert_cell(row.subject)
    if request is not None:  # the requester's view: the outcome leads the subject
        from ..extension_text import EXTENSION_SHORT, EXTENSION_STYLE

        label = EXTENSION_SHORT.get(request.status, request.status)
        subject = Text.assemble((label, EXTENSION_STYLE.get(request.status, "")), " · ", inert(row.subject))
    return [
        mark_cell(marked),
        Text(f"#{row.number}", justify="right"),
        Text(flags, style="bold yellow"),
        age_de(row.created_at, now),
        Text(texts.PRIORITY[priority], style=PRIORITY_STYLE[priority]),
        Text(texts.STATUS[status], style=STATUS_STYLE[status]),
        inert_cell(row.customer_name),
        subject,
        inert_cell(row.assignee_login),
    ]
