"""Answering the customer from the ticket (docs/rules.md#mail-replies) and linking an
unknown sender to a customer (docs/rules.md#mail-sender).

``compose`` fills the composer — the agent's kept draft, or else the address, the tagged
``Re:`` subject and the quote of the message answered; ``send`` queues the reply through
the outbox (``journal``) with ``In-Reply-To``/``References`` of the message answered and sets
the ticket waiting unless the agent chose another status; ``save_draft``/``discard_draft``
keep the agent's unsent reply (``reply_draft``, one per ticket and agent). ``link_customer``
gives a ticket without customer its customer and keeps the sender's address on him.
Every change is audited, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from models.enums import EventKind, MailDirection, TicketStatus
from models.tables import Customer, MailMessage, OutgoingMail, ReplyDraft, Ticket, TicketEvent

from .. import texts
from ..formatting import datetime_de
from ..rules.mailheaders import has_line_break, line_break_refusal, references_after, tagged_subject
from ..rules.textcheck import email_key, email_problem
from . import audit, contacts, journal, tickets
from .errors import InvalidInput, NotFound, PermissionDenied
from .readmodels import AgentRef, may_work_queue
from .versioning import bump

MAX_SUBJECT = 255
MAX_BODY = 10_000

MSG_SYSTEM = "Der System-Agent schreibt keine Antworten."
MSG_QUEUE = "{login} darf die Queue {queue} nicht bearbeiten (#{number})."
MSG_NO_ADDRESS = "Bitte die E-Mail-Adresse des Empfängers angeben."
MSG_EMPTY_BODY = "Eine leere Antwort wird nicht gesendet."
MSG_LONG_BODY = "Die Antwort ist zu lang (höchstens 10.000 Zeichen)."
MSG_NOT_THIS_TICKET = "Die beantwortete Nachricht gehört nicht zu Ticket #{number}."
MSG_STATUS = "Unbekannter Status „{status}“."
MSG_HAS_CUSTOMER = "#{number} hat schon einen Kunden ({name})."
MSG_NO_CUSTOMER = "Kunde {customer_id} gibt es nicht."
EVENT_LINKED = "Kunde zugeordnet: {name} ({number}){address}"
EVENT_LINKED_ADDRESS = "; Adresse {address} beim Kunden gespeichert"
QUOTE_HEAD = "Am {when} schrieb {who}:"
WHAT_ADDRESS = "Die Empfängeradresse"

_RE = re.compile(r"^\s*((re|aw|antw|wg|fwd?)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class ReplyForm:
    """What the composer opens with."""

    ticket_id: int
    ticket_number: int
    to: str
    subject: str
    body: str
    answering_id: int | None  # the mail_message answered (its quote is in ``body``)
    status: str  # the ticket's status after sending ("" = waiting, the default)
    from_draft: bool
    has_customer: bool
    suggested: tuple[str, ...]  # addresses that fit (the sender, the customer's addresses)


@dataclass(frozen=True)
class ReplySent:
    ticket_number: int
    mail_id: int
    message_id: str
    to: str
    status: str  # the ticket's status now


# --------------------------------------------------------------------------- composing


def _ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"Ticket {ticket_id} gibt es nicht.")
    return ticket


def _require(actor: AgentRef, ticket: Ticket) -> None:
    if actor.is_system:
        raise PermissionDenied(MSG_SYSTEM)
    if not may_work_queue(actor, ticket.queue):
        from models.enums import Queue
        raise PermissionDenied(MSG_QUEUE.format(login=actor.login, queue=texts.QUEUE[Queue(ticket.queue)],
                                                number=ticket.number))


def _answered(session: Session, ticket: Ticket, answering_id: int | None) -> MailMessage | None:
    """The message answered: the one named, else the ticket's latest incoming mail written by
    a person (an auto-reply or bounce is not what an agent answers)."""
    if answering_id is not None:
        message = session.get(MailMessage, answering_id)
        if message is None or message.ticket_id != ticket.id:
            raise InvalidInput(MSG_NOT_THIS_TICKET.format(number=ticket.number))
        return message
    return session.execute(
        select(MailMessage).where(
            MailMessage.ticket_id == ticket.id, MailMessage.direction == MailDirection.IN,
            MailMessage.is_auto == False,  # noqa: E712
        ).order_by(MailMessage.created_at.desc(), MailMessage.id.desc()).limit(1)
    ).scalar()


def reply_subject(subject: str, number: int) -> str:
    """``Re: <subject>`` with the ticket's tag, once, whatever ``Re:``/``AW:`` it had."""
    bare = _RE.sub("", (subject or "").replace(f"[#{number}]", "")).strip()
    return tagged_subject(f"Re: {bare}" if bare else "Re:", number, MAX_SUBJECT)


def quote(message: MailMessage) -> str:
    """The answered message as ``> `` lines under a German attribution."""
    who = message.from_name or message.from_addr or "der Absender"
    when = datetime_de(message.sent_at or message.created_at)
    lines = [QUOTE_HEAD.format(when=when, who=who)]
    lines += [f"> {line}" if line else ">" for line in (message.text or "").rstrip().splitlines()]
    return "\n".join(lines)


