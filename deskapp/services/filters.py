"""What the inbox lists: the filter, its views and statuses, the change token.

Kept apart from ``tickets`` (and free of SQLAlchemy) so the inbox can build its first
frame before the ORM is imported; ``tickets`` re-exports every name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models.enums import Priority, Queue, TicketStatus

from .. import texts

ACTIVE_STATUSES: tuple[str, ...] = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.WAITING)
ALL_STATUSES: tuple[str, ...] = tuple(TicketStatus)
VIEWS = ("mine", "unassigned", "flagged")
# The extension requests the agent filed (texts.VIEW["requests"]); shown with every status.
REQUESTS_VIEW = "requests"
FLAGS = tuple(texts.FLAG)

PageKey = tuple[int, dt.datetime, int]


@dataclass(frozen=True)
class TicketFilter:
    """What the inbox shows. ``queue`` or ``view`` picks the list; the rest narrows it."""

    queue: str | None = Queue.SUPPORT
    view: str | None = None
    statuses: tuple[str, ...] = ACTIVE_STATUSES
    priority: int | None = None
    assignee: str | None = None  # a login, or "-" for unassigned
    flag: str | None = None
    search: str = ""  # the / line (deskapp/rules/filterlang.py)
    search_in_queue: bool = False  # a search looks in every queue unless this is set

    def describe(self) -> str:
        """The active narrowing in German words, for the list's title."""
        parts = []
        if self.statuses != ACTIVE_STATUSES:
            parts.append("Status: " + ", ".join(texts.STATUS[TicketStatus(s)] for s in self.statuses))
        if self.priority is not None:
            parts.append("Priorität: " + texts.PRIORITY[Priority(self.priority)])
        if self.assignee:
            parts.append("Bearbeiter: " + ("niemand" if self.assignee == "-" else self.assignee))
        if self.flag:
            parts.append("Kennzeichen: " + texts.FLAG.get(self.flag, self.flag))
        if self.search:
            from ..rules.filterlang import parse

            query = parse(self.search)
            spans_all = not (self.search_in_queue or self.view or query.queue is not None or query.only_numbers)
            where = " (alle Queues)" if spans_all else ""
            parts.append(f"Suche: „{self.search}“{where}")
        return " · ".join(parts)


@dataclass(frozen=True)
class ChangeToken:
    """Cheap fingerprint of the ticket table: differs after any ticket change."""

    last_update: dt.datetime | None
    last_id: int | None
    last_event: int | None
