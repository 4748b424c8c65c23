"""A ticket's conversation (docs/rules.md#mail-conversation): its messages, in and out, with
the internal notes and system events between them, in order.

This module owns the ``mail_message``/``mail_raw``/``mail_attachment`` rows: storing a
message (``record_message``; outgoing mail uses ``record_outgoing``), finding the ticket
a Message-ID belongs to (threading, docs/rules.md#mail-threading), the ticket state
changes mail causes (``reopen``, ``link_follow_up``), and reading the conversation page by
page for the screens and the command line. Receiving a message — parsing, threading,
deciding — is ``mail_in``, which sits above the outgoing mail service.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import func, literal, select, union_all
from sqlmodel import Session

from models.enums import MailDirection
from models.tables import Agent, MailAttachment, MailMessage, Ticket, TicketEvent

from .corerows import (
    add_system_event, incoming_senders, record_message, reopen, resolved_since, ticket_of_any, ticket_of_message,
    touch,
)
from .errors import NotFound
from .readmodels import AgentRef
from .tickets import get_row

MSG_NO_ATTACHMENT = "Ticket #{number} hat keinen Anhang Nr. {index} (Anhänge: {count})."
MSG_NOT_KEPT = "Der Anhang „{name}“ wurde nicht gespeichert (Nachricht über der Größengrenze)."


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
class AttachmentData:
    filename: str
    content_type: str
    data: bytes


# --------------------------------------------------------------------------- finding and writing
# ``record_message``, ``reopen``, ``ticket_of_message`` … are ``corerows``' (SQLAlchemy Core,
# which the lean receive path uses without the ORM); they take an ORM session or a connection.

def record_outgoing(
    session: Session,
    actor: AgentRef,
    *,
    ticket_id: int,
    message_id: str,
    from_addr: str,
    to: str,
    subject: str,
    text: str,
    now: dt.datetime,
    in_reply_to: Sequence[str] = (),
    references: Sequence[str] = (),
) -> int:
    """A reply the desk sends, as part of the ticket's conversation (so that the
    customer's answer to it threads by In-Reply-To/References)."""
    return record_message(
        session, actor, ticket_id=ticket_id, direction=MailDirection.OUT, message_id=message_id,
        from_addr=from_addr, to=to, subject=subject, text=text, in_reply_to=in_reply_to,
        references=references, now=now,
    )


# --------------------------------------------------------------------------- reading


def _attachment_offset(session: Session, ticket_id: int, before_message_id: int) -> int:
    return session.execute(
        select(func.count(MailAttachment.id))
        .join(MailMessage, MailMessage.id == MailAttachment.mail_message_id)
        .where(MailMessage.ticket_id == ticket_id, MailMessage.id < before_message_id)
    ).scalar_one()


def change_token(session: Session, ticket_id: int) -> tuple:
    """What changes when anything of the ticket changes: its version, its newest message and
    its newest event (a mail that arrives, a note, a claim by another desk). Index lookups."""
    version = session.execute(select(Ticket.version).where(Ticket.id == ticket_id)).scalar_one_or_none()
    newest_message = session.execute(
        select(func.max(MailMessage.id)).where(MailMessage.ticket_id == ticket_id)
    ).scalar_one()
    newest_event = session.execute(
        select(func.max(TicketEvent.id)).where(TicketEvent.ticket_id == ticket_id)
    ).scalar_one()
    return (version, newest_message, newest_event)


def conversation(session: Session, ticket_id: int, *, offset: int = 0, limit: int = 50) -> ConversationPage:
    """Messages and events of the ticket in order (oldest first), ``limit`` from ``offset``.

    Internal notes are events of kind ``note``; everything else in ``EventView`` is a
    system event. Attachments are numbered over the whole ticket (``attachment`` takes
    that number)."""
    get_row(session, ticket_id)  # NotFound for a ticket that does not exist
    msgs = select(
        literal("m").label("what"), MailMessage.id.label("id"), MailMessage.created_at.label("at")
    ).where(MailMessage.ticket_id == ticket_id)
    events = select(
        literal("e").label("what"), TicketEvent.id.label("id"), TicketEvent.created_at.label("at")
    ).where(TicketEvent.ticket_id == ticket_id)
    both = union_all(msgs, events).subquery()
    total = session.execute(select(func.count()).select_from(both)).scalar_one()
    page = session.execute(
        select(both.c.what, both.c.id).order_by(both.c.at, both.c.what, both.c.id)
        .offset(max(0, offset)).limit(max(0, limit))
    ).all()
    message_ids = [i for what, i in page if what == "m"]
    event_ids = [i for what, i in page if what == "e"]
    table = MailMessage.__table__  # rows, not ORM objects: a page of 200 messages is read as plain tuples
    messages = {
        m.id: m for m in session.execute(select(table).where(table.c.id.in_(message_ids)))
    } if message_ids else {}
    attachments: dict[int, list] = {}
    if message_ids:
        for a in session.execute(
            select(MailAttachment.mail_message_id, MailAttachment.filename, MailAttachment.content_type,
                   MailAttachment.size, MailAttachment.data.is_not(None).label("kept"))
            .where(MailAttachment.mail_message_id.in_(message_ids))
            .order_by(MailAttachment.mail_message_id, MailAttachment.position)
        ):
            attachments.setdefault(a.mail_message_id, []).append(a)
    event_rows = {}
    if event_ids:
        for e in session.execute(
            select(TicketEvent.id, TicketEvent.kind, func.coalesce(Agent.login, "").label("login"),
                   TicketEvent.text, TicketEvent.old, TicketEvent.new, TicketEvent.created_at)
            .outerjoin(Agent, Agent.id == TicketEvent.agent_id)
            .where(TicketEvent.id.in_(event_ids))
        ):
            event_rows[e.id] = e
    numbered = _attachment_offset(session, ticket_id, min(message_ids)) if message_ids else 0
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


def attachment(session: Session, ticket_id: int, index: int) -> AttachmentData:
    """Attachment number ``index`` (1-based, over the whole ticket) with its bytes;
    ``NotFound`` when there is none or it was not kept."""
    row = get_row(session, ticket_id)
    rows = session.execute(
        select(MailAttachment.id, MailAttachment.filename)
        .join(MailMessage, MailMessage.id == MailAttachment.mail_message_id)
        .where(MailMessage.ticket_id == ticket_id)
        .order_by(MailMessage.id, MailAttachment.position)
    ).all()
    if not 1 <= index <= len(rows):
        raise NotFound(MSG_NO_ATTACHMENT.format(number=row.number, index=index, count=len(rows)))
    found = session.get(MailAttachment, rows[index - 1].id)
    if found.data is None:
        raise NotFound(MSG_NOT_KEPT.format(name=found.filename))
    return AttachmentData(found.filename, found.content_type, bytes(found.data))


__all__ = [
    "AttachmentData", "AttachmentView", "ConversationPage", "EventView", "MessageView", "add_system_event",
    "attachment", "conversation", "incoming_senders", "record_message", "record_outgoing", "reopen",
    "resolved_since", "ticket_of_any", "ticket_of_message", "touch",
]
