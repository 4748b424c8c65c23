"""A ticket and its conversation read in SQLAlchemy Core: no ORM, no SQLModel, no
pydantic, no ``models.tables`` (the read side of ``corerows``).

``deskapp ticket show`` and ``deskapp ticket attachment`` run as a process per call, so
their start is paid each time: they read on a Core connection through this module. It is
the one implementation: ``conversation.conversation``/``attachment`` and
``ticket_detail.detail`` call these functions with their session (``conn_of(session)``),
so the screens and the command line read the same rows the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Integer, LargeBinary, bindparam, func, literal, select, union_all
from sqlalchemy.sql import column, table

from ..rules.mailheaders import Attachment
from .corerows import agent, customer, mail_message, ticket, ticket_event
from .errors import NotFound
from .readmodels import TICKET_ROW_FIELDS, TicketRow, ticket_row

MSG_NO_ATTACHMENT = "Ticket #{number} hat keinen Anhang Nr. {index} (Anhänge: {count})."
MSG_NOT_KEPT = "Der Anhang „{name}“ wurde nicht gespeichert (Nachricht über der Größengrenze)."
MSG_NO_TICKET_ID = "Ticket {id} gibt es nicht."
MSG_NO_TICKET_NUMBER = "Ticket #{number} gibt es nicht."

# corerows' ``mail_attachment`` lacks the id (the store path never needs it).
mail_attachment = table(
    "mail_attachment", column("id", Integer), column("mail_message_id", Integer), column("position", Integer),
    column("filename"), column("content_type"), column("size", Integer), column("data", LargeBinary),
)


@dataclass(frozen=True)
class AttachmentView:
    index: int  # 1-based, in conversation order over the whole ticket
    filename: str
    content_type: str
    size: int
    kept: bool


@dataclass(frozen=True)
class MessageView:
    id: int
    direction: str  # MailDirection
    message_id: str | None
    from_addr: str
    from_name: str
    to: str
    cc: str
    subject: str
    text: str
    sent_at: dt.datetime | None
    created_at: dt.datetime
    is_auto: bool
    auto_reason: str
    sender_is_customer: bool
    unreadable: bool
    notes: tuple[str, ...]
    attachments: tuple[AttachmentView, ...]


@dataclass(frozen=True)
class EventView:
    id: int
    kind: str  # EventKind: note = internal note (never sent); the rest are system events
    agent_login: str
    text: str
    old: str
    new: str
    created_at: dt.datetime


@dataclass(frozen=True)
class ConversationPage:
    ticket_id: int
    total: int
    offset: int
    entries: tuple[MessageView | EventView, ...]


@dataclass(frozen=True)
class TicketHead:
    """The ticket's row (as the inbox lists it) with what the list leaves out."""

    row: TicketRow
    body: str
    customer_number: str  # "" without a customer
    order_id: int | None
    extension_request_id: int | None
    task_id: int | None


# --------------------------------------------------------------------------- the ticket

_assignee = agent.alias("assignee")
_HEAD = (
    select(
        ticket.c.id, ticket.c.number, ticket.c.queue, ticket.c.kind, ticket.c.status, ticket.c.priority,
        ticket.c.subject, ticket.c.customer_id, func.coalesce(customer.c.name, "").label("customer_name"),
        func.coalesce(_assignee.c.login, "").label("assignee_login"), ticket.c.flags, ticket.c.created_at,
        ticket.c.updated_at, ticket.c.version,
        ticket.c.body, func.coalesce(customer.c.number, "").label("customer_number"), ticket.c.order_id,
        ticket.c.extension_request_id, ticket.c.task_id,
    )
    .select_from(ticket)
    .outerjoin(customer, customer.c.id == ticket.c.customer_id)
    .outerjoin(_assignee, _assignee.c.id == ticket.c.assignee_id)
)
_ROW_WIDTH = len(TICKET_ROW_FIELDS)
assert tuple(c.name for c in _HEAD.selected_columns)[:_ROW_WIDTH] == TICKET_ROW_FIELDS
_HEAD_BY_ID = _HEAD.where(ticket.c.id == bindparam("tid"))
_HEAD_BY_NUMBER = _HEAD.where(ticket.c.number == bindparam("n"))


