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
from typing import Sequence

from sqlalchemy import func, select
from sqlmodel import Session

from models.enums import MailDirection
from models.tables import MailMessage, Ticket, TicketEvent

from . import convrows
from ..rules.mailheaders import Attachment
from .convrows import (  # noqa: F401  (re-exported: callers use conversation.MessageView & co.)
    MSG_NO_ATTACHMENT,
    MSG_NOT_KEPT,
    AttachmentView,
    ConversationPage,
    EventView,
    MessageView,
)
from .corerows import (
    add_system_event, conn_of, incoming_senders, record_message, reopen, resolved_since, ticket_of_any,
    ticket_of_message, touch,
)
from .readmodels import AgentRef


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
    that number). The read is ``convrows.conversation`` (Core, shared with the command line)."""
    return convrows.conversation(conn_of(session), ticket_id, offset=offset, limit=limit)


def attachment(session: Session, ticket_id: int, index: int) -> Attachment:
    """Attachment number ``index`` (1-based, over the whole ticket) with its bytes;
    ``NotFound`` when there is none or it was not kept."""
    return convrows.attachment(conn_of(session), ticket_id, index)


__all__ = [
    "Attachment", "AttachmentView", "ConversationPage", "EventView", "MessageView", "add_system_event",
    "attachment", "conversation", "incoming_senders", "record_message", "record_outgoing", "reopen",
    "resolved_since", "ticket_of_any", "ticket_of_message", "touch",
]
