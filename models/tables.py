"""The desk's tables (all of docs/rules.md, not only the inbox).

Conventions: money is ``Money`` (Decimal EUR, whole cents stored), durations are whole
minutes (``*_minutes``), timestamps are ``UTCDateTime`` (aware UTC), calendar days are
``date``. Rows that agents edit concurrently carry ``version`` for optimistic locking.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Optional

from sqlalchemy import Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from .types import Money, UTCDateTime


# The predicate of the partial index ix_ticket_flagged (migration 0003).
FLAGGED_WHERE = "flags <> ''"


def _ts(**kw):
    return Field(sa_type=UTCDateTime, **kw)


class DeskMeta(SQLModel, table=True):
    """Key/value facts about the database itself (e.g. ``demo`` = ``1``)."""

    __tablename__ = "desk_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)


class Counter(SQLModel, table=True):
    """Named gap-free sequences (ticket numbers, process numbers per year)."""

    __tablename__ = "counter"
    name: str = Field(primary_key=True, max_length=64)
    value: int = 0


class Agent(SQLModel, table=True):
    __tablename__ = "agent"
    id: Optional[int] = Field(default=None, primary_key=True)
    login: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=128)
    email: str = Field(default="", max_length=255)
    roles: str = Field(default="", max_length=255)  # space-separated Role codes
    active: bool = True


class Absence(SQLModel, table=True):
    __tablename__ = "absence"
    id: Optional[int] = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    first_day: dt.date
    last_day: dt.date
    reason: str = Field(default="vacation", max_length=32)  # sick | vacation | other
    note: str = Field(default="", max_length=255)


class PolicySetting(SQLModel, table=True):
    """Overrides of the policy defaults in ``deskapp.settings``; absent key = default."""

    __tablename__ = "policy_setting"
    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=255, index=True)
    email: str = Field(default="", max_length=255)
    phone: str = Field(default="", max_length=64)
    credit_limit: Decimal = Field(sa_type=Money)
    created_at: dt.datetime = _ts()
    version: int = 1


class CustomerEmail(SQLModel, table=True):
    """Migration 0005: a customer's contact e-mail addresses, in the billing system's order.

    ``address`` is kept as given (exports give it back unchanged); ``address_key`` is its
    lower-cased form, which incoming mail is matched on. ``Customer.email`` mirrors the
    first address (position 0) for the readers that show one address.
    """

    __tablename__ = "customer_email"
    __table_args__ = (
        UniqueConstraint("customer_id", "address_key"),
        Index("ix_customer_email_key", "address_key"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    position: int = 0
    address: str = Field(max_length=255)
    address_key: str = Field(max_length=255)


class CreditLimitChange(SQLModel, table=True):
    __tablename__ = "credit_limit_change"
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    old_limit: Decimal = Field(sa_type=Money)
    new_limit: Decimal = Field(sa_type=Money)
    reason: str = Field(sa_type=Text)
    agent_id: int = Field(foreign_key="agent.id")
    created_at: dt.datetime = _ts()


class Order(SQLModel, table=True):
    """A real-time order (e.g. a domain registration)."""

    __tablename__ = "order_"
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    item: str = Field(max_length=255)
    amount: Decimal = Field(sa_type=Money)
    status: str = Field(max_length=16)  # OrderStatus
    process_number: Optional[str] = Field(default=None, max_length=32, unique=True)
    placed_by_id: int = Field(foreign_key="agent.id")
    error: str = Field(default="", sa_type=Text)
    created_at: dt.datetime = _ts()
    decided_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    settled_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    version: int = 1
    # Migration 0006: the shop's order reference (one order per reference: ``deskapp order
    # --ref``; NULL for orders from the desk) and when the order last went to the registry
    # as ``pending`` (``orders recover`` resolves those left pending too long).
    shop_ref: Optional[str] = Field(default=None, max_length=64)
    attempted_at: Optional[dt.datetime] = _ts(default=None, nullable=True)

    __table_args__ = (Index("ux_order_shop_ref", "shop_ref", unique=True),)


class HourPackage(SQLModel, table=True):
    __tablename__ = "hour_package"
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    label: str = Field(default="", max_length=128)
    minutes: int
    price: Decimal = Field(sa_type=Money)
    purchased_on: dt.date
    valid_until: dt.date
    created_at: dt.datetime = _ts()
    version: int = 1
    # Migration 0005: the shop's booking reference; one package per reference (idempotent
    # shop bookings). NULL for packages booked by hand.
    shop_ref: Optional[str] = Field(default=None, max_length=64)

    __table_args__ = (Index("ux_hour_package_shop_ref", "shop_ref", unique=True),)


class Task(SQLModel, table=True):
    __tablename__ = "task"
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    title: str = Field(max_length=255)
    estimate_minutes: int = 0
    deadline: Optional[dt.date] = None
    status: str = Field(default="open", max_length=16)  # TaskStatus
    created_at: dt.datetime = _ts()
    version: int = 1


class TimeEntry(SQLModel, table=True):
    __tablename__ = "time_entry"
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    package_id: Optional[int] = Field(default=None, foreign_key="hour_package.id", index=True)
    ticket_id: Optional[int] = Field(default=None, foreign_key="ticket.id")
    task_id: Optional[int] = Field(default=None, foreign_key="task.id")
    agent_id: int = Field(foreign_key="agent.id")
    minutes: int
    note: str = Field(default="", max_length=255)
    created_at: dt.datetime = _ts()


class ExtensionRequest(SQLModel, table=True):
    __tablename__ = "extension_request"
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    package_ids: str = Field(max_length=255)  # space-separated HourPackage ids
    task_id: Optional[int] = Field(default=None, foreign_key="task.id")
    months: int
    old_valid_until: dt.date
    new_valid_until: dt.date
    remaining_minutes: int
    rebooking_needed: bool = False
    rebooked_package_id: Optional[int] = Field(default=None, foreign_key="hour_package.id")
    requested_by_id: int = Field(foreign_key="agent.id")
    addressee_id: Optional[int] = Field(default=None, foreign_key="agent.id")
    status: str = Field(default="waiting", max_length=16)  # ExtensionStatus
    message: str = Field(default="", sa_type=Text)
    reason: str = Field(default="", sa_type=Text)
    decided_by_id: Optional[int] = Field(default=None, foreign_key="agent.id")
    created_at: dt.datetime = _ts()
    decided_at: Optional[dt.datetime] = _ts(default=None, nullable=True)
    version: int = 1


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        # The inbox: one queue, newest first within priority, id breaks ties (keyset); the
        # status last, so the active tickets are picked in the index (migration 0013).
        Index("ix_ticket_inbox", "queue", "priority", "created_at", "id", "status"),
        Index("ix_ticket_assignee", "assignee_id", "priority", "created_at", "id"),
        Index("ix_ticket_all", "priority", "created_at", "id"),
        Index("ix_ticket_updated", "updated_at"),
        Index("ix_ticket_customer", "customer_id", "status"),
        # Migration 0003: the sidebar counts (index-only over the active tickets) and the
        # flagged view (a partial index of tickets with any flag; see _flag_clause).
        Index("ix_ticket_status_queue", "status", "queue"),
        Index("ix_ticket_status_assignee", "status", "assignee_id"),
        Index("ix_ticket_extension_request", "extension_request_id", "status"),
        # Migration 0011: held orders by age, for the filter "überfällig".
        Index("ix_ticket_kind", "kind", "created_at"),
        # Partial on both databases; PostgreSQL's predicate is added by with_postgresql_options.
        Index(
            "ix_ticket_flagged", "priority", "created_at", "id", "status", "flags",
            sqlite_where=text(FLAGGED_WHERE),
        ),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    number: int = Field(unique=True)
    queue: str = Field(max_length=16)  # Queue
    kind: str = Field(default="general", max_length=32)  # TicketKind
    status: str = Field(default="new", max_length=16)  # TicketStatus
    priority: int = 2  # Priority
    customer_id: Optional[uuid.UUID] = Field(default=None, foreign_key="customer.id")
    subject: str = Field(max_length=255)
    body: str = Field(default="", sa_type=Text)
    assignee_id: Optional[int] = Field(default=None, foreign_key="agent.id")
    flags: str = Field(default="", max_length=255)  # space-separated flag codes
    order_id: Optional[int] = Field(default=None, foreign_key="order_.id")
    extension_request_id: Optional[int] = Field(default=None, foreign_key="extension_request.id")
    task_id: Optional[int] = Field(default=None, foreign_key="task.id")
    created_at: dt.datetime = _ts()
    updated_at: dt.datetime = _ts()
    version: int = 1


class TicketEvent(SQLModel, table=True):
    """A ticket's history: creation, notes, status changes, claims, assignments."""

    __tablename__ = "ticket_event"
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    agent_id: Optional[int] = Field(default=None, foreign_key="agent.id")
    kind: str = Field(max_length=16)  # EventKind
    text: str = Field(default="", sa_type=Text)
    old: str = Field(default="", max_length=255)
    new: str = Field(default="", max_length=255)
    created_at: dt.datetime = _ts()


