"""``tickets.set_priority`` and ``tickets.move_to_queue`` (docs/rules.md#ticket-triage):
version-checked, audited, in the ticket's history, refused without the queue role."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from deskapp.services import ticket_detail, tickets
from deskapp.services.errors import Conflict, InvalidInput, PermissionDenied
from models.engine import read_session, write_session
from models.enums import EventKind, Priority, Queue, TicketKind
from models.tables import AuditLog


def _open(engine, actor, now, **kw):
    with write_session(engine) as s:
        return tickets.open_ticket(s, actor, queue=kw.pop("queue", Queue.SUPPORT), subject="Anfrage", now=now, **kw)


def _audit(engine, action):
    with read_session(engine) as s:
        return s.execute(select(AuditLog.old, AuditLog.new).where(AuditLog.action == action)).all()


def test_set_priority_changes_audits_and_tells_the_history(engine, people, now):
    tom = people["tom"]
    seen = _open(engine, tom, now)
    with write_session(engine) as s:
        after = tickets.set_priority(s, tom, seen, priority=Priority.HIGH, now=now)
    assert after.priority == Priority.HIGH and after.version == seen.version + 1
    [(old, new)] = _audit(engine, "ticket.priority")
    assert json.loads(old) == {"priority": Priority.NORMAL} and json.loads(new) == {"priority": Priority.HIGH}
    with read_session(engine) as s:
        history = ticket_detail.detail(s, seen.id).events
    assert any(e.kind == EventKind.PRIORITY and e.text == "Priorität normal → hoch" for e in history)
    # The old row is stale now: a second change from it is a conflict, not a lost update.
    with pytest.raises(Conflict), write_session(engine) as s:
        tickets.set_priority(s, tom, seen, priority=Priority.URGENT, now=now)
    with pytest.raises(InvalidInput, match="bereits"), write_session(engine) as s:
        tickets.set_priority(s, tom, after, priority=Priority.HIGH, now=now)
    with pytest.raises(InvalidInput, match="Unbekannte Priorität"), write_session(engine) as s:
        tickets.set_priority(s, tom, after, priority=9, now=now)


def test_move_to_queue_hands_over_and_drops_an_assignee_who_cannot_follow(engine, people, now):
    tom = people["tom"]
    seen = _open(engine, tom, now)
    with write_session(engine) as s:
        seen = tickets.claim(s, tom, seen, now=now)
    with write_session(engine) as s:
        moved = tickets.move_to_queue(s, tom, seen, queue=Queue.CONTRACT, now=now)
    assert moved.queue == Queue.CONTRACT
    # tom (support) may not work the contract queue: he is no longer the assignee.
    assert moved.assignee_login == ""
    [(old, new)] = _audit(engine, "ticket.queue")
    assert json.loads(old)["queue"] == "support" and json.loads(new)["queue"] == "contract"
    with read_session(engine) as s:
        kinds = [e.kind for e in ticket_detail.detail(s, seen.id).events]
    assert EventKind.QUEUE in kinds
    # And tom cannot move it any further: the contract queue is not his.
    with pytest.raises(PermissionDenied), write_session(engine) as s:
        tickets.move_to_queue(s, tom, moved, queue=Queue.SUPPORT, now=now)


def test_move_refuses_unknown_same_queue_and_tickets_carrying_a_decision(engine, people, now):
    tom, sara = people["tom"], people["sara"]
    seen = _open(engine, tom, now)
    with pytest.raises(InvalidInput, match="Unbekannte Queue"), write_session(engine) as s:
        tickets.move_to_queue(s, tom, seen, queue="nirgends", now=now)
    with pytest.raises(InvalidInput, match="bereits"), write_session(engine) as s:
        tickets.move_to_queue(s, tom, seen, queue=Queue.SUPPORT, now=now)
    held = _open(engine, sara, now, queue=Queue.CONTRACT, kind=TicketKind.HELD_ORDER)
    with pytest.raises(InvalidInput, match="nicht verschoben"), write_session(engine) as s:
        tickets.move_to_queue(s, sara, held, queue=Queue.SUPPORT, now=now)
    assert _audit(engine, "ticket.queue") == []
