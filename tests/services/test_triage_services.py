"""Issue 15 triage services: who a ticket may be assigned to, bulk priority and queue
(docs/rules.md#ticket-triage), and the sidebar's request count."""

from __future__ import annotations

from sqlalchemy import select

from deskapp.services import agents, tickets
from models.engine import read_session, write_session
from models.enums import Priority, Queue
from models.tables import AuditLog, Ticket


def _open(engine, actor, now, queue=Queue.SUPPORT):
    with write_session(engine) as s:
        return tickets.open_ticket(s, actor, queue=queue, subject="Anfrage", now=now)


def test_assignable_agents_are_those_who_may_work_the_queue(engine, people):
    with read_session(engine) as s:
        support = {a.login for a in agents.assignable_agents(s, ["support"])}
        technical = {a.login for a in agents.assignable_agents(s, ["technical"])}
        both = {a.login for a in agents.assignable_agents(s, ["support", "technical"])}
    assert support == {"tom", "lena", "sara", "isabel", "rebekka"}
    assert technical == {"kai", "isabel"}
    assert both == {"isabel"}  # every queue of the marked tickets
    # Whoever the dialog offers, the service accepts.
    for login in support:
        assert login != "system"


def test_an_offered_agent_is_accepted_and_the_others_refused(engine, people, now):
    tom = people["tom"]
    seen = _open(engine, tom, now)
    with read_session(engine) as s:
        offered = [a.login for a in agents.assignable_agents(s, [seen.queue])]
    with write_session(engine) as s:
        refused = tickets.bulk(s, tom, [seen], "assign", now=now, assignee_login="kai")
    assert refused.done == () and "kai" not in offered
    with write_session(engine) as s:
        result = tickets.bulk(s, tom, [seen], "assign", now=now, assignee_login=offered[0])
    assert result.done == (seen.number,)


def test_bulk_priority_and_queue_change_every_ticket_in_one_go(engine, people, now):
    tom = people["tom"]
    rows = [_open(engine, tom, now) for _ in range(3)]
    with write_session(engine) as s:
        result = tickets.bulk(s, tom, rows, "priority", now=now, priority=int(Priority.URGENT))
    assert sorted(result.done) == sorted(r.number for r in rows) and not result.refused
    with read_session(engine) as s:
        fresh = [tickets.get_row(s, r.id) for r in rows]
    with write_session(engine) as s:
        result = tickets.bulk(s, tom, fresh, "queue", now=now, queue="technical")
    assert len(result.done) == 3
    with read_session(engine) as s:
        stored = s.execute(select(Ticket.priority, Ticket.queue).where(Ticket.id.in_([r.id for r in rows]))).all()
        audits = s.execute(select(AuditLog.action).where(AuditLog.action.in_(["ticket.priority", "ticket.queue"]))).all()
    assert set(stored) == {(int(Priority.URGENT), "technical")}
    assert len(audits) == 6
    # A stale row is refused and reported, not applied.
    with write_session(engine) as s:
        stale = tickets.bulk(s, tom, rows[:1], "priority", now=now, priority=int(Priority.LOW))
    assert stale.done == () and len(stale.refused) == 1
