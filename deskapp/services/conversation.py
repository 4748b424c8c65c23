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

from sqlalchemy import func, literal, select, union_all, update
from sqlmodel import Session

from models.enums import EventKind, MailDirection, TicketStatus
from models.tables import Agent, MailAttachment, MailMessage, MailRaw, Ticket, TicketEvent

from . import audit
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


# --------------------------------------------------------------------------- finding


def ticket_of_message(session: Session, message_id: str) -> int | None:
    """The ticket that holds the message with this Message-ID (in or out), or None."""
    return session.execute(
        select(MailMessage.ticket_id).where(MailMessage.message_id == message_id)
    ).scalar()


def ticket_of_any(session: Session, message_ids: Sequence[str]) -> int | None:
    """The ticket of the first of ``message_ids`` the desk knows (callers pass the most
    telling first: In-Reply-To, then References newest first)."""
    ids = [m for m in message_ids if m]
    if not ids:
        return None
    found = dict(
        session.execute(
            select(MailMessage.message_id, MailMessage.ticket_id).where(MailMessage.message_id.in_(ids))
        ).all()
    )
    for message_id in ids:
        if message_id in found:
            return found[message_id]
    return None


def incoming_senders(session: Session, ticket_id: int) -> set[str]:
    """The lower-cased addresses that wrote to this ticket before (its requesters)."""
    rows = session.execute(
        select(MailMessage.from_addr).where(
            MailMessage.ticket_id == ticket_id, MailMessage.direction == MailDirection.IN,
            MailMessage.sender_is_customer == True,  # noqa: E712
        )
    ).scalars()
    return {r.lower() for r in rows if r}


def resolved_since(session: Session, ticket_id: int) -> dt.datetime | None:
    """When the ticket was last set resolved (its status event), or None."""
    return session.execute(
        select(func.max(TicketEvent.created_at)).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.kind == EventKind.STATUS,
            TicketEvent.new == TicketStatus.RESOLVED,
        )
    ).scalar()


# --------------------------------------------------------------------------- writing


def record_message(
    session: Session,
    actor: AgentRef,
    *,
    ticket_id: int,
    direction: str,
    message_id: str | None,
    from_addr: str,
    subject: str,
    text: str,
    now: dt.datetime,
    from_name: str = "",
    to: str = "",
    cc: str = "",
    in_reply_to: Sequence[str] = (),
    references: Sequence[str] = (),
    sent_at: dt.datetime | None = None,
    is_auto: bool = False,
    auto_reason: str = "",
    bounce_of: Sequence[str] = (),
    sender_is_customer: bool = True,
    unreadable: bool = False,
    notes: Sequence[str] = (),
    raw: bytes | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    keep_attachments: bool = True,
) -> int:
    """Store one message of ``ticket_id`` (audited); returns its id. A Message-ID that is
    already stored makes the flush fail on the unique index (the caller's transaction ends)."""
    raw_id = None
    if raw is not None:
        raw_row = MailRaw(data=raw, size=len(raw), received_at=now)
        session.add(raw_row)
        session.flush()
        raw_id = raw_row.id
    message = MailMessage(
        ticket_id=ticket_id, direction=direction, message_id=message_id, in_reply_to=" ".join(in_reply_to),
        refs=" ".join(references), from_addr=from_addr, from_name=from_name, to_addrs=to, cc_addrs=cc,
        subject=subject, text=text, sent_at=sent_at, is_auto=is_auto, auto_reason=auto_reason,
        bounce_of=" ".join(bounce_of), sender_is_customer=sender_is_customer, unreadable=unreadable,
        notes="\n".join(notes), raw_id=raw_id, created_at=now,
    )
    session.add(message)
    session.flush()
    for position, (filename, content_type, data) in enumerate(attachments):
        session.add(MailAttachment(
            mail_message_id=message.id, position=position, filename=filename, content_type=content_type,
            size=len(data), data=data if keep_attachments else None,
        ))
    number = session.execute(select(Ticket.number).where(Ticket.id == ticket_id)).scalar_one()
    audit.record(
        session, actor, f"mail.{direction}", "mail_message", message.id,
        new={
            "ticket": number, "message_id": message_id, "from": from_addr, "subject": subject[:255],
            "automatic": auto_reason or None, "sender_is_customer": sender_is_customer,
            "unreadable": unreadable, "attachments": len(attachments),
            "attachments_kept": keep_attachments if attachments else None,
        },
        now=now,
    )
    return message.id


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


def touch(session: Session, ticket_id: int, *, now: dt.datetime) -> None:
    """The ticket got a message: it moved (the inbox's change token sees it)."""
    session.execute(update(Ticket).where(Ticket.id == ticket_id).values(updated_at=now))


def reopen(session: Session, actor: AgentRef, ticket_id: int, *, now: dt.datetime, reason: str) -> bool:
    """Set a waiting or resolved ticket open again because the customer answered
    (docs/rules.md#mail-threading). False if it was neither (nothing changed)."""
    row = get_row(session, ticket_id)
    if row.status not in (TicketStatus.WAITING, TicketStatus.RESOLVED):
        return False
    changed = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.status == row.status)
        .values(status=TicketStatus.OPEN, version=Ticket.version + 1, updated_at=now)
    ).rowcount
    if not changed:  # another transaction changed the status meanwhile (PostgreSQL)
        return False
    session.add(TicketEvent(ticket_id=ticket_id, agent_id=actor.id, kind=EventKind.STATUS, old=row.status,
                            new=TicketStatus.OPEN, text=reason, created_at=now))
    audit.record(session, actor, "ticket.reopen", "ticket", row.number, old={"status": row.status},
                 new={"status": TicketStatus.OPEN, "reason": reason}, now=now)
    return True


def add_system_event(
    session: Session, actor: AgentRef, ticket_id: int, *, kind: str, text: str, now: dt.datetime,
    action: str,
) -> None:
    """A system event on the ticket's history (audited as ``action``)."""
    session.add(TicketEvent(ticket_id=ticket_id, agent_id=actor.id, kind=kind, text=text, created_at=now))
    number = session.execute(select(Ticket.number).where(Ticket.id == ticket_id)).scalar_one()
    audit.record(session, actor, action, "ticket", number, new=text, now=now)


# --------------------------------------------------------------------------- reading


def _attachment_offset(session: Session, ticket_id: int, before_message_id: int) -> int:
    return session.execute(
        select(func.count(MailAttachment.id))
        .join(MailMessage, MailMessage.id == MailAttachment.mail_message_id)
        .where(MailMessage.ticket_id == ticket_id, MailMessage.id < before_message_id)
    ).scalar_one()


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
    messages = {
        m.id: m for m in session.execute(select(MailMessage).where(MailMessage.id.in_(message_ids))).scalars()
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