def compose(session: Session, actor: AgentRef, ticket_id: int, *, answering_id: int | None = None) -> ReplyForm:
    """The composer's content: the agent's draft on this ticket if there is one, else a new
    reply to ``answering_id`` (or the latest mail of the customer)."""
    ticket = _ticket(session, ticket_id)
    customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    own = contacts.addresses_of(session, customer.id) if customer else ()
    draft = session.execute(
        select(ReplyDraft).where(ReplyDraft.ticket_id == ticket.id, ReplyDraft.agent_id == actor.id)
    ).scalar()
    answered = None if draft is not None else _answered(session, ticket, answering_id)
    suggested: list[str] = []
    if answered is not None and answered.direction == MailDirection.IN and answered.from_addr:
        if answered.sender_is_customer or customer is None:
            suggested.append(answered.from_addr)
    suggested += [a for a in own if email_key(a) not in {email_key(s) for s in suggested}]
    if draft is not None:
        return ReplyForm(ticket.id, ticket.number, draft.to_addr, draft.subject, draft.body, draft.answering_id,
                         draft.status, True, customer is not None, tuple(suggested))
    subject = reply_subject(answered.subject if answered is not None else ticket.subject, ticket.number)
    body = "\n\n" + quote(answered) if answered is not None and answered.text.strip() else ""
    to = suggested[0] if suggested else ""
    return ReplyForm(ticket.id, ticket.number, to, subject, body, answered.id if answered else None, "", False,
                     customer is not None, tuple(suggested))


# --------------------------------------------------------------------------- sending


def _check(to: str, subject: str, body: str, status: str) -> tuple[str, str, str, str]:
    to, subject, body = (to or "").strip(), (subject or "").strip(), (body or "").strip()
    if not to:
        raise InvalidInput(MSG_NO_ADDRESS, field="to")
    if has_line_break(to):
        raise InvalidInput(line_break_refusal(WHAT_ADDRESS), field="to")
    problem = email_problem(to)
    if problem:
        raise InvalidInput(problem, field="to")
    if has_line_break(subject):
        raise InvalidInput(line_break_refusal(journal.WHAT_SUBJECT), field="subject")
    if not subject or len(subject) > MAX_SUBJECT:
        raise InvalidInput(journal.MSG_SUBJECT, field="subject")
    if not body:
        raise InvalidInput(MSG_EMPTY_BODY, field="body")
    if len(body) > MAX_BODY:
        raise InvalidInput(MSG_LONG_BODY, field="body")
    status = status or TicketStatus.WAITING
    try:
        status = TicketStatus(status)
    except ValueError:
        raise InvalidInput(MSG_STATUS.format(status=status), field="status") from None
    return to, subject, body, status


def _thread(message: MailMessage | None) -> tuple[str | None, str | None]:
    """``In-Reply-To`` and ``References`` of a reply to ``message`` (stored without brackets)."""
    if message is None or not message.message_id:
        return None, None
    earlier = [f"<{m.strip('<>')}>" for m in (message.refs or "").split() if m.strip("<>")]
    own = f"<{message.message_id}>"
    return own, references_after([*earlier, own])


def send(
    session: Session, actor: AgentRef, ticket_id: int, *, to: str, subject: str, body: str,
    answering_id: int | None, status: str = "", now: dt.datetime,
) -> ReplySent:
    """Queue the reply in the outbox as part of the ticket's conversation, set the ticket's
    status (waiting unless ``status`` names another), drop the agent's draft; audited."""
    ticket = _ticket(session, ticket_id)
    _require(actor, ticket)
    to, subject, body, status = _check(to, subject, body, status)
    answered = _answered(session, ticket, answering_id) if answering_id is not None else None
    in_reply_to, references = _thread(answered)
    subject = tagged_subject(subject, ticket.number, MAX_SUBJECT)
    if ticket.customer_id is not None:
        logged = journal.log_message(
            session, customer_id=ticket.customer_id, kind="reply", subject=subject, body=body, now=now,
            actor=actor, ticket_id=ticket.id, in_reply_to=in_reply_to, references=references, to_addr=to,
        )
        mail_id = logged.mail_id
    else:
        mail_id = journal.queue_ticket_mail(
            session, actor, ticket_id=ticket.id, to_addr=to, subject=subject, body=body, now=now,
            in_reply_to=in_reply_to, references=references,
        )
    message_id = session.get(OutgoingMail, mail_id).message_id
    row = tickets.get_row(session, ticket.id)
    if row.status != status:
        row = tickets.set_status(session, actor, row, status=status, now=now)
    else:
        session.execute(update(Ticket).where(Ticket.id == ticket.id).values(updated_at=now))
    session.execute(delete(ReplyDraft).where(ReplyDraft.ticket_id == ticket.id, ReplyDraft.agent_id == actor.id))
    audit.record(session, actor, "ticket.reply", "ticket", ticket.number,
                 new={"to": to, "subject": subject, "message_id": message_id, "in_reply_to": in_reply_to,
                      "status": row.status}, now=now)
    return ReplySent(ticket.number, mail_id, message_id, to, row.status)


