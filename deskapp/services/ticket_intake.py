"""A ticket opened by hand (docs/rules.md#ticket-manual: a phone call, a walk-in).

Queue, customer (or none), priority, subject and text, recorded as the agent's: the
ticket's "created" event and the audit entry name them. The row itself is made by
``tickets.open_ticket``; this module checks what a person typed. The command line
(``deskapp ticket new``) and, later, the inbox's ``N`` form call ``open_by_hand``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlmodel import Session

from models.enums import Priority, Queue

from .. import texts
from ..rules.textcheck import control_problem
from . import tickets
from .errors import InvalidInput, PermissionDenied
from .readmodels import AgentRef, TicketRow

MAX_SUBJECT = 255
MAX_TEXT = 100_000
# The admin channel holds approval requests the desk files itself.
HAND_QUEUES = (Queue.SUPPORT, Queue.CONTRACT, Queue.TECHNICAL)

MSG_SYSTEM = "Der System-Agent legt keine Tickets von Hand an."
MSG_QUEUE = "Queue '{value}' gibt es nicht für ein Ticket von Hand: {choices}."
MSG_ADMIN_QUEUE = (
    "Im Admin-Channel stehen nur Genehmigungsanträge, die der Desk selbst anlegt; ein Ticket von Hand "
    "geht an {choices}."
)
MSG_PRIORITY = "Priorität '{value}' gibt es nicht: {choices}."
MSG_SUBJECT = "Ein Ticket braucht einen Betreff (höchstens 255 Zeichen)."
MSG_TEXT_LONG = "Der Text ist zu lang (höchstens 100.000 Zeichen)."
MSG_FIELD = "{field} {problem}."

# What may be typed for a queue or a priority: the code, the German word, a digit (priority).
_QUEUE_WORDS = {q.value: q for q in Queue} | {texts.QUEUE[q].lower(): q for q in Queue} | {
    "admin-channel": Queue.ADMIN, "vertrag": Queue.CONTRACT,
}
_PRIORITY_WORDS = (
    {p.name.lower(): p for p in Priority}
    | {texts.PRIORITY[p]: p for p in Priority}
    | {str(int(p)): p for p in Priority}
)


def queue_choices() -> str:
    return ", ".join(f"{q.value} ({texts.QUEUE[q]})" for q in HAND_QUEUES)


def priority_choices() -> str:
    return ", ".join(f"{p.name.lower()} ({texts.PRIORITY[p]})" for p in Priority)


def parse_queue(raw: str) -> Queue:
    queue = _QUEUE_WORDS.get((raw or "").strip().lower())
    if queue is None:
        raise InvalidInput(MSG_QUEUE.format(value=raw, choices=queue_choices()), field="queue")
    if queue not in HAND_QUEUES:
        raise InvalidInput(MSG_ADMIN_QUEUE.format(choices=queue_choices()), field="queue")
    return queue


def parse_priority(raw: str | int) -> Priority:
    priority = _PRIORITY_WORDS.get(str(raw).strip().lower())
    if priority is None:
        raise InvalidInput(MSG_PRIORITY.format(value=raw, choices=priority_choices()), field="priority")
    return priority


def open_by_hand(
    session: Session,
    actor: AgentRef,
    *,
    queue: str,
    subject: str,
    text: str,
    priority: str | int,
    customer_id: uuid.UUID | None,
    now: dt.datetime,
) -> TicketRow:
    """Open the ticket as ``actor``; every bad field is an ``InvalidInput`` before anything is written."""
    if actor.is_system:
        raise PermissionDenied(MSG_SYSTEM)
    queue_ = parse_queue(queue)
    priority_ = parse_priority(priority)
    subject = (subject or "").strip()
    if not subject or len(subject) > MAX_SUBJECT:
        raise InvalidInput(MSG_SUBJECT, field="subject")
    text = (text or "").strip("\n")
    if len(text) > MAX_TEXT:
        raise InvalidInput(MSG_TEXT_LONG, field="text")
    for key, label, value, multiline in (("subject", "Der Betreff", subject, False),
                                         ("text", "Der Text", text, True)):
        problem = control_problem(value, multiline=multiline)
        if problem:
            raise InvalidInput(MSG_FIELD.format(field=label, problem=problem), field=key)
    return tickets.open_ticket(
        session, actor, queue=queue_, subject=subject, body=text, priority=priority_,
        customer_id=customer_id, now=now,
    )
