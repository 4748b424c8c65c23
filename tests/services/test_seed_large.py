"""The large seed at small sizes, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from deskapp.services import agents, customers, tickets
from deskapp.services.tickets import ALL_STATUSES, TicketFilter
from deskapp.settings import Policy
from models.engine import make_engine, read_session, write_session
from models.enums import Priority, Queue, TicketStatus
from models.migrate import upgrade
from models.tables import Agent, AuditLog, Counter, Customer, HourPackage, Ticket
from models.search import fold
from seed.large import build_large

CUSTOMERS = 200
TICKETS = 2_000


@pytest.fixture
def large(engine, now):
    calls: list[tuple[str, int, int]] = []
    summary = build_large(
        engine, now=now, seed=3, customers=CUSTOMERS, tickets=TICKETS, progress=lambda *a: calls.append(a)
    )
    return summary, calls


def _tom(engine):
    """The seed creates the roster itself (the ``people`` fixture would clash with it)."""
    with read_session(engine) as s:
        return agents.by_login(s, "tom")


def _all_tickets(engine):
    with read_session(engine) as s:
        return s.execute(select(*Ticket.__table__.c)).all()


def test_counts_numbers_and_audit(engine, now, large):
    summary, _ = large
    with read_session(engine) as s:
        n_customers = s.execute(select(func.count()).select_from(Customer)).scalar_one()
        n_tickets = s.execute(select(func.count()).select_from(Ticket)).scalar_one()
        n_packages = s.execute(select(func.count()).select_from(HourPackage)).scalar_one()
        numbers = s.execute(select(Ticket.number).order_by(Ticket.number)).scalars().all()
        customer_numbers = set(s.execute(select(Customer.number)).scalars())
        logins = set(s.execute(select(Agent.login)).scalars())
        counters = dict(s.execute(select(Counter.name, Counter.value)).all())
        audit = s.execute(select(*AuditLog.__table__.c)).all()
    assert (n_customers, n_tickets, n_packages) == (CUSTOMERS, TICKETS, summary.packages)
    assert summary.packages == CUSTOMERS * 3 // 10
    assert numbers == list(range(1, TICKETS + 1))
    assert customer_numbers == {f"K-{10000 + i}" for i in range(1, CUSTOMERS + 1)}
    assert (summary.first_customer_number, summary.last_customer_number) == ("K-10001", "K-10200")
    assert (summary.first_ticket_number, summary.last_ticket_number) == (1, TICKETS)
    assert {"tom", "lena", "sara", "kai", "isabel", "rebekka", "system"} <= logins
    assert counters == {"ticket": TICKETS, "customer": CUSTOMERS}
    [entry] = audit
    assert (entry.action, entry.agent_login, entry.at) == ("seed.large", "system", now)
    assert json.loads(entry.new)["tickets"] == TICKETS


def test_progress_is_reported_per_chunk(large):
    summary, calls = large
    stages = {stage for stage, _, _ in calls}
    assert stages == {"customers", "packages", "tickets"}
    for stage, total in (("customers", CUSTOMERS), ("packages", summary.packages), ("tickets", TICKETS)):
        done = [d for s, d, t in calls if s == stage and t == total]
        assert done[0] == 0 and done[-1] == total and done == sorted(done)


def test_data_is_spread_and_plausible(engine, now, large):
    rows = _all_tickets(engine)
    assert {r.queue for r in rows} == set(Queue)
    assert {r.status for r in rows} == set(TicketStatus)
    assert {r.priority for r in rows} == set(Priority)
    assignees = {r.assignee_id for r in rows}
    assert None in assignees and len(assignees) >= 5
    assert all(r.assignee_id is None for r in rows if r.status == TicketStatus.NEW)
    oldest, newest = min(r.created_at for r in rows), max(r.created_at for r in rows)
    assert now - dt.timedelta(days=731) <= oldest < now - dt.timedelta(days=600)
    assert now - dt.timedelta(days=30) < newest <= now
    assert all(r.created_at.tzinfo is not None and r.created_at <= r.updated_at <= now for r in rows)
    assert any(re.search(r"[äöüÄÖÜß]", r.subject + r.body) for r in rows)
    with read_session(engine) as s:
        limits = set(s.execute(select(Customer.credit_limit)).scalars())
        packages = s.execute(select(*HourPackage.__table__.c)).all()
    assert limits == {Policy().default_credit_limit}
    assert all(p.minutes > 0 and p.price > Decimal(0) and p.valid_until > p.purchased_on for p in packages)


def test_numbers_continue_after_the_load(engine, now, large):
    tom = _tom(engine)
    with write_session(engine) as s:
        t = tickets.open_ticket(s, tom, queue=Queue.SUPPORT, subject="Nach dem Laden", now=now)
        c = customers.create_customer(s, tom, name="Neukunde", now=now, credit_limit=Decimal("500.00"))
    assert t.number == TICKETS + 1
    assert c.number == f"K-{10000 + CUSTOMERS + 1}"


def test_a_second_load_continues_the_sequences(engine, now, large):
    second = build_large(engine, now=now, seed=4, customers=10, tickets=50)
    assert (second.first_ticket_number, second.last_ticket_number) == (TICKETS + 1, TICKETS + 50)
    assert second.first_customer_number == f"K-{10000 + CUSTOMERS + 1}"
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(Ticket)).scalar_one() == TICKETS + 50
        assert s.get(Counter, "ticket").value == TICKETS + 50


@pytest.mark.parametrize("word", ["Postfach", "Zertifikat", "lastschrift", "Zeitüberschreitung"])
def test_search_finds_seeded_words(engine, now, large, word):
    """Full-text search (trigram FTS5 via triggers / pg_trgm) agrees with a plain scan of the rows."""
    rows = _all_tickets(engine)
    # docs/rules.md#ticket-search: a part of a word, folded, in subject and text — or in the
    # customer's name (no seeded name contains these words).
    part = fold(word)
    expected = {r.id for r in rows if part in fold(f"{r.subject} {r.body}")}
    assert expected, word
    tom = _tom(engine)
    with read_session(engine) as s:
        hits = tickets.list_page(
            s, tom, TicketFilter(queue=None, statuses=ALL_STATUSES, search=word), limit=5_000
        )
    assert {r.id for r in hits.rows} == expected


def test_search_by_seeded_customer(engine, large):
    tom = _tom(engine)
    with read_session(engine) as s:
        customer_id, number, name = s.execute(
            select(Customer.id, Customer.number, Customer.name)
            .join(Ticket, Ticket.customer_id == Customer.id)
            .order_by(Customer.number)
            .limit(1)
        ).one()
        everything = TicketFilter(queue=None, statuses=ALL_STATUSES)
        theirs = set(s.execute(select(Ticket.id).where(Ticket.customer_id == customer_id)).scalars())
        by_number = tickets.list_page(
            s, tom, TicketFilter(queue=None, statuses=ALL_STATUSES, search=number), limit=5_000
        )
        by_name = tickets.count(s, tom, TicketFilter(queue=None, statuses=ALL_STATUSES, search=name))
        assert tickets.count(s, tom, everything) == TICKETS
    assert {r.id for r in by_number.rows} == theirs
    assert by_name >= len(theirs)


def test_inbox_first_page_is_served_by_list_page(engine, large):
    rows = _all_tickets(engine)
    active = [r for r in rows if r.queue == Queue.SUPPORT and r.status != TicketStatus.RESOLVED]
    expected = sorted(active, key=lambda r: (r.priority, r.created_at, r.id), reverse=True)
    tom = _tom(engine)
    with read_session(engine) as s:
        first = tickets.list_page(s, tom, TicketFilter(), limit=100)
        total = tickets.count(s, tom, TicketFilter())
        counts = tickets.sidebar_counts(s, tom)
    assert [r.id for r in first.rows] == [r.id for r in expected[:100]]
    assert first.has_after == (len(expected) > 100) and not first.has_before
    assert total == len(active) == counts.queues["support"]
    assert all(r.customer_name for r in first.rows if r.customer_id is not None)


def test_same_seed_same_data(tmp_path, now):
    def load(name):
        eng = make_engine(f"sqlite:///{tmp_path / name}")
        upgrade(eng)
        build_large(eng, now=now, seed=11, customers=30, tickets=120)
        with read_session(eng) as s:
            data = (
                s.execute(
                    select(Customer.id, Customer.number, Customer.name).order_by(Customer.number)
                ).all(),
                s.execute(
                    select(
                        Ticket.number, Ticket.subject, Ticket.body, Ticket.created_at, Ticket.customer_id
                    ).order_by(Ticket.number)
                ).all(),
            )
        eng.dispose()
        return data

    assert load("a.sqlite3") == load("b.sqlite3")


def test_naive_now_is_refused(engine):
    with pytest.raises(ValueError):
        build_large(engine, now=dt.datetime(2026, 3, 10, 8, 30), customers=1, tickets=1)


def test_the_long_thread_is_one_ticket_of_the_first_customer_with_every_mail(engine, now):
    """``deskapp seed large`` adds a ticket whose conversation is a long mail thread (the
    benchmark opens it): received like real mail, every answer in the same ticket."""
    from deskapp.services import conversation

    summary = build_large(engine, now=now, seed=5, customers=5, tickets=20, thread=12)
    assert summary.thread_ticket_number == 21  # after the bulk tickets, from the counter
    with read_session(engine) as s:
        row = tickets.find_by_number(s, summary.thread_ticket_number)
        first_customer = s.execute(select(Customer.id).order_by(Customer.number).limit(1)).scalar_one()
        page = conversation.conversation(s, row.id, limit=100)
    assert row.customer_id == first_customer and row.status in tickets.ACTIVE_STATUSES
    mails = [e for e in page.entries if hasattr(e, "direction")]
    assert len(mails) == 12 and all(m.sender_is_customer for m in mails)
    assert mails[0].subject == "Mailversand aus dem Shop bricht ab"
    assert mails[-1].subject.startswith(f"Re: [#{row.number}]")
    assert "Nachricht 12 von 12" in mails[-1].text
