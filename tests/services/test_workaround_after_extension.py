"""The deadline workaround after an approved extension (docs/rules.md#budget-workaround).

A task whose deadline sat on the budget's expiry is flagged: in effect it asks for an
extension. Once the extension is approved the flag is computed from the new expiry — the
task is no longer flagged, and a ticket marked ⚑ about that task loses the mark in the
approval's transaction. The repeat case still counts the deadline (the old date is history).
A rejection changes nothing. SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import select

from deskapp.rules.budget import add_months
from deskapp.services import budget, card, customers, extensions, tickets
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.enums import EventKind
from models.tables import TicketEvent

POLICY = Policy()
NOW = dt.datetime(2026, 3, 10, 8, 30, tzinfo=dt.timezone.utc)  # Tuesday 10.03.26, 09:30 Berlin
IVO = uuid.UUID("7bb56b00-4e1e-4e61-ad7d-88a75b3c22e6")
UNTIL = dt.date(2026, 3, 26)  # Ivo's budget expires in 16 days
FLAG = "workaround"


def _ivo_with_a_workaround(engine, people) -> dict:
    """Ivo: 40 h expiring 26.03.26; a task due that day; a ticket marked ⚑ about the task
    and one marked ⚑ without a task; an extension request for the budget, naming the task."""
    tom = people["tom"]
    with write_session(engine) as s:
        customers.create_customer(
            s, people["sara"], name="Ivo Moring", customer_id=IVO, email="ivo@moring-design.example",
            credit_limit=Decimal("500.00"), now=NOW - dt.timedelta(days=1600),
        )
        budget.book_package(
            s, people["sara"], customer_id=IVO, minutes=2400, price=Decimal("3600.00"),
            purchased_on=add_months(UNTIL, -POLICY.package_validity_months), now=NOW, policy=POLICY,
        )
        task = budget.create_task(s, tom, customer_id=IVO, title="Relaunch", estimate_minutes=60,
                                  deadline=UNTIL, now=NOW, policy=POLICY)
        about_task = tickets.open_ticket(s, tom, queue="support", subject="Deadline auf Budgetverfall",
                                         customer_id=IVO, task_id=task.id, flags=(FLAG,), now=NOW)
        no_task = tickets.open_ticket(s, tom, queue="support", subject="Kundin schiebt Deadlines",
                                      customer_id=IVO, flags=(FLAG,), now=NOW)
        request = extensions.request_extension(s, tom, customer_id=IVO, valid_until=None, months=1,
                                               task_id=task.id, now=NOW, policy=POLICY)
    assert task.workaround and task.expiry_hit == UNTIL
    return {"task": task.id, "about_task": about_task.id, "no_task": no_task.id, "request": request.request_id}


def _decide(engine, people, request_id: int, *, approve: bool) -> None:
    with write_session(engine) as s:
        extensions.decide(s, people["isabel"], request_id=request_id, approve=approve,
                          reason="" if approve else "Nicht jetzt.", now=NOW + dt.timedelta(hours=2), policy=POLICY)


def _seen(engine, ids: dict) -> dict:
    with read_session(engine) as s:
        shown = card.customer_card(s, IVO, now=NOW, policy=POLICY)
        task = next(t for t in budget.list_tasks(s, IVO, policy=POLICY) if t.id == ids["task"])
        flag_events = s.execute(
            select(TicketEvent.ticket_id, TicketEvent.old, TicketEvent.new)
            .where(TicketEvent.kind == EventKind.FLAG)
        ).all()
        return {
            "task_flag": task.workaround,
            "card_flag": next(t.workaround for t in shown.tasks if t.id == ids["task"]),
            "repeat_count": shown.workaround_count,
            "about_task": tickets.get_row(s, ids["about_task"]).flags,
            "no_task": tickets.get_row(s, ids["no_task"]).flags,
            "flag_events": flag_events,
        }


def test_an_approved_extension_takes_the_workaround_flag_off_task_and_ticket(engine, people):
    ids = _ivo_with_a_workaround(engine, people)
    _decide(engine, people, ids["request"], approve=True)
    seen = _seen(engine, ids)
    assert not seen["task_flag"] and not seen["card_flag"]  # computed from the new expiry (26.04.26)
    assert FLAG not in seen["about_task"]
    assert seen["flag_events"] == [(ids["about_task"], FLAG, "")]  # in the ticket's history
    assert FLAG in seen["no_task"]  # no task, no deadline to check: the mark stays
    assert seen["repeat_count"] == 1  # the customer did use the workaround


def test_a_rejected_extension_leaves_the_workaround_flags(engine, people):
    ids = _ivo_with_a_workaround(engine, people)
    _decide(engine, people, ids["request"], approve=False)
    seen = _seen(engine, ids)
    assert seen["task_flag"] and seen["card_flag"]
    assert FLAG in seen["about_task"] and FLAG in seen["no_task"]
    assert seen["flag_events"] == []
    assert seen["repeat_count"] == 1
