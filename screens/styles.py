"""Colours the screens share for stored codes (priority, status)."""

from __future__ import annotations

from models.enums import Priority, TicketStatus

PRIORITY_STYLE = {Priority.URGENT: "bold red", Priority.HIGH: "yellow", Priority.NORMAL: "", Priority.LOW: "dim"}
STATUS_STYLE = {
    TicketStatus.NEW: "bold cyan",
    TicketStatus.OPEN: "green",
    TicketStatus.WAITING: "magenta",
    TicketStatus.RESOLVED: "dim",
}
