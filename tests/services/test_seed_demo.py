"""The demo database: it builds on both backends, tells the stories of the source
documents, and is the same every time for the same seed and moment."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from deskapp.formatting import today_berlin
from deskapp.services import agents, orders
from deskapp.services.budget import load_budget
from deskapp.services.errors import InvalidInput
from deskapp.settings import Policy
from models.engine import make_engine, read_session
from models.migrate import upgrade
from models.tables import (
    Absence, Agent, Customer, MailMessage, MessageLogEntry, Order, OutgoingMail, Task, Ticket, TimeEntry,
)
from seed.demo import IVO_ID, build_demo

POLICY = Policy()


def test_demo_tells_the_stories_of_the_source_documents(engine, now):
    summary = build_demo(engine, now=now)
    today = today_berlin(now)
    assert summary.customers >= 45 and summary.tickets >= 380
    with read_session(engine) as s:
        assert agents.is_demo_database(s)
        # Ivo Moring: 23:45 Std left, expiring within a few weeks, reminders in the message log.
        ivo = s.get(Customer, IVO_ID)
        assert ivo.name == "Ivo Moring"
        state = load_budget(s, IVO_ID, today)
        assert state.valid == 1425
        assert 7 <= state.days_left <= 28
        kinds = set(s.execute(select(MessageLogEntry.kind).where(MessageLogEntry.customer_id == IVO_ID)).scalars())
        assert {"reminder_6", "reminder_3", "reminder_1"} <= kinds
        # Conny: at least three tasks within a year with a deadline on a budget expiry.
        conny = s.get(Customer, summary.conny_id)
        assert conny.name.startswith("Conny")
        from deskapp.services.budget import workaround_expiry

        year_ago = now - dt.timedelta(days=365)
        deadlines = s.execute(
            select(Task.deadline).where(Task.customer_id == conny.id, Task.created_at >= year_ago)
        ).scalars()
        assert sum(workaround_expiry(s, conny.id, d, POLICY) is not None for d in deadlines) >= 3
        # A customer just under the credit limit.
        near = s.get(Customer, summary.near_limit_id)
        exposure = orders.exposure(s, near.id)
        assert near.credit_limit - 50 <= exposure < near.credit_limit
        # Held orders waiting in contract processing, at least one of them conspicuous.
        held = s.execute(
            select(Ticket.flags, Order.status, Order.process_number)
            .join(Order, Order.id == Ticket.order_id)
            .where(Ticket.queue == "contract", Ticket.kind == "held_order")
        ).all()
        assert len(held) >= 3
        assert all(status == "held" and number.startswith(f"VG-{today.year}-") for _, status, number in held)
        assert any("conspicuous" in flags.split() for flags, _, _ in held)
        assert any("conspicuous" not in flags.split() for flags, _, _ in held)
        # A registry failure with its Technik ticket.
        failure = s.execute(
            select(Order.status).join(Ticket, Ticket.order_id == Order.id)
            .where(Ticket.queue == "technical", Ticket.kind == "registry_failure")
        ).scalars().all()
        assert failure and set(failure) == {"failed"}
        # The approver is away on one day, so requests filed then go to the deputy.
        isabel = s.execute(select(Agent).where(Agent.login == "isabel")).scalar_one()
        assert agents.is_absent(s, isabel.id, today + dt.timedelta(days=2))
        assert not agents.is_absent(s, isabel.id, today)
        # Every queue has work, the inbox mixes states, and time was logged.
        rows = s.execute(select(Ticket.queue, Ticket.status, Ticket.created_at, Ticket.assignee_id)).all()
        assert {q for q, *_ in rows} == {"support", "contract", "technical", "admin"}
        assert {st for _, st, *_ in rows} == {"new", "open", "waiting", "resolved"}
        assert all(created <= now for _, _, created, _ in rows)
        assert min(created for _, _, created, _ in rows) < now - dt.timedelta(days=21)
        assert s.execute(select(TimeEntry.id)).first() is not None
        assert s.execute(select(Absence.id)).first() is not None


def test_demo_refuses_a_database_with_agents(engine, people, now):
    import pytest

    with pytest.raises(InvalidInput):
        build_demo(engine, now=now)


def _snapshot(engine):
    with read_session(engine) as s:
        return {
            "customers": s.execute(
                select(Customer.id, Customer.number, Customer.name, Customer.email).order_by(Customer.number)
            ).all(),
            "tickets": s.execute(
                select(Ticket.number, Ticket.queue, Ticket.status, Ticket.priority, Ticket.subject, Ticket.body,
                       Ticket.assignee_id, Ticket.flags, Ticket.created_at).order_by(Ticket.number)
            ).all(),
            "time": s.execute(
                select(TimeEntry.customer_id, TimeEntry.minutes, TimeEntry.created_at).order_by(TimeEntry.id)
            ).all(),
            "orders": s.execute(
                select(Order.item, Order.amount, Order.status, Order.process_number).order_by(Order.id)
            ).all(),
            # The mail stories (the desk's own Message-IDs are random, as in real use: not compared).
            "mail": s.execute(
                select(MailMessage.ticket_id, MailMessage.direction, MailMessage.from_addr, MailMessage.is_auto,
                       MailMessage.sender_is_customer, MailMessage.created_at).order_by(MailMessage.id)
            ).all(),
        }


def test_demo_has_the_mail_stories(engine, now):
    """docs/rules.md#mail: a thread answered and answered back (reopened), an unknown sender, an
    HTML-only mail, an auto-reply, a bounced reply, an attachment, the extension asked by mail."""
    build_demo(engine, now=now)
    with read_session(engine) as s:
        def ticket(subject):
            return s.execute(select(Ticket).where(Ticket.subject == subject)).scalar_one()

        def directions(t):
            return [d for d, in s.execute(select(MailMessage.direction).where(MailMessage.ticket_id == t.id)
                                           .order_by(MailMessage.id))]

        thread = ticket("Webseite lädt sehr langsam")
        assert directions(thread) == ["in", "out", "in"] and thread.status == "open"
        assert ticket("Angebot für Hosting und Pflege?").customer_id is None
        html = ticket("Kontaktformular sendet nichts")
        text = s.execute(select(MailMessage.text).where(MailMessage.ticket_id == html.id)).scalar_one()
        assert "Kontaktformular" in text and "<p>" not in text
        auto = ticket("Neue Weinkarte online stellen")
        assert directions(auto) == ["in", "out", "in"] and auto.status == "waiting"  # an auto-reply never reopens
        bounced = ticket("Neue Rechnungsadresse für die Praxis")
        assert s.execute(select(OutgoingMail.status).where(OutgoingMail.ticket_id == bounced.id)).scalar_one() == "failed"
        portal = ticket("Fehlermeldung im Kundenportal")
        assert portal.customer_id is not None
        extension = ticket("Verlängerung Stundenbudget – läuft bald ab")
        assert extension.customer_id == IVO_ID and extension.queue == "support"


def test_demo_is_deterministic(tmp_path, now):
    snapshots = []
    for name in ("a", "b"):
        engine = make_engine(tmp_path / f"{name}.sqlite3")
        upgrade(engine)
        build_demo(engine, now=now, seed=7)
        snapshots.append(_snapshot(engine))
        engine.dispose()
    assert snapshots[0] == snapshots[1]
