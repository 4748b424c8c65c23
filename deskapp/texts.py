"""Every German word the desk shows for a stored code. Logic never compares these."""

from __future__ import annotations

from models.enums import OrderStatus, Priority, Queue, Role, TicketKind, TicketStatus

QUEUE = {
    Queue.SUPPORT: "Support",
    Queue.CONTRACT: "Vertragsbearbeitung",
    Queue.TECHNICAL: "Technik",
    Queue.ADMIN: "Admin-Channel",
}

STATUS = {
    TicketStatus.NEW: "neu",
    TicketStatus.OPEN: "offen",
    TicketStatus.WAITING: "wartend",
    TicketStatus.RESOLVED: "erledigt",
}

PRIORITY = {
    Priority.LOW: "niedrig",
    Priority.NORMAL: "normal",
    Priority.HIGH: "hoch",
    Priority.URGENT: "dringend",
}

KIND = {
    TicketKind.GENERAL: "Anfrage",
    TicketKind.HELD_ORDER: "Bestellung angehalten",
    TicketKind.REGISTRY_FAILURE: "Fehler Vergabestelle",
    TicketKind.EXTENSION_REQUEST: "Budgetverlängerung",
}

FLAG = {
    "flagged": "gemerkt",
    "conspicuous": "auffällig",
    "overdue": "überfällig",
    "workaround": "Deadline auf Budgetverfall",
}

# The workaround spelled out, on a task row and in the task form (docs/rules.md#budget-workaround).
WORKAROUND_HINT = "Deadline liegt auf dem Budgetablauf – braucht eine genehmigte Verlängerung"

# Task states (models.enums.TaskStatus).
TASK_STATUS = {
    "open": "offen",
    "done": "erledigt",
    "deleted": "gelöscht",
}

# Short symbols for the flags column of the ticket list.
FLAG_SYMBOL = {
    "flagged": "★",
    "conspicuous": "!",
    "overdue": "⏰",
    "workaround": "⚑",
}

ROLE = {
    Role.SUPPORT: "Support",
    Role.CONTRACT: "Vertragsbearbeitung",
    Role.TECHNICIAN: "Technik",
    Role.APPROVER: "Genehmigung",
    Role.DEPUTY: "Vertretung Genehmigung",
    Role.ADMIN: "Admin",
    Role.SYSTEM: "System",
}

ORDER_STATUS = {
    OrderStatus.PENDING: "in Ausführung",
    OrderStatus.EXECUTED: "ausgeführt",
    OrderStatus.HELD: "angehalten",
    OrderStatus.FAILED: "fehlgeschlagen",
    OrderStatus.REJECTED: "abgelehnt",
    OrderStatus.SETTLED: "abgerechnet",
}

VIEW = {
    "mine": "Meine",
    "unassigned": "Nicht zugewiesen",
    "flagged": "Gemerkt",
    "requests": "Meine Anträge",
}

# Extension requests (models.enums.ExtensionStatus).
EXTENSION_STATUS = {
    "waiting": "wartet auf Genehmigung",
    "approved": "genehmigt",
    "rejected": "abgelehnt",
}

# Why an agent is absent (models.tables.Absence.reason).
ABSENCE_REASON = {
    "sick": "krank",
    "vacation": "Urlaub",
    "other": "sonstiges",
}

# Warnings on the customer card.
CARD_FLAG = {
    "repeat_case": "Wiederholungsfall",
    "over_limit": "Kreditlimit überschritten",
    "budget_warn": "Restbudget knapp",
    "budget_critical": "Restbudget fast aufgebraucht",
}

# Why a held order is conspicuous (deskapp.rules.limits reason codes), one sentence each.
CONSPICUOUS_REASON = {
    "over_limit": "Überschreitung um {over}, mehr als {percent} % des Limits ({threshold})",
    "many_orders": "{count} Echtzeitbestellungen innerhalb von {minutes} Minuten (mehr als {limit})",
    "young_customer": "Neukunde seit {days} Tagen (jünger als {limit} Tage)",
}

# What the contract agent did with a held order (the order's history, the inbox detail).
ORDER_DECISION = {
    "release": "freigegeben",
    "reject": "abgelehnt",
}

# Outgoing mail in the outbox (models.enums.MailStatus).
MAIL_STATUS = {  # docs/rules.md#mail-delivery
    "queued": "Warteschlange",  # waits for a run
    "sending": "wird gesendet",  # handed to the server, no answer yet
    "sent": "gesendet",  # the server accepted it (250)
    "failed": "fehlgeschlagen",  # refused for good, bounced, or given up
    "uncertain": "unklar",  # no answer: it may have arrived; sent again with the same Message-ID
}
# A sent mail that had an attempt whose outcome stayed unknown: short (the list) and long (the mail).
MAIL_SENT_MAYBE_TWICE = "gesendet (2×?)"
MAIL_SENT_MAYBE_TWICE_LONG = "gesendet – vielleicht doppelt angekommen (beide mit derselben Message-ID)"