class SavedView(SQLModel, table=True):
    """Migration 0010: an agent's named filter (docs/rules.md#saved-views).

    ``query`` is the filter in the language of the ``/`` line (deskapp/rules/filterlang.py).
    """

    __tablename__ = "saved_view"
    __table_args__ = (UniqueConstraint("agent_id", "name", name="uq_saved_view_agent_name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id")
    name: str = Field(max_length=60)
    query: str = Field(sa_type=Text)
    created_at: dt.datetime = _ts()
    updated_at: dt.datetime = _ts()
    version: int = 1


class CustomerFileEntry(SQLModel, table=True):
    """Kundenakte: dated free-text entries."""

    __tablename__ = "customer_file_entry"
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    agent_id: Optional[int] = Field(default=None, foreign_key="agent.id")
    text: str = Field(sa_type=Text)
    created_at: dt.datetime = _ts()


class MessageLogEntry(SQLModel, table=True):
    """Nachrichtenlog: every message sent to the customer."""

    __tablename__ = "message_log"
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    kind: str = Field(max_length=32)  # reminder_6 | order_held | extension_approved | ...
    subject: str = Field(max_length=255)
    body: str = Field(default="", sa_type=Text)
    created_at: dt.datetime = _ts()


class OutgoingMail(SQLModel, table=True):
    """One mail to a customer. ``message_id`` is fixed when it is queued and sent unchanged
    on every attempt (with ``created_at`` as its Date), so copies collapse at the recipient."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (
        Index("ux_outgoing_mail_message_id", "message_id", unique=True),
        Index("ix_outgoing_mail_ticket", "ticket_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=255)  # "<…@desk domain>", with the angle brackets
    ticket_id: Optional[int] = Field(default=None, foreign_key="ticket.id")  # the conversation it belongs to
    in_reply_to: Optional[str] = Field(default=None, sa_type=Text)  # one Message-ID
    references: Optional[str] = Field(default=None, sa_type=Text)  # Message-IDs, space-separated
    customer_id: Optional[uuid.UUID] = Field(default=None, foreign_key="customer.id")
    message_log_id: Optional[int] = Field(default=None, foreign_key="message_log.id")
    to_addr: str = Field(max_length=255)
    subject: str = Field(max_length=255)
    body: str = Field(sa_type=Text)
    status: str = Field(default="queued", max_length=16, index=True)  # MailStatus
    attempts: int = 0
    last_error: str = Field(default="", sa_type=Text)
    smtp_reply: str = Field(default="", sa_type=Text)  # the server's last answer to this mail, as given
    uncertain_count: int = 0  # attempts whose outcome stayed unknown (the recipient may hold copies)
    created_at: dt.datetime = _ts()
    # sending/uncertain: the moment of the (last) attempt; sent: when the server accepted it
    sent_at: Optional[dt.datetime] = _ts(default=None, nullable=True)


class MailRaw(SQLModel, table=True):
    """Migration 0008: an incoming message exactly as the mail server handed it over.

    Kept always (docs/rules.md#mail-content), in the database so that the message, its
    ticket and its raw bytes are stored in one transaction (BLOB on SQLite, bytea on
    PostgreSQL).
    """

    __tablename__ = "mail_raw"
    id: Optional[int] = Field(default=None, primary_key=True)
    data: bytes = Field(sa_type=LargeBinary)
    size: int
    received_at: dt.datetime = _ts()


class MailMessage(SQLModel, table=True):
    """Migration 0008: one message of a ticket's conversation (docs/rules.md#mail-conversation).

    ``direction`` is ``in`` (from the customer) or ``out`` (from the desk). ``message_id``
    is the Message-ID without angle brackets, unique (the same message delivered twice is
    stored once); NULL when the message had none or could not be read. ``text`` is the
    plain text shown (HTML-only mail converted). ``sender_is_customer`` is false when the
    sender is neither an address of the ticket's customer nor its original requester
    (docs/rules.md#mail-sender). ``notes`` are German remarks for the agent (list
    shortened, attachments not kept, …), one per line.
    """

    __tablename__ = "mail_message"
    __table_args__ = (
        Index("ux_mail_message_message_id", "message_id", unique=True),
        Index("ix_mail_message_ticket", "ticket_id", "created_at", "id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    direction: str = Field(max_length=8)  # MailDirection
    message_id: Optional[str] = Field(default=None, max_length=255)
    in_reply_to: str = Field(default="", sa_type=Text)
    refs: str = Field(default="", sa_type=Text)  # the References header: space-separated Message-IDs
    from_addr: str = Field(default="", max_length=255)
    from_name: str = Field(default="", max_length=255)
    to_addrs: str = Field(default="", sa_type=Text)
    cc_addrs: str = Field(default="", sa_type=Text)
    subject: str = Field(default="", sa_type=Text)
    text: str = Field(default="", sa_type=Text)
    sent_at: Optional[dt.datetime] = _ts(default=None, nullable=True)  # the Date header
    is_auto: bool = False
    auto_reason: str = Field(default="", max_length=32)
    bounce_of: str = Field(default="", sa_type=Text)  # Message-IDs a delivery report names
    sender_is_customer: bool = True
    unreadable: bool = False
    notes: str = Field(default="", sa_type=Text)
    raw_id: Optional[int] = Field(default=None, foreign_key="mail_raw.id")
    created_at: dt.datetime = _ts()


class MailAttachment(SQLModel, table=True):
    """Migration 0008: an attachment of a message; ``data`` is NULL when it was not kept
    (the message was over the size limit, docs/rules.md#mail-content)."""

    __tablename__ = "mail_attachment"
    id: Optional[int] = Field(default=None, primary_key=True)
    mail_message_id: int = Field(foreign_key="mail_message.id", index=True)
    position: int = 0
    filename: str = Field(default="", max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    size: int = 0
    data: Optional[bytes] = Field(default=None, sa_type=LargeBinary, nullable=True)


class ReplyDraft(SQLModel, table=True):
    """Migration 0012: an agent's unsent reply on a ticket (docs/rules.md#mail-replies), one
    per ticket and agent; kept when the composer is left with esc, removed when sent."""

    __tablename__ = "reply_draft"
    __table_args__ = (UniqueConstraint("ticket_id", "agent_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    agent_id: int = Field(foreign_key="agent.id")
    answering_id: Optional[int] = Field(default=None, foreign_key="mail_message.id")  # the message answered
    to_addr: str = Field(default="", max_length=255)
    subject: str = Field(default="", max_length=255)
    body: str = Field(default="", sa_type=Text)
    status: str = Field(default="", max_length=16)  # the status chosen for after sending ("" = waiting)
    updated_at: dt.datetime = _ts()


class ReminderSent(SQLModel, table=True):
    """One reminder per package and stage, ever (the unique key enforces it)."""

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("package_id", "stage_months"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    package_id: int = Field(foreign_key="hour_package.id")
    stage_months: int
    sent_on: dt.date
    message_log_id: Optional[int] = Field(default=None, foreign_key="message_log.id")


class AuditLog(SQLModel, table=True):
    """Append-only: who, when, what, old -> new. Never updated or deleted."""

    __tablename__ = "audit_log"
    id: Optional[int] = Field(default=None, primary_key=True)
    at: dt.datetime = _ts()
    agent_login: str = Field(max_length=64)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    old: str = Field(default="", sa_type=Text)
    new: str = Field(default="", sa_type=Text)


def with_postgresql_options() -> None:
    """Give the metadata what only PostgreSQL needs: the predicate of ix_ticket_flagged.

    Naming a dialect's option in a table's ``Index`` makes SQLAlchemy load that dialect to
    check it, and ``sqlalchemy.dialects.postgresql`` loads every PostgreSQL driver's dialect
    with it: 2.2 MB of a desk on SQLite that never uses them (issue 16, peak RSS). The
    schema itself comes from the migrations; the metadata's copy matters to Alembic's
    comparisons, which call this (models/migrations/env.py). Idempotent."""
    for index in Ticket.__table__.indexes:
        if index.name == "ix_ticket_flagged":
            index.dialect_kwargs["postgresql_where"] = text(FLAGGED_WHERE)


__all__ = [
    "Absence",
    "Agent",
    "AuditLog",
    "Counter",
    "CreditLimitChange",
    "Customer",
    "CustomerEmail",
    "CustomerFileEntry",
    "DeskMeta",
    "ExtensionRequest",
    "HourPackage",
    "MailAttachment",
    "MailMessage",
    "MailRaw",
    "MessageLogEntry",
    "Order",
    "OutgoingMail",
    "PolicySetting",
    "ReminderSent",
    "ReplyDraft",
    "Task",
    "Ticket",
    "TicketEvent",
    "TimeEntry",
]
