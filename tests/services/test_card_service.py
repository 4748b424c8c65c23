"""The customer card service on SQLite and PostgreSQL.

Rows are inserted straight into the tables so these tests do not depend on the write
services (packages, orders) that are still being built.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from deskapp.services import card as card_service
from deskapp.services.errors import NotFound
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.enums import OrderStatus, Priority, Queue, TaskStatus
from models.tables import (
    CustomerFileEntry,
    ExtensionRequest,
    HourPackage,
    MessageLogEntry,
    Order,
    Task,
    Ticket,
)
from tests.support.carddata import EMPTY, IVO, D, build_ivo, customer


@pytest.fixture
def ivo(engine, people, now):
    with write_session(engine) as s:
        build_ivo(s, people, now)
    return IVO


def read_card(engine, customer_id, now, policy: Policy | None = None, **kw):
    with read_session(engine) as s:
        return card_service.customer_card(s, customer_id, now=now, policy=policy or Policy(), **kw)


def test_master_data_and_credit(engine, ivo, now):
    card = read_card(engine, ivo, now)
    assert (card.id, card.number, card.name) == (IVO, "K-10042", "Ivo Moring")
    assert card.email == "k-10042@kunde.example"
    assert card.credit_limit == Decimal("500.00")
    assert card.exposure == Decimal("420.50")  # executed 120,00 + held 300,50
    assert card.headroom == Decimal("79.50")
    assert "over_limit" not in card.flags
    assert card.as_of == now


def test_budget_numbers(engine, ivo, now):
    b = read_card(engine, ivo, now).budget
    # P1: 2400 - 600 used - 120 blocked = 1680; P2: 1200 - 60 blocked = 1140
    assert b.valid_minutes == 1680 + 1140
    assert b.blocked_minutes == 120 + 60
    assert b.expired_minutes == 500  # P3: 600 - 100, expired on 15.01.25
    assert b.next_expiry == D(2026, 3, 20)
    assert b.days_left == 10
    assert b.booked_minutes == 4200
    assert b.used_minutes == 700


def test_booking_history_newest_purchase_first(engine, ivo, now):
    packages = read_card(engine, ivo, now).packages
    assert [p.id for p in packages] == [102, 101, 103]
    p1 = packages[1]
    assert (p1.purchased_on, p1.valid_until, p1.label) == (D(2024, 3, 20), D(2026, 3, 20), "Paket 40 h")
    assert (p1.booked_minutes, p1.used_minutes, p1.blocked_minutes, p1.remaining_minutes) == (2400, 600, 120, 1680)
    assert not p1.expired and packages[2].expired
    assert p1.price == Decimal("3600.00")


def test_open_tasks_and_workaround_flag(engine, ivo, now):
    card = read_card(engine, ivo, now)
    assert [t.id for t in card.tasks] == [201, 202, 203]  # earliest deadline first, none last
    flagged = {t.id: (t.workaround, t.expiry_hit) for t in card.tasks}
    assert flagged == {201: (True, D(2026, 3, 20)), 202: (False, None), 203: (False, None)}
    assert card.tasks_total == 3
    # 201 (open) and 204 (done, 01.04.26 is not near an expiry): one hit in 12 months
    assert card.workaround_count == 1
    assert "repeat_case" not in card.flags


def test_workaround_window_is_a_setting(engine, ivo, now):
    card = read_card(engine, ivo, now, Policy(workaround_window_days=4))
    assert not any(t.workaround for t in card.tasks)  # 15.03. is 5 days before 20.03.


@pytest.mark.parametrize(
    "deadline, flagged",
    [
        (D(2026, 6, 30), True),  # on the expiry day
        (D(2026, 6, 16), True),  # exactly 14 days before
        (D(2026, 6, 15), False),  # 15 days before
        (D(2026, 7, 1), False),  # after the expiry
    ],
)
def test_workaround_boundaries(engine, people, now, deadline, flagged):
    cid = uuid.uuid4()
    with write_session(engine) as s:
        s.add(customer(cid, "K-20000", "Grenzfall"))
        s.flush()
        s.add(HourPackage(customer_id=cid, minutes=600, price=Decimal("0"), purchased_on=D(2024, 6, 30),
                          valid_until=D(2026, 6, 30), created_at=now))
        s.add(Task(customer_id=cid, title="t", estimate_minutes=10, deadline=deadline, created_at=now))
    card = read_card(engine, cid, now)
    assert card.tasks[0].workaround is flagged


def _repeat_customer(engine, people, now, *, hits_in_window: int, with_extension: bool = False) -> uuid.UUID:
    """A customer whose tasks set deadlines on budget expiries ``hits_in_window`` times in
    the last 12 months, plus one such task older than 12 months and one harmless task."""
    cid = uuid.uuid4()
    expiries = [D(2025, 6, 30), D(2025, 12, 31), D(2026, 6, 30), D(2026, 9, 30)]
    with write_session(engine) as s:
        s.add(customer(cid, f"K-3{hits_in_window}{int(with_extension)}00", "Wiederholer"))
        s.flush()
        for until in expiries[1:]:
            s.add(HourPackage(customer_id=cid, minutes=600, price=Decimal("0"),
                              purchased_on=until.replace(year=until.year - 2), valid_until=until, created_at=now))
        if with_extension:
            # 30.06.25 was extended (to 30.09.26): the deadline on the old date still counts.
            s.add(ExtensionRequest(customer_id=cid, package_ids="", months=2, old_valid_until=D(2025, 6, 30),
                                   new_valid_until=D(2025, 8, 31), remaining_minutes=1300,
                                   requested_by_id=people["tom"].id, status="approved", created_at=now))
        s.flush()
        created = [now - dt.timedelta(days=d) for d in (20, 100, 200, 300)]
        deadlines = [D(2026, 6, 25), D(2025, 12, 31), D(2026, 9, 20), D(2025, 6, 28)]
        for i in range(hits_in_window):
            s.add(Task(customer_id=cid, title=f"Trick {i}", estimate_minutes=60, deadline=deadlines[i],
                       status=TaskStatus.DONE if i % 2 else TaskStatus.OPEN, created_at=created[i]))
        # Older than 12 months: does not count.
        s.add(Task(customer_id=cid, title="Alt", estimate_minutes=60, deadline=D(2025, 6, 30),
                   status=TaskStatus.DONE, created_at=now - dt.timedelta(days=400)))
        # Far from any expiry: does not count.
        s.add(Task(customer_id=cid, title="Normal", estimate_minutes=60, deadline=D(2026, 4, 15), created_at=now))
    return cid


def test_repeat_case_more_than_twice_in_twelve_months(engine, people, now):
    twice = read_card(engine, _repeat_customer(engine, people, now, hits_in_window=2), now)
    assert twice.workaround_count == 2
    assert "repeat_case" not in twice.flags
    thrice = read_card(engine, _repeat_customer(engine, people, now, hits_in_window=3), now)
    assert thrice.workaround_count == 3
    assert "repeat_case" in thrice.flags


def test_repeat_case_counts_deadlines_on_an_expiry_since_extended(engine, people, now):
    # The 4th task's deadline (28.06.25) sits on an expiry only known from the extension request.
    without = read_card(engine, _repeat_customer(engine, people, now, hits_in_window=4), now)
    assert without.workaround_count == 3
    extended = read_card(
        engine, _repeat_customer(engine, people, now, hits_in_window=4, with_extension=True), now
    )
    assert extended.workaround_count == 4


def test_open_tickets_only_this_customer_not_resolved_inbox_order(engine, ivo, now):
    card = read_card(engine, ivo, now)
    assert [t.number for t in card.open_tickets] == [1002, 1003, 1001]  # urgent first, then newest
    assert card.open_tickets_total == 3
    assert card.open_tickets[0].customer_name == "Ivo Moring"


def test_orders_newest_first(engine, ivo, now):
    card = read_card(engine, ivo, now)
    assert [o.item for o in card.orders][:2] == ["ivo.reject", "ivo.fail"]
    assert card.orders_total == 5
    held = next(o for o in card.orders if o.status == OrderStatus.HELD)
    assert held.process_number == "VG-2026-000007" and held.amount == Decimal("300.50")


def test_message_log_and_file_newest_first(engine, ivo, now):
    card = read_card(engine, ivo, now)
    assert [m.title for m in card.message_log] == ["Bestellung VG-2026-000007", "Ihr Stundenbudget läuft ab"]
    assert [(f.author, f.text) for f in card.customer_file] == [
        ("", "Verlängerung abgelehnt."),
        ("tom", "Kunde ruft oft freitags an."),
    ]


def test_lists_are_bounded_with_full_counts(engine, people, ivo, now):
    with write_session(engine) as s:
        for i in range(7):
            s.add(MessageLogEntry(customer_id=ivo, kind="note", subject=f"Nachricht {i}",
                                  created_at=now - dt.timedelta(hours=i)))
            s.add(CustomerFileEntry(customer_id=ivo, text=f"Eintrag {i}", created_at=now - dt.timedelta(hours=i)))
            s.add(Ticket(number=2000 + i, queue=Queue.SUPPORT, priority=Priority.LOW, customer_id=ivo,
                         subject=f"T{i}", created_at=now - dt.timedelta(hours=i), updated_at=now))
            s.add(Task(customer_id=ivo, title=f"A{i}", deadline=D(2026, 5, 1), created_at=now))
    card = read_card(engine, ivo, now, limit=5, order_limit=2)
    assert [m.title for m in card.message_log] == [f"Nachricht {i}" for i in range(5)]
    assert (len(card.message_log), card.message_log_total) == (5, 9)
    assert [f.text for f in card.customer_file][:2] == ["Eintrag 0", "Eintrag 1"]
    assert (len(card.customer_file), card.customer_file_total) == (5, 9)
    assert (len(card.open_tickets), card.open_tickets_total) == (5, 10)
    assert (len(card.tasks), card.tasks_total) == (5, 10)
    assert (len(card.orders), card.orders_total) == (2, 5)


def test_empty_customer(engine, ivo, now):
    card = read_card(engine, EMPTY, now)
    assert card.packages == () and card.tasks == () and card.message_log == ()
    assert card.budget.valid_minutes == 0 and card.budget.next_expiry is None and card.budget.days_left is None
    assert card.exposure == Decimal("0.00") and card.headroom == Decimal("250.00")
    assert [t.number for t in card.open_tickets] == [1005]
    assert card.flags == ()  # no packages: no budget warning


def test_over_limit_and_budget_warnings(engine, people, now):
    cid = uuid.uuid4()
    with write_session(engine) as s:
        s.add(customer(cid, "K-40000", "Knapp", limit="100.00"))
        s.flush()
        s.add(Order(customer_id=cid, item="x.de", amount=Decimal("150.00"), status=OrderStatus.HELD,
                    placed_by_id=people["tom"].id, created_at=now))
        s.add(HourPackage(customer_id=cid, minutes=300, price=Decimal("0"), purchased_on=D(2026, 1, 1),
                          valid_until=D(2028, 1, 1), created_at=now))
    card = read_card(engine, cid, now)
    assert card.headroom == Decimal("-50.00")
    assert "over_limit" in card.flags and "budget_warn" in card.flags  # 05:00 < 10:00
    assert "budget_critical" not in card.flags
    assert "budget_critical" in read_card(engine, cid, now, Policy(budget_critical_minutes=301)).flags


def test_unknown_customer(engine, people, now):
    with pytest.raises(NotFound, match="gibt es nicht"):
        read_card(engine, uuid.UUID("11111111-1111-4111-8111-111111111111"), now)
    with pytest.raises(NotFound, match="gibt es nicht"):
        read_card(engine, "kein-uuid", now)
