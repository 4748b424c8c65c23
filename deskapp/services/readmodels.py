"""The read models several services and screens share: the agent, the ticket row and page,
the customer hit, and who may work which queue.

Every other result type lives beside the service that returns it (``orders.HeldOrderView``,
``budget.PackageView``, ``ticket_detail.TicketDetail`` …). This module stays free of
SQLAlchemy and pendulum: the lean start (``deskapp/quickstart.py``) builds its first page
from it before the ORM is imported.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, fields

from models.enums import Queue, Role


@dataclass(frozen=True)
class AgentRef:
    id: int
    login: str
    display_name: str
    roles: frozenset[str] = frozenset()

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_system(self) -> bool:
        return Role.SYSTEM in self.roles


# Which roles may work (claim, change, assign into) which queue. Admin may work all.
QUEUE_ROLES: dict[str, frozenset[str]] = {
    Queue.SUPPORT: frozenset({Role.SUPPORT, Role.CONTRACT}),
    Queue.CONTRACT: frozenset({Role.CONTRACT}),
    Queue.TECHNICAL: frozenset({Role.TECHNICIAN}),
    Queue.ADMIN: frozenset({Role.APPROVER, Role.DEPUTY}),
}


def may_work_queue(agent: AgentRef, queue: str) -> bool:
    if agent.is_system:
        return False
    return Role.ADMIN in agent.roles or bool(agent.roles & QUEUE_ROLES[Queue(queue)])


@dataclass(frozen=True)
class TicketRow:
    """One line of the inbox list."""

    id: int
    number: int
    queue: str
    kind: str
    status: str
    priority: int
    subject: str
    customer_id: uuid.UUID | None
    customer_name: str
    assignee_login: str
    flags: tuple[str, ...]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @property
    def key(self) -> tuple[int, dt.datetime, int]:
        return (self.priority, self.created_at, self.id)


TICKET_ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TicketRow))
_new_object = object.__new__


def ticket_row(values) -> TicketRow:
    """A ``TicketRow`` from one result row whose columns are its fields in order, the flags
    as stored (space-separated).

    Equal to ``TicketRow(...)`` with the same values, but fills the instance's ``__dict__``
    at once: the frozen dataclass's ``__init__`` sets each of the 14 fields through
    ``object.__setattr__``, which was a third of the Python cost of an inbox page.
    """
    row = _new_object(TicketRow)
    own = row.__dict__
    own.update(zip(TICKET_ROW_FIELDS, values))
    own["flags"] = tuple(own["flags"].split())
    return row


@dataclass(frozen=True)
class TicketPage:
    rows: tuple[TicketRow, ...]
    has_before: bool
    has_after: bool


@dataclass(frozen=True)
class CustomerHit:
    id: uuid.UUID
    number: str
    name: str
    email: str