def _head(r) -> TicketHead:
    return TicketHead(
        ticket_row(r[:_ROW_WIDTH]), r.body, r.customer_number, r.order_id, r.extension_request_id, r.task_id
    )


def ticket_head(conn, ticket_id: int) -> TicketHead:
    """The ticket with this id; ``NotFound`` when there is none."""
    r = conn.execute(_HEAD_BY_ID, {"tid": ticket_id}).first()
    if r is None:
        raise NotFound(MSG_NO_TICKET_ID.format(id=ticket_id))
    return _head(r)


def ticket_head_by_number(conn, number: int) -> TicketHead:
    """The ticket with this number; ``NotFound`` when there is none."""
    r = conn.execute(_HEAD_BY_NUMBER, {"n": number}).first()
    if r is None:
        raise NotFound(MSG_NO_TICKET_NUMBER.format(number=number))
    return _head(r)


_EXISTS = select(ticket.c.number).where(ticket.c.id == bindparam("tid"))


def _number(conn, ticket_id: int) -> int:
    number = conn.execute(_EXISTS, {"tid": ticket_id}).scalar()
    if number is None:
        raise NotFound(MSG_NO_TICKET_ID.format(id=ticket_id))
    return number


_EVENT_LOGIN = func.coalesce(agent.c.login, "").label("login")
_HISTORY = (
    select(ticket_event.c.id, ticket_event.c.kind, _EVENT_LOGIN, ticket_event.c.text, ticket_event.c.old,
           ticket_event.c.new, ticket_event.c.created_at)
    .select_from(ticket_event.outerjoin(agent, agent.c.id == ticket_event.c.agent_id))
)
_EVENTS_OF_TICKET = _HISTORY.where(ticket_event.c.ticket_id == bindparam("tid")).order_by(
    ticket_event.c.created_at, ticket_event.c.id
)
_EVENTS_BY_ID = _HISTORY.where(ticket_event.c.id.in_(bindparam("ids", expanding=True)))


def ticket_events(conn, ticket_id: int) -> list:
    """The ticket's events, oldest first: rows of ``(id, kind, login, text, old, new, created_at)``."""
    return conn.execute(_EVENTS_OF_TICKET, {"tid": ticket_id}).all()


# --------------------------------------------------------------------------- the conversation

_ENTRIES = union_all(
    select(literal("m").label("what"), mail_message.c.id.label("id"), mail_message.c.created_at.label("at"))
    .where(mail_message.c.ticket_id == bindparam("tid")),
    select(literal("e").label("what"), ticket_event.c.id.label("id"), ticket_event.c.created_at.label("at"))
    .where(ticket_event.c.ticket_id == bindparam("tid")),
).subquery()
_TOTAL = select(func.count()).select_from(_ENTRIES)
_PAGE = (
    select(_ENTRIES.c.what, _ENTRIES.c.id).order_by(_ENTRIES.c.at, _ENTRIES.c.what, _ENTRIES.c.id)
    .offset(bindparam("offset")).limit(bindparam("limit"))
)
_MESSAGES = select(
    mail_message.c.id, mail_message.c.direction, mail_message.c.message_id, mail_message.c.from_addr,
    mail_message.c.from_name, mail_message.c.to_addrs, mail_message.c.cc_addrs, mail_message.c.subject,
    mail_message.c.text, mail_message.c.sent_at, mail_message.c.created_at, mail_message.c.is_auto,
    mail_message.c.auto_reason, mail_message.c.sender_is_customer, mail_message.c.unreadable,
    mail_message.c.notes,
).where(mail_message.c.id.in_(bindparam("ids", expanding=True)))
_ATTACHMENTS = (
    select(mail_attachment.c.mail_message_id, mail_attachment.c.filename, mail_attachment.c.content_type,
           mail_attachment.c.size, mail_attachment.c.data.is_not(None).label("kept"))
    .where(mail_attachment.c.mail_message_id.in_(bindparam("ids", expanding=True)))
    .order_by(mail_attachment.c.mail_message_id, mail_attachment.c.position)
)
_ATTACHMENTS_BEFORE = (
    select(func.count(mail_attachment.c.id))
    .join(mail_message, mail_message.c.id == mail_attachment.c.mail_message_id)
    .where(mail_message.c.ticket_id == bindparam("tid"), mail_message.c.id < bindparam("before"))
)


