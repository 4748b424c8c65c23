"""Stored codes. The database keeps these short English codes; the UI translates them."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Queue(StrEnum):
    SUPPORT = "support"
    CONTRACT = "contract"  # Vertragsbearbeitung
    TECHNICAL = "technical"  # Technik
    ADMIN = "admin"  # Admin channel


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting"
    RESOLVED = "resolved"


class TicketKind(StrEnum):
    GENERAL = "general"
    HELD_ORDER = "held_order"
    REGISTRY_FAILURE = "registry_failure"
    EXTENSION_REQUEST = "extension_request"


class Priority(IntEnum):
    """Higher is more urgent, so every inbox index runs in one direction."""

    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4


class Role(StrEnum):
    SUPPORT = "support"
    CONTRACT = "contract"
    TECHNICIAN = "technician"
    APPROVER = "approver"
    DEPUTY = "deputy"
    ADMIN = "admin"
    SYSTEM = "system"


class OrderStatus(StrEnum):
    PENDING = "pending"  # committed, the registry is being asked (docs/rules.md#credit-limit)
    EXECUTED = "executed"
    HELD = "held"
    FAILED = "failed"
    REJECTED = "rejected"
    SETTLED = "settled"


class ExtensionStatus(StrEnum):
    WAITING = "waiting"
    APPROVED = "approved"
    REJECTED = "rejected"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DELETED = "deleted"  # soft delete: frees its block, kept for the time logged on it


class MailStatus(StrEnum):
    """What is known about an outbox mail (docs/rules.md#mail-delivery)."""

    QUEUED = "queued"  # waiting for a run (never tried, or a try that surely did not deliver)
    SENDING = "sending"  # claimed by one `deskapp mail send` run while it talks SMTP; no answer yet
    SENT = "sent"  # the server answered 250 to the end of DATA
    FAILED = "failed"  # refused for good (5xx), bounced, or given up after unknown outcomes
    UNCERTAIN = "uncertain"  # handed over, but no answer came: it may have arrived; sent again later


class EventKind(StrEnum):
    CREATED = "created"
    NOTE = "note"
    STATUS = "status"
    CLAIM = "claim"
    ASSIGN = "assign"
    FLAG = "flag"
    MAIL = "mail"  # a system event about the ticket's mail (a bounce, a sender that is not the customer)
    LINK = "link"  # a follow-up ticket opened for it, or the ticket it follows
    PRIORITY = "priority"  # old/new: priority numbers; text: the change in German words
    QUEUE = "queue"  # old/new: queue codes; text: the change in German words


class MailDirection(StrEnum):
    IN = "in"  # from the customer
    OUT = "out"  # from the desk
