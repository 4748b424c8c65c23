"""The open ticket as the inbox shows it: the row, its links and history, and what it
carries — a held or failed order, an extension request — as those stand now.

This composes tickets, orders and extensions (as ``card`` composes the customer card),
so it sits above all three; none of them imports it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from models.enums import TicketStatus
from models.tables import ExtensionRequest, Order, Task

from ..formatting import date_de, hhmm, money, utcnow
from ..settings import Policy
from . import convrows
from .convrows import EventView
from .corerows import conn_of
from .extensions import ExtensionView, extension_view
from .orders import HeldOrderView, held_order_view
from .readmodels import AgentRef, TicketRow
from .settings_store import load_policy


@dataclass(frozen=True)
class TicketLink:
    """Something a ticket points at: an order, a process number, a request, a task."""

    kind: str  # order | extension_request | task
    label: str


@dataclass(frozen=True)
class TicketDetail:
    row: TicketRow
    body: str
    customer_number: str
    links: tuple[TicketLink, ...]
    events: tuple[EventView, ...]  # the history, oldest first (convrows.EventView)
    # The order the ticket carries (held order, registry failure), as it stands now.
    order: HeldOrderView | None = None
    # The extension request an admin-channel ticket carries, as it stands now.
    extension: ExtensionView | None = None


def detail(
    session: Session,
    ticket_id: int,
    *,
    now: dt.datetime | None = None,
    policy: Policy | None = None,
    viewer: AgentRef | None = None,
) -> TicketDetail:
    """The ticket with its links, history and, for an order's ticket, the order as it stands now.

    For an extension request's ticket ``extension`` is the request as it stands now;
    its ``may_decide`` answers for ``viewer`` (without a viewer: nobody may decide).
    """
    head = convrows.ticket_head(conn_of(session), ticket_id)  # Core, shared with ``deskapp ticket show``
    row = head.row
    links: list[TicketLink] = []
    if head.order_id is not None:
        order = session.get(Order, head.order_id)
        if order is not None:
            label = f"Bestellung {order.item} über {money(order.amount)}"
            if order.process_number:
                label = f"Vorgang {order.process_number}: {label}"
            links.append(TicketLink("order", label))
    if head.extension_request_id is not None:
        req = session.get(ExtensionRequest, head.extension_request_id)
        if req is not None:
            links.append(
                TicketLink(
                    "extension_request",
                    f"Verlängerungsantrag {req.id}: bis {date_de(req.new_valid_until)}",
                )
            )
    if head.task_id is not None:
        task = session.get(Task, head.task_id)
        if task is not None:
            deadline = f", Deadline {date_de(task.deadline)}" if task.deadline else ""
            gone = " – gelöscht" if task.status == "deleted" else ""  # TaskStatus.DELETED
            links.append(
                TicketLink("task", f"Aufgabe {task.id}: {task.title} ({hhmm(task.estimate_minutes)} Std{deadline}){gone}")
            )
    events = convrows.ticket_events(conn_of(session), ticket_id)
    carried_order = None
    if head.order_id is not None:
        carried_order = held_order_view(
            session, head.order_id,
            now=now if now is not None else utcnow(),
            policy=policy if policy is not None else load_policy(session),
        )
        if carried_order.overdue and row.status != TicketStatus.RESOLVED and "overdue" not in row.flags:
            row = dataclasses.replace(row, flags=row.flags + ("overdue",))
    carried_extension = None
    if head.extension_request_id is not None:
        carried_extension = extension_view(
            session, viewer, head.extension_request_id, now=now if now is not None else utcnow()
        )
    return TicketDetail(
        row=row,
        body=head.body,
        customer_number=head.customer_number,
        links=tuple(links),
        events=tuple(EventView(e.id, e.kind, e.login, e.text, e.old, e.new, e.created_at) for e in events),
        order=carried_order,
        extension=carried_extension,
    )


__all__ = ["TicketDetail", "TicketLink", "detail"]
