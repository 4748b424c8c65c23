"""Real-time orders against the credit limit (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from deskapp.services import customers, orders
from deskapp.services.errors import InvalidInput, PermissionDenied
from deskapp.services.registry import Registry, RegistryError, SimulatedRegistry
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.tables import MessageLogEntry, Order, OutgoingMail, Ticket

POLICY = Policy()


def _customer(engine, people, now, *, name="Bäckerei Krume GmbH", age_days=400, limit=None):
    with write_session(engine) as s:
        return customers.create_customer(
            s, people["sara"], name=name, email="info@krume.example",
            credit_limit=POLICY.default_credit_limit if limit is None else limit,
            now=now, created_at=now - dt.timedelta(days=age_days),
        )


@pytest.fixture
def customer(engine, people, now):
    return _customer(engine, people, now)


def _order(engine, people, customer, now, amount, *, item="krume-backshop.de", registry=None, policy=POLICY,
           who="system"):
    with write_session(engine) as s:
        return orders.place_order(
            s, people[who], customer_id=customer.id, item=item, amount=amount, now=now, policy=policy,
            registry=registry if registry is not None else SimulatedRegistry(),
        )


def _exposure(engine, customer):
    with read_session(engine) as s:
        return orders.exposure(s, customer.id)


def _ticket(engine, number):
    with read_session(engine) as s:
        return s.execute(
            select(Ticket.queue, Ticket.kind, Ticket.order_id, Ticket.flags, Ticket.body).where(Ticket.number == number)
        ).one()


def test_simulated_registry_is_a_registry():
    assert isinstance(SimulatedRegistry(), Registry)
    with pytest.raises(RegistryError):
        SimulatedRegistry(unreachable=True).register("a.de", "K-1")


def test_order_within_limit_is_executed_through_the_registry(engine, people, customer, now):
    registry = SimulatedRegistry()
    result = _order(engine, people, customer, now, Decimal("480.00"), registry=registry)
    assert result.status == "executed"
    assert registry.registered == [("krume-backshop.de", customer.number)]
    assert (result.exposure, result.headroom, result.limit) == (Decimal("480.00"), Decimal("20.00"), Decimal("500.00"))
    assert result.process_number is None and result.ticket_number is None
    assert _exposure(engine, customer) == Decimal("480.00")
    # exactly up to the limit is still within it
    assert _order(engine, people, customer, now, Decimal("20.00"), item="krume.shop").status == "executed"


def test_order_placed_from_the_card_is_the_agents(engine, people, customer, now):
    result = _order(engine, people, customer, now, Decimal("12.00"), who="tom")
    with read_session(engine) as s:
        assert s.get(Order, result.order_id).placed_by_id == people["tom"].id


def test_order_over_the_limit_is_held_with_a_contract_ticket(engine, people, customer, now):
    _order(engine, people, customer, now, Decimal("480.00"))
    registry = SimulatedRegistry()
    result = _order(engine, people, customer, now, Decimal("45.50"), item="krume-online.de", registry=registry)
    assert result.status == "held"
    assert registry.registered == []
    assert result.process_number == "VG-2026-000001"
    assert "VG-2026-000001" in result.notice
    assert result.exposure == Decimal("525.50") and result.headroom == Decimal("-25.50")
    assert not result.conspicuous
    ticket = _ticket(engine, result.ticket_number)
    assert (ticket.queue, ticket.kind, ticket.order_id) == ("contract", "held_order", result.order_id)
    assert "conspicuous" not in ticket.flags.split()
    for fact in ("VG-2026-000001", "krume-online.de", "500,00 €", "480,00 €", "45,50 €", "Überschreitung: 25,50 €",
                 "Nicht auffällig"):
        assert fact in ticket.body
    # held orders count against the limit
    assert _exposure(engine, customer) == Decimal("525.50")
    # the customer is told, with the process number, in the message log and by mail
    with read_session(engine) as s:
        log = s.execute(
            select(MessageLogEntry.id, MessageLogEntry.kind, MessageLogEntry.subject)
            .where(MessageLogEntry.customer_id == customer.id)
        ).one()
        mail = s.execute(
            select(OutgoingMail.to_addr, OutgoingMail.status).where(OutgoingMail.message_log_id == log.id)
        ).one()
    assert log.kind == "order_held" and "VG-2026-000001" in log.subject
    assert tuple(mail) == ("info@krume.example", "queued")


def test_process_numbers_are_sequential_per_year(engine, people, customer, now):
    first = _order(engine, people, customer, now, Decimal("600.00"))
    second = _order(engine, people, customer, now, Decimal("10.00"))
    next_year = _order(engine, people, customer, dt.datetime(2027, 1, 4, 9, tzinfo=dt.timezone.utc), Decimal("5.00"))
    assert [first.process_number, second.process_number, next_year.process_number] == [
        "VG-2026-000001", "VG-2026-000002", "VG-2027-000001",
    ]


def test_far_over_the_limit_is_conspicuous(engine, people, customer, now):
    result = _order(engine, people, customer, now, Decimal("750.01"))  # 250.01 over, more than 50 % of 500
    assert result.status == "held" and result.conspicuous
    ticket = _ticket(engine, result.ticket_number)
    assert "conspicuous" in ticket.flags.split()
    assert "Rücksprache" in ticket.body and "50 %" in ticket.body
    assert _order(engine, people, _customer(engine, people, now, name="B"), now, Decimal("750.00")).conspicuous is False


def test_young_customer_is_conspicuous(engine, people, now):
    young = _customer(engine, people, now, name="Neu & Co. KG", age_days=5)
    result = _order(engine, people, young, now, Decimal("510.00"))
    assert result.conspicuous
    assert "Neukunde" in _ticket(engine, result.ticket_number).body


def test_many_orders_within_the_hour_are_conspicuous(engine, people, customer, now):
    for i in range(10):
        _order(engine, people, customer, now - dt.timedelta(minutes=50 - i), Decimal("10.00"), item=f"d{i}.de")
    result = _order(engine, people, customer, now, Decimal("450.00"))
    assert result.status == "held"
    assert any("11 Echtzeitbestellungen" in r for r in result.conspicuous_reasons)


def test_conspicuous_thresholds_come_from_the_policy(engine, people, customer, now):
    strict = dataclasses.replace(POLICY, conspicuous_over_limit_percent=5)
    result = _order(engine, people, customer, now, Decimal("530.00"), policy=strict)
    assert result.conspicuous


@pytest.mark.parametrize("registry", [SimulatedRegistry(fail_items={"krume-backshop.de"}),
                                      SimulatedRegistry(unreachable=True)])
def test_registry_failure_opens_a_technical_ticket(engine, people, customer, now, registry):
    result = _order(engine, people, customer, now, Decimal("30.00"), registry=registry)
    assert result.status == "failed"
    assert result.exposure == Decimal("0.00")
    assert _exposure(engine, customer) == Decimal("0.00")
    ticket = _ticket(engine, result.ticket_number)
    assert (ticket.queue, ticket.kind, ticket.order_id) == ("technical", "registry_failure", result.order_id)
    assert "Vergabestelle" in ticket.body
    with read_session(engine) as s:
        assert s.execute(select(Order.error).where(Order.id == result.order_id)).scalar_one()


@pytest.mark.parametrize(
    "amount", [Decimal("0"), Decimal("-5.00"), Decimal("1.001"), Decimal("NaN"), Decimal("Infinity"), 12.5, "abc"]
)
def test_invalid_amount_writes_nothing(engine, people, customer, now, amount):
    with pytest.raises(InvalidInput) as info:
        _order(engine, people, customer, now, amount)
    assert info.value.field == "amount"
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(Order)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Ticket)).scalar_one() == 0
    # no process number was used up
    assert _order(engine, people, customer, now, Decimal("501.00")).process_number == "VG-2026-000001"


def test_settled_order_frees_the_limit(engine, people, customer, now):
    executed = _order(engine, people, customer, now, Decimal("400.00"))
    held = _order(engine, people, customer, now, Decimal("200.00"))
    with pytest.raises(PermissionDenied):
        with write_session(engine) as s:
            orders.settle_order(s, people["tom"], order_id=executed.order_id, now=now)
    with pytest.raises(InvalidInput, match="angehalten"):
        with write_session(engine) as s:
            orders.settle_order(s, people["sara"], order_id=held.order_id, now=now)
    with write_session(engine) as s:
        view = orders.settle_order(s, people["sara"], order_id=executed.order_id, now=now)
    assert view.status == "settled"
    assert _exposure(engine, customer) == Decimal("200.00")
    assert _order(engine, people, customer, now, Decimal("300.00")).status == "executed"


def test_parallel_orders_cannot_both_squeeze_under_the_limit(engine, people, customer, now):
    results, errors = [], []
    barrier = threading.Barrier(6)

    def place(i):
        try:
            barrier.wait()
            results.append(_order(engine, people, customer, now, Decimal("300.00"), item=f"parallel-{i}.de"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=place, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.status for r in results) == ["executed"] + ["held"] * 5
    assert sorted(r.process_number for r in results if r.process_number) == [
        f"VG-2026-{n:06d}" for n in range(1, 6)
    ]