# --------------------------------------------------------------------------- drafts


def save_draft(
    session: Session, actor: AgentRef, ticket_id: int, *, to: str, subject: str, body: str,
    answering_id: int | None, status: str = "", now: dt.datetime,
) -> bool:
    """Keep the agent's unsent reply (replacing an earlier draft); an empty body and an
    untouched form keep nothing (and remove an old draft). True when a draft is kept."""
    ticket = _ticket(session, ticket_id)
    if actor.is_system:
        raise PermissionDenied(MSG_SYSTEM)
    existing = session.execute(
        select(ReplyDraft).where(ReplyDraft.ticket_id == ticket.id, ReplyDraft.agent_id == actor.id)
    ).scalar()
    if not (body or "").strip():
        if existing is not None:
            discard_draft(session, actor, ticket_id, now=now)
        return False
    if existing is None:
        existing = ReplyDraft(ticket_id=ticket.id, agent_id=actor.id)
        session.add(existing)
    existing.to_addr = (to or "")[:255]
    existing.subject = (subject or "")[:MAX_SUBJECT]
    existing.body = (body or "")[:MAX_BODY * 2]
    existing.answering_id = answering_id
    existing.status = status or ""
    existing.updated_at = now
    session.flush()
    audit.record(session, actor, "reply.draft", "ticket", ticket.number,
                 new={"to": existing.to_addr, "subject": existing.subject, "chars": len(existing.body)}, now=now)
    return True


def discard_draft(session: Session, actor: AgentRef, ticket_id: int, *, now: dt.datetime) -> bool:
    ticket = _ticket(session, ticket_id)
    gone = session.execute(
        delete(ReplyDraft).where(ReplyDraft.ticket_id == ticket.id, ReplyDraft.agent_id == actor.id)
    ).rowcount
    if gone:
        audit.record(session, actor, "reply.draft_discard", "ticket", ticket.number, new=None, now=now)
    return bool(gone)


def has_draft(session: Session, actor: AgentRef, ticket_id: int) -> bool:
    return bool(session.execute(
        select(func.count(ReplyDraft.id)).where(ReplyDraft.ticket_id == ticket_id, ReplyDraft.agent_id == actor.id)
    ).scalar_one())


# --------------------------------------------------------------------------- linking


def sender_address(session: Session, ticket_id: int) -> str:
    """The address of the ticket's first incoming mail written by a person ('' if none)."""
    return session.execute(
        select(MailMessage.from_addr).where(
            MailMessage.ticket_id == ticket_id, MailMessage.direction == MailDirection.IN,
            MailMessage.is_auto == False, MailMessage.from_addr != "",  # noqa: E712
        ).order_by(MailMessage.created_at, MailMessage.id).limit(1)
    ).scalar() or ""


def link_customer(
    session: Session, actor: AgentRef, ticket_id: int, *, customer_id: uuid.UUID, now: dt.datetime,
    keep_address: bool = True,
) -> tickets.TicketRow:
    """Give a ticket without customer its customer (docs/rules.md#mail-sender); the sender's
    address joins the customer's contact addresses (so the next mail finds him), and the
    messages from it on this ticket count as the customer's. Audited."""
    ticket = _ticket(session, ticket_id)
    _require(actor, ticket)
    row = tickets.get_row(session, ticket.id)
    if row.customer_id is not None:
        raise InvalidInput(MSG_HAS_CUSTOMER.format(number=row.number, name=row.customer_name or row.customer_id))
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(MSG_NO_CUSTOMER.format(customer_id=customer_id))
    if not bump(session, Ticket, row.id, row.version, Ticket.customer_id.is_(None), customer_id=customer.id,
                updated_at=now):
        current = tickets.get_row(session, row.id)
        raise InvalidInput(MSG_HAS_CUSTOMER.format(number=current.number, name=current.customer_name))
    address = sender_address(session, ticket.id) if keep_address else ""
    added = ""
    if address:
        known = contacts.addresses_of(session, customer.id)
        if email_key(address) not in {email_key(a) for a in known}:
            contacts.set_addresses(session, customer.id, [*known, address])
            added = address
        session.execute(
            update(MailMessage).where(
                MailMessage.ticket_id == ticket.id, func.lower(MailMessage.from_addr) == email_key(address),
            ).values(sender_is_customer=True).execution_options(synchronize_session=False)
        )
    text = EVENT_LINKED.format(name=customer.name, number=customer.number,
                               address=EVENT_LINKED_ADDRESS.format(address=added) if added else "")
    session.add(TicketEvent(ticket_id=ticket.id, agent_id=actor.id, kind=EventKind.LINK, text=text, created_at=now))
    audit.record(session, actor, "ticket.customer", "ticket", row.number, old={"customer_id": None},
                 new={"customer_id": customer.id, "address_added": added or None}, now=now)
    return tickets.get_row(session, ticket.id)


__all__ = [
    "ReplyForm", "ReplySent", "compose", "discard_draft", "has_draft", "link_customer", "quote", "reply_subject",
    "save_draft", "send", "sender_address",
]
