"""The customer's mail arrives (docs/rules.md#mail-incoming): one message, one transaction.

``receive`` reads the message (``rules.mail_parse``: never an error), and then, as the
``system`` agent and audited: a Message-ID already stored is a duplicate and changes
nothing (docs/rules.md#mail-duplicate); otherwise the message joins the ticket it answers (docs/rules.md#mail-threading)
— reopening it when it was waiting, or resolved within ``mail_reopen_days``, else a
follow-up ticket (docs/rules.md#mail-follow-up) — or opens a new Support ticket, with the customer found by the sender's address
(docs/rules.md#mail-sender; a stranger on a ticket: docs/rules.md#mail-forged-tag). An
unreadable message is kept as its own ticket (docs/rules.md#mail-unreadable). Automatic mail never changes a ticket's status
(docs/rules.md#mail-automatic); a delivery report's bounce is recorded on the ticket of
the mail that bounced (``handle_bounce``, docs/rules.md#mail-bounce).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from models.enums import EventKind, MailDirection, Priority, Queue, TicketStatus

from ..rules import mail_parse
from ..settings import Policy
from . import corerows as rows
from .readmodels import AgentRef

UNREADABLE_SUBJECT = "Nicht lesbare Nachricht"
NO_SUBJECT = "(ohne Betreff)"
MAX_TICKET_BODY = 100_000  # the ticket's own text (searchable); the message keeps all of it

NOTE_NOT_CUSTOMER = "Absender ist nicht der Kunde"
NOTE_SEVERAL_CUSTOMERS = "Absender passt zu mehreren Kunden ({numbers}); bitte den richtigen zuordnen."
NOTE_UNKNOWN_TAG = "Der Betreff nennt Ticket #{number}, das es nicht gibt."
NOTE_ATTACHMENTS_DROPPED = (
    "Anhänge nicht gespeichert: zusammen {size} MB, die Grenze ist {limit} MB je Nachricht "
    "(die Originalnachricht ist vollständig gespeichert)."
)
EVENT_NOT_CUSTOMER = "E-Mail von {sender}: Absender ist nicht der Kunde."
EVENT_FOLLOW_UP_NEW = "Folgeticket zu #{old} (erledigt am {resolved}): der Kunde hat danach geantwortet."
EVENT_FOLLOW_UP_OLD = "Antwort des Kunden nach Ablauf der Frist: weiter in #{new}."
EVENT_REOPEN = "Antwort des Kunden per E-Mail"
EVENT_BOUNCE = "Zustellung fehlgeschlagen: E-Mail <{message_id}> kam zurück{reason}."

_TAG = re.compile(r"\[#(\d{1,9})\]")

STORED = "stored"
DUPLICATE = "duplicate"
TICKET_NEW = "new"
TICKET_REOPENED = "reopened"
TICKET_UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ReceiveResult:
    status: str  # stored | duplicate
    ticket_id: int
    ticket_number: int
    ticket: str  # new | reopened | unchanged
    message_id: str | None
    automatic: bool
    sender_is_customer: bool
    customer_number: str | None
    follows_ticket: int | None = None  # the resolved ticket a follow-up ticket continues
    bounce_of: tuple[str, ...] = ()  # Message-IDs of desk mail a delivery report says bounced
    bounced_tickets: tuple[int, ...] = ()  # ticket numbers the bounce was recorded on
    unreadable: bool = False


def subject_tag(subject: str) -> int | None:
    """The ticket number of the first ``[#1234]`` tag in the subject, or None."""
    match = _TAG.search(subject or "")
    return int(match.group(1)) if match else None


def _thread(conn, parsed: mail_parse.ParsedMail, notes: list[str]):
    """The ticket the message belongs to: a message it answers first (the headers name a
    message the desk stored), then the subject's tag."""
    candidates = [*parsed.in_reply_to, *reversed(parsed.references), *parsed.bounce_of]
    ticket_id = rows.ticket_of_any(conn, candidates)
    if ticket_id is not None:
        return rows.ticket_state(conn, ticket_id)
    number = subject_tag(parsed.subject)
    if number is not None:
        ticket = rows.ticket_state_by_number(conn, number)
        if ticket is None:
            notes.append(NOTE_UNKNOWN_TAG.format(number=number))
        return ticket
    return None


def _sender_is_customer(conn, ticket, sender: str) -> bool:
    """Whether the sender of a message on an existing ticket is that ticket's customer (one
    of its addresses) or, on a ticket without customer, someone who wrote it before."""
    key = sender.strip().lower()
    if not key:
        return False
    if ticket.customer_id is not None:
        return key in {a.lower() for a in rows.addresses_of(conn, ticket.customer_id)}
    return key in rows.incoming_senders(conn, ticket.id)


def _customer_for(conn, sender: str, notes: list[str]):
    if not sender:
        return None
    hits = rows.customers_by_address(conn, sender)
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        notes.append(NOTE_SEVERAL_CUSTOMERS.format(numbers=", ".join(h.number for h in hits)))
    return None


def _open_new(conn, actor: AgentRef, parsed: mail_parse.ParsedMail, customer, *, now: dt.datetime):
    subject = UNREADABLE_SUBJECT if parsed.unreadable else (parsed.subject.strip() or NO_SUBJECT)
    return rows.open_ticket_state(
        conn, actor, queue=Queue.SUPPORT, subject=subject, body=parsed.text[:MAX_TICKET_BODY],
        customer_id=customer.id if customer else None,
        priority=Priority.LOW if parsed.is_auto else Priority.NORMAL, now=now,
    )


def _within_reopen_window(conn, ticket, *, now: dt.datetime, policy: Policy) -> tuple[bool, dt.datetime]:
    resolved = rows.resolved_since(conn, ticket.id) or ticket.updated_at
    return now - resolved <= dt.timedelta(days=policy.mail_reopen_days), resolved


def _orm_session(session_or_conn):
    """An ORM session in the caller's transaction, for the rare paths that need the ORM
    services (a bounce marks the outbox mail): the caller's own, or one joined to its
    connection (nothing is committed by it)."""
    if hasattr(session_or_conn, "flush"):
        return session_or_conn
    from sqlmodel import Session

    return Session(bind=session_or_conn, expire_on_commit=False)


def handle_bounce(
    session, actor: AgentRef, original_message_id: str, *, reason: str, now: dt.datetime
) -> int | None:
    """Record that the desk's mail ``original_message_id`` bounced: the outbox mail becomes
    failed with the reason, and its ticket gets a system event naming it (both audited). Returns that ticket's number, or None when the desk
    holds no ticket for the message."""
    from . import mail
    from .errors import NotFound

    orm = _orm_session(session)
    try:  # the outbox mail itself is failed now (docs/rules.md#mail-bounce)
        mail.mark_bounced(orm, original_message_id, reason or "", now=now, actor=actor)
    except NotFound:  # not a mail of the outbox (an older desk, another system's mail)
        pass
    finally:
        if orm is not session:
            orm.flush()
    conn = rows.conn_of(session)
    ticket_id = rows.ticket_of_message(conn, original_message_id)
    if ticket_id is None:
        return None
    text = EVENT_BOUNCE.format(message_id=original_message_id, reason=f": {reason}" if reason else "")
    rows.add_system_event(conn, actor, ticket_id, kind=EventKind.MAIL, text=text, now=now, action="mail.bounce")
    return rows.ticket_number(conn, ticket_id)


def parse(raw: bytes, policy: Policy) -> mail_parse.ParsedMail:
    """The message as ``receive`` reads it (no database: a caller may parse before it
    opens the transaction, and pass the result as ``parsed``)."""
    return mail_parse.parse(raw, recipients_kept=policy.mail_recipients_kept)


def receive(session, actor: AgentRef, raw: bytes, *, now: dt.datetime, policy: Policy,
            parsed: mail_parse.ParsedMail | None = None) -> ReceiveResult:
    """Store one incoming message (see the module doc); the caller's transaction is the unit.
    ``session`` is an ORM session or a Core ``Connection`` (``deskapp mail receive``
    passes a connection and never imports the ORM).

    A concurrent delivery of the same Message-ID makes the insert fail on the unique index;
    the caller retries in a new transaction, which then finds the duplicate. ``parsed``:
    ``parse(raw, policy)`` when the caller read it already."""
    if parsed is None:
        parsed = parse(raw, policy)
    conn = rows.conn_of(session)
    if parsed.message_id is not None:
        known = rows.ticket_of_message(conn, parsed.message_id)
        if known is not None:
            return ReceiveResult(
                status=DUPLICATE, ticket_id=known, ticket_number=rows.ticket_number(conn, known),
                ticket=TICKET_UNCHANGED, message_id=parsed.message_id, automatic=parsed.is_auto,
                sender_is_customer=True, customer_number=None, unreadable=parsed.unreadable,
            )
    notes = list(parsed.notes)
    ticket = None if parsed.unreadable else _thread(conn, parsed, notes)
    state = TICKET_UNCHANGED
    follows = None
    sender_is_customer = True
    customer = None
    if ticket is not None:
        sender_is_customer = _sender_is_customer(conn, ticket, parsed.from_addr)
        if not parsed.is_auto and ticket.status == TicketStatus.RESOLVED:
            within, resolved = _within_reopen_window(conn, ticket, now=now, policy=policy)
            if not within:
                from ..formatting import date_de

                # Too late to reopen: a new ticket, linked both ways.
                old = ticket
                customer = _customer_for(conn, parsed.from_addr, notes)
                if customer is None and old.customer_id is not None and sender_is_customer:
                    customer = rows.customer_hit(conn, old.customer_id)
                ticket = _open_new(conn, actor, parsed, customer, now=now)
                follows = old.number
                state = TICKET_NEW
                sender_is_customer = True
                rows.add_system_event(
                    conn, actor, ticket.id, kind=EventKind.LINK, action="ticket.link",
                    text=EVENT_FOLLOW_UP_NEW.format(old=old.number, resolved=date_de(resolved)), now=now,
                )
                rows.add_system_event(
                    conn, actor, old.id, kind=EventKind.LINK, action="ticket.link",
                    text=EVENT_FOLLOW_UP_OLD.format(new=ticket.number), now=now,
                )
        if state == TICKET_UNCHANGED:
            if not parsed.is_auto and rows.reopen(conn, actor, ticket.id, now=now, reason=EVENT_REOPEN):
                state = TICKET_REOPENED
            else:
                rows.touch(conn, ticket.id, now=now)
            if not sender_is_customer and not parsed.is_auto:
                notes.append(NOTE_NOT_CUSTOMER)
                rows.add_system_event(
                    conn, actor, ticket.id, kind=EventKind.MAIL, action="mail.foreign_sender",
                    text=EVENT_NOT_CUSTOMER.format(sender=parsed.from_addr or "(unbekannt)"), now=now,
                )
    else:
        customer = _customer_for(conn, parsed.from_addr, notes)
        ticket = _open_new(conn, actor, parsed, customer, now=now)
        state = TICKET_NEW

    limit = policy.mail_attachment_max_mb * 1024 * 1024
    keep = parsed.attachments_size <= limit
    if not keep:
        notes.append(NOTE_ATTACHMENTS_DROPPED.format(
            size=f"{parsed.attachments_size / 1024 / 1024:.1f}".replace(".", ","), limit=policy.mail_attachment_max_mb,
        ))
    rows.record_message(
        conn, actor, ticket_id=ticket.id, direction=MailDirection.IN, message_id=parsed.message_id,
        from_addr=parsed.from_addr, from_name=parsed.from_name, to=parsed.to, cc=parsed.cc,
        subject=parsed.subject, text=parsed.text, in_reply_to=parsed.in_reply_to, references=parsed.references,
        sent_at=parsed.sent_at, is_auto=parsed.is_auto, auto_reason=parsed.auto_reason,
        bounce_of=parsed.bounce_of, sender_is_customer=sender_is_customer, unreadable=parsed.unreadable,
        notes=notes, raw=bytes(raw), attachments=[(a.filename, a.content_type, a.data) for a in parsed.attachments],
        keep_attachments=keep, now=now, number=ticket.number,
    )
    bounced = []
    for original in parsed.bounce_of:
        number = handle_bounce(session, actor, original, reason=parsed.bounce_reason, now=now)
        if number is not None:
            bounced.append(number)
    customer_number = None
    if ticket.customer_id is not None:
        customer_number = customer.number if customer is not None and customer.id == ticket.customer_id \
            else rows.customer_hit(conn, ticket.customer_id).number
    return ReceiveResult(
        status=STORED, ticket_id=ticket.id, ticket_number=ticket.number, ticket=state,
        message_id=parsed.message_id, automatic=parsed.is_auto, sender_is_customer=sender_is_customer,
        customer_number=customer_number, follows_ticket=follows, bounce_of=parsed.bounce_of,
        bounced_tickets=tuple(bounced), unreadable=parsed.unreadable,
    )


__all__ = ["ReceiveResult", "handle_bounce", "parse", "receive", "subject_tag"]