def conversation(conn, ticket_id: int, *, offset: int = 0, limit: int = 50) -> ConversationPage:
    """Messages and events of the ticket in order (oldest first), ``limit`` from ``offset``.

    Internal notes are events of kind ``note``; everything else in ``EventView`` is a
    system event. Attachments are numbered over the whole ticket (``attachment`` takes
    that number). ``NotFound`` for a ticket that does not exist."""
    _number(conn, ticket_id)
    total = conn.execute(_TOTAL, {"tid": ticket_id}).scalar_one()
    page = conn.execute(_PAGE, {"tid": ticket_id, "offset": max(0, offset), "limit": max(0, limit)}).all()
    message_ids = [i for what, i in page if what == "m"]
    event_ids = [i for what, i in page if what == "e"]
    messages = {m.id: m for m in conn.execute(_MESSAGES, {"ids": message_ids})} if message_ids else {}
    attachments: dict[int, list] = {}
    if message_ids:
        for a in conn.execute(_ATTACHMENTS, {"ids": message_ids}):
            attachments.setdefault(a.mail_message_id, []).append(a)
    event_rows = {e.id: e for e in conn.execute(_EVENTS_BY_ID, {"ids": event_ids})} if event_ids else {}
    numbered = conn.execute(
        _ATTACHMENTS_BEFORE, {"tid": ticket_id, "before": min(message_ids)}
    ).scalar_one() if message_ids else 0
    entries: list[MessageView | EventView] = []
    for what, i in page:
        if what == "e":
            e = event_rows[i]
            entries.append(EventView(e.id, e.kind, e.login, e.text, e.old, e.new, e.created_at))
            continue
        m = messages[i]
        views = []
        for a in attachments.get(m.id, []):
            numbered += 1
            views.append(AttachmentView(numbered, a.filename, a.content_type, a.size, bool(a.kept)))
        entries.append(MessageView(
            id=m.id, direction=m.direction, message_id=m.message_id, from_addr=m.from_addr,
            from_name=m.from_name, to=m.to_addrs, cc=m.cc_addrs, subject=m.subject, text=m.text,
            sent_at=m.sent_at, created_at=m.created_at, is_auto=m.is_auto, auto_reason=m.auto_reason,
            sender_is_customer=m.sender_is_customer, unreadable=m.unreadable,
            notes=tuple(n for n in m.notes.split("\n") if n), attachments=tuple(views),
        ))
    return ConversationPage(ticket_id=ticket_id, total=total, offset=offset, entries=tuple(entries))


_ATTACHMENT_LIST = (
    select(mail_attachment.c.id)
    .join(mail_message, mail_message.c.id == mail_attachment.c.mail_message_id)
    .where(mail_message.c.ticket_id == bindparam("tid"))
    .order_by(mail_message.c.id, mail_attachment.c.position)
)
_ATTACHMENT = select(
    mail_attachment.c.filename, mail_attachment.c.content_type, mail_attachment.c.data
).where(mail_attachment.c.id == bindparam("aid"))


def attachment(conn, ticket_id: int, index: int) -> Attachment:
    """Attachment number ``index`` (1-based, over the whole ticket) with its bytes;
    ``NotFound`` when there is none or it was not kept."""
    number = _number(conn, ticket_id)
    ids = conn.execute(_ATTACHMENT_LIST, {"tid": ticket_id}).scalars().all()
    if not 1 <= index <= len(ids):
        raise NotFound(MSG_NO_ATTACHMENT.format(number=number, index=index, count=len(ids)))
    found = conn.execute(_ATTACHMENT, {"aid": ids[index - 1]}).one()
    if found.data is None:
        raise NotFound(MSG_NOT_KEPT.format(name=found.filename))
    return Attachment(found.filename, found.content_type, bytes(found.data))


__all__ = [
    "AttachmentView", "ConversationPage", "EventView", "MessageView", "TicketHead",
    "attachment", "conversation", "ticket_events", "ticket_head", "ticket_head_by_number",
]
