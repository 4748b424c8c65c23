"""What is written down about a customer: the customer file (Kundenakte) and the message
log (Nachrichtenlog) of everything sent to the customer, with its outgoing e-mail."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from models.enums import MailDirection, MailStatus
from models.tables import Customer, CustomerFileEntry, MailMessage, MessageLogEntry, OutgoingMail, Ticket

from ..rules.mailheaders import (
    has_line_break,
    line_break_refusal,
    message_id_key,
    message_ids,
    new_message_id,
    references_after,
    tagged_subject,
)
from . import audit, mail_config
from .customers import MSG_NO_CUSTOMER
from .errors import InvalidInput, NotFound, PermissionDenied
from .readmodels import AgentRef

MAX_TEXT = 10_000
MAX_SUBJECT = 255
MAX_KIND = 32

# User-facing text (German).
FILE_ENTRY_TITLE = "Kundenakte"
MSG_EMPTY_ENTRY = "Ein leerer Eintrag wird nicht in die Kundenakte geschrieben."
MSG_LONG_ENTRY = "Der Eintrag ist zu lang (höchstens 10.000 Zeichen)."
MSG_SYSTEM_FILE = "Der System-Agent schreibt nicht in die Kundenakte."
MSG_SUBJECT = "Eine Nachricht braucht einen Betreff (höchstens 255 Zeichen)."
MSG_BODY = "Eine Nachricht braucht einen Text (höchstens 10.000 Zeichen)."
MSG_KIND = "Unbekannte Nachrichtenart."
MSG_NO_TICKET = "Ticket {ticket_id} gibt es nicht."
MSG_BAD_THREAD = "{what} muss aus Message-IDs der Form <…@…> bestehen."
MSG_NO_ADDRESS = "Eine E-Mail braucht eine Empfängeradresse."
WHAT_SUBJECT = "Der Betreff"
WHAT_ADDRESS = "Die E-Mail-Adresse des Kunden"
WHAT_IN_REPLY_TO = "In-Reply-To"
WHAT_REFERENCES = "References"


@dataclass(frozen=True)
class LogEntryView:
    created_at: dt.datetime
    title: str
    text: str
    author: str = ""


@dataclass(frozen=True)
class MessageLogged:
    """A message-log entry and, if one was queued, its e-mail."""

    id: int
    customer_id: uuid.UUID
    kind: str
    subject: str
    body: str
    created_at: dt.datetime
    mail_id: int | None  # None: no mail queued (not asked for, or no address on file)
    to_addr: str


def _customer(session: Session, customer_id: uuid.UUID) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(MSG_NO_CUSTOMER.format(customer_id=customer_id))
    return customer


def add_file_entry(
    session: Session, actor: AgentRef, *, customer_id: uuid.UUID, text: str, now: dt.datetime
) -> LogEntryView:
    """A dated entry in the customer file."""
    if actor.is_system:
        raise PermissionDenied(MSG_SYSTEM_FILE)
    body = (text or "").strip()
    if not body:
        raise InvalidInput(MSG_EMPTY_ENTRY)
    if len(body) > MAX_TEXT:
        raise InvalidInput(MSG_LONG_ENTRY)
    _customer(session, customer_id)
    entry = CustomerFileEntry(customer_id=customer_id, agent_id=actor.id, text=body, created_at=now)
    session.add(entry)
    session.flush()
    audit.record(
        session, actor, "customer_file.add", "customer_file_entry", entry.id,
        new={"customer_id": customer_id, "text": body}, now=now,
    )
    return LogEntryView(created_at=now, title=FILE_ENTRY_TITLE, text=body, author=actor.login)



def _checked_mail(subject, body, in_reply_to, references):
    """Subject and text of a message to the customer, trimmed and checked, and its threading
    headers (In-Reply-To, References); ``InvalidInput`` for an empty or too long subject or
    text, or a line break in a header value (docs/rules.md#mail-replies)."""
    subject = (subject or "").strip()
    if not subject or len(subject) > MAX_SUBJECT:
        raise InvalidInput(MSG_SUBJECT)
    body = (body or "").strip()
    if not body or len(body) > MAX_TEXT:
        raise InvalidInput(MSG_BODY)
    if has_line_break(subject):
        raise InvalidInput(line_break_refusal(WHAT_SUBJECT))
    thread = _thread_header(in_reply_to, WHAT_IN_REPLY_TO, single=True), _thread_header(references, WHAT_REFERENCES)
    return subject, body, thread

def log_message(
    session: Session,
    *,
    customer_id: uuid.UUID,
    kind: str,
    subject: str,
    body: str,
    now: dt.datetime,
    actor: AgentRef,
    queue_mail: bool = True,
    ticket_id: int | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    to_addr: str | None = None,
) -> MessageLogged:
    """Record a message to the customer and queue it as e-mail to the customer's address.

    The message log is the record of what the customer was told; the mail job sends the
    queued mail later. A customer without an address gets the log entry only.

    The mail gets its Message-ID now, once (docs/rules.md#mail-delivery). A mail about a
    ticket (``ticket_id``) carries the ticket's tag in its subject and continues the
    ticket's thread: without an explicit ``in_reply_to`` it answers the ticket's latest
    mail, and ``references`` lists the thread (docs/rules.md#mail-threading). A line break
    in any header value is refused (docs/rules.md#mail-replies). ``to_addr`` sends to another
    address than the customer's first one (a reply to the address the customer wrote from).
    """
    kind = (kind or "").strip()
    if not kind or len(kind) > MAX_KIND:
        raise InvalidInput(MSG_KIND)
    subject, body, thread = _checked_mail(subject, body, in_reply_to, references)
    customer = _customer(session, customer_id)
    ticket = None
    if ticket_id is not None:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(MSG_NO_TICKET.format(ticket_id=ticket_id))
    entry = MessageLogEntry(customer_id=customer_id, kind=kind, subject=subject, body=body, created_at=now)
    session.add(entry)
    session.flush()
    audit.record(
        session, actor, "message.log", "message_log", entry.id,
        new={"customer_id": customer_id, "kind": kind, "subject": subject}, now=now,
    )
    mail_id = None
    to_addr = (customer.email if to_addr is None else to_addr).strip()
    if queue_mail and to_addr:
        mail = _queue(
            session, actor, customer_id=customer_id, message_log_id=entry.id, ticket=ticket, to_addr=to_addr,
            subject=subject, body=body, thread=thread, now=now,
        )
        mail_id = mail.id
    return MessageLogged(
        id=entry.id,
        customer_id=customer_id,
        kind=kind,
        subject=subject,
        body=body,
        created_at=now,
        mail_id=mail_id,
        to_addr=to_addr if mail_id is not None else "",
    )


def _queue(
    session: Session, actor: AgentRef, *, customer_id: uuid.UUID | None, message_log_id: int | None,
    ticket: Ticket | None, to_addr: str, subject: str, body: str, thread: tuple[str | None, str | None],
    now: dt.datetime,
) -> OutgoingMail:
    """Queue one mail (audited); a mail about a ticket carries its tag and joins its thread."""
    if has_line_break(to_addr):
        raise InvalidInput(line_break_refusal(WHAT_ADDRESS))
    mail_subject = subject
    in_reply, refs = thread
    if ticket is not None:
        mail_subject = tagged_subject(subject, ticket.number, MAX_SUBJECT)
        if in_reply is None:
            earlier = list(session.execute(
                select(OutgoingMail.message_id).where(OutgoingMail.ticket_id == ticket.id)
                .order_by(OutgoingMail.id)
            ).scalars())
            if earlier:
                in_reply, refs = earlier[-1], refs or references_after(earlier)
    if in_reply is not None and refs is None:
        refs = in_reply
    mail = OutgoingMail(
        message_id=new_message_id(mail_config.sender_domain()),
        customer_id=customer_id,
        message_log_id=message_log_id,
        ticket_id=ticket.id if ticket is not None else None,
        in_reply_to=in_reply,
        references=refs,
        to_addr=to_addr,
        subject=mail_subject,
        body=body,
        status=MailStatus.QUEUED,
        created_at=now,
    )
    session.add(mail)
    session.flush()
    if ticket is not None:
        # The mail is part of the ticket's conversation, so the customer's answer threads
        # by In-Reply-To/References (docs/rules.md#mail-threading) and the ticket shows it.
        session.add(MailMessage(
            ticket_id=ticket.id, direction=MailDirection.OUT, message_id=message_id_key(mail.message_id),
            in_reply_to=" ".join(message_ids(in_reply or "")), refs=" ".join(message_ids(refs or "")),
            from_addr=mail_config.sender_address(),
            to_addrs=to_addr, subject=mail_subject, text=body, created_at=now,
        ))
    audit.record(
        session, actor, "mail.queue", "outgoing_mail", mail.id,
        new={"to": to_addr, "subject": mail_subject, "message_log_id": message_log_id,
             "message_id": mail.message_id, "ticket_id": mail.ticket_id}, now=now,
    )
    return mail


def queue_ticket_mail(
    session: Session,
    actor: AgentRef,
    *,
    ticket_id: int,
    to_addr: str,
    subject: str,
    body: str,
    now: dt.datetime,
    in_reply_to: str | None = None,
    references: str | None = None,
) -> int:
    """A mail about a ticket that has no customer (an unknown sender is answered): no
    message-log entry (that belongs to a customer), only the outbox mail in the ticket's
    conversation, with the same checks as ``log_message``. Returns the outbox mail's id."""
    subject, body, thread = _checked_mail(subject, body, in_reply_to, references)
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(MSG_NO_TICKET.format(ticket_id=ticket_id))
    to_addr = (to_addr or "").strip()
    if not to_addr:
        raise InvalidInput(MSG_NO_ADDRESS)
    mail = _queue(session, actor, customer_id=None, message_log_id=None, ticket=ticket, to_addr=to_addr,
                  subject=subject, body=body, thread=thread, now=now)
    return mail.id


def _thread_header(value: str | None, what: str, *, single: bool = False) -> str | None:
    """A threading header as given (None if empty); refused if it is not Message-IDs only."""
    if value is None or not value.strip():
        return None
    if has_line_break(value):
        raise InvalidInput(line_break_refusal(what))
    ids = message_ids(value)
    if not ids or " ".join(ids) != " ".join(value.split()) or (single and len(ids) != 1):
        raise InvalidInput(MSG_BAD_THREAD.format(what=what))
    return " ".join(ids)


__all__ = ["LogEntryView", "MessageLogged", "add_file_entry", "log_message", "queue_ticket_mail"]
