"""Orders left pending and how they are resolved (docs/rules.md#order-recovery), SQLite and PostgreSQL.

A desk process that dies while the registry works on an order leaves it ``pending``: it
counts against the limit, and ``recover_pending`` asks the registry for the status of its
ref — executed and failed finish it, unknown opens one Technik ticket ("Status unklar"),
from which Technik may send it again with the same ref.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from deskapp.services import customers, orders
from deskapp.services.errors import Conflict
from deskapp.services.registry import SimulatedRegistry, order_ref
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.enums import OrderStatus, Queue, TicketKind
from models.tables import AuditLog, MessageLogEntry, Order, Ticket

POLICY = Policy()
STALE = dt.timedelta(minutes=POLICY.order_pending_stale_minutes)


class _DiesMidCall:
    """The desk process dies while the registry works: it may or may not have executed."""

    def __init__(self, registry: SimulatedRegistry, *, executes: bool):
        self.registry, self.executes = registry, executes

    def register(self, item, customer_number, order_ref=None):
        if self.executes:
            self.registry.register(item, customer_number, order_ref=order_ref)
        raise KeyboardInterrupt  # stands for kill -9: nothing after this line runs

    def status(self, order_ref):
        return self.registry.status(order_ref)


@pytest.fixture
def customer(engine, people, now):
    with write_session(engine) as s:
        return customers.create_customer(
            s, people["sara"], name="Bäckerei Krume GmbH", email="info@krume.example",
            credit_limit=Decimal("500.00"), now=now, created_at=now - dt.timedelta(days=400),
        )


def _lost(engine, people, customer, now, registry, *, executes, item="krume.de", amount="100.00") -> int:
    with pytest.raises(KeyboardInterrupt):
        with write_session(engine) as s:
            orders.place_order(s, people["system"], customer_id=customer.id, item=item, amount=Decimal(amount),
                               now=now, policy=POLICY, registry=_DiesMidCall(registry, executes=executes))
    with read_session(engine) as s:
        return s.execute(select(Order.id).where(Order.item == item)).scalar_one()


def _recover(engine, people, now, registry):
    with write_session(engine) as s:
        return orders.recover_pending(s, people["system"], now=now, policy=POLICY, registry=registry)


def _order(engine, order_id):
    with read_session(engine) as s:
        return s.execute(select(Order.status, Order.error).where(Order.id == order_id)).one()


def _exposure(engine, customer):
    with read_session(engine) as s:
        return orders.exposure(s, customer.id)


def test_a_lost_answer_leaves_the_order_pending_and_counting(engine, people, customer, now):
    registry = SimulatedRegistry()
    order_id = _lost(engine, people, customer, now, registry, executes=True)
    assert _order(engine, order_id).status == OrderStatus.PENDING
    assert _exposure(engine, customer) == Decimal("100.00")
    # A second order cannot use the headroom the pending one holds.
    with write_session(engine) as s:
        held = orders.place_order(s, people["system"], customer_id=customer.id, item="mehr.de",
                                  amount=Decimal("450.00"), now=now, policy=POLICY, registry=registry)
    assert held.status == OrderStatus.HELD


def test_recover_finishes_what_the_registry_executed_and_leaves_fresh_ones_alone(engine, people, customer, now):
    registry = SimulatedRegistry()
    order_id = _lost(engine, people, customer, now, registry, executes=True)
    assert _recover(engine, people, now + STALE - dt.timedelta(minutes=1), registry).orders == ()
    report = _recover(engine, people, now + STALE, registry)
    assert [(o.order_id, o.outcome) for o in report.orders] == [(order_id, "executed")]
    assert _order(engine, order_id).status == OrderStatus.EXECUTED
    assert registry.registered == [("krume.de", customer.number)]  # once: recover only asked
    assert _exposure(engine, customer) == Decimal("100.00")
    assert _recover(engine, people, now + 2 * STALE, registry).orders == ()


def test_recover_fails_what_the_registry_refused_with_a_technik_ticket(engine, people, customer, now):
    registry = SimulatedRegistry()
    order_id = _lost(engine, people, customer, now, registry, executes=False)
    registry.refs[order_ref(order_id)] = dataclasses.replace(registry.status("x"), state="failed",
                                                             reason="Domain bereits vergeben")
    [done] = _recover(engine, people, now + STALE, registry).orders
    assert done.outcome == "failed" and done.ticket_number is not None
    order = _order(engine, order_id)
    assert order.status == OrderStatus.FAILED and order.error == "Domain bereits vergeben"
    assert _exposure(engine, customer) == Decimal("0.00")


def test_unknown_status_opens_one_ticket_and_technik_sends_it_again_with_the_same_ref(engine, people, customer, now):
    registry = SimulatedRegistry()
    order_id = _lost(engine, people, customer, now, registry, executes=False)
    later = now + STALE
    first = _recover(engine, people, later, registry).orders
    again = _recover(engine, people, later + STALE, registry).orders
    assert [o.outcome for o in first + again] == ["unclear", "unclear"]
    assert first[0].ticket_number == again[0].ticket_number
    with read_session(engine) as s:
        ticket = s.execute(
            select(Ticket.id, Ticket.queue, Ticket.kind, Ticket.body).where(Ticket.order_id == order_id)
        ).one()
        actions = s.execute(select(AuditLog.action).where(
            AuditLog.entity == "order", AuditLog.entity_id == str(order_id)).order_by(AuditLog.id)).scalars().all()
    assert (ticket.queue, ticket.kind) == (Queue.TECHNICAL, TicketKind.REGISTRY_FAILURE)
    assert ticket.body.startswith("Status unklar, bitte bei der Vergabestelle prüfen.")
    assert actions == ["order.place", "order.unclear"]
    assert registry.registered == []  # never registered blind
    assert orders.order_action_applies("retry", ticket_kind=ticket.kind, order_status=OrderStatus.PENDING)

    with write_session(engine) as s:
        result = orders.retry_order(s, people["kai"], order_id=order_id, now=later + STALE, policy=POLICY,
                                    registry=registry)
    assert result.status == OrderStatus.EXECUTED
    assert registry.registered == [("krume.de", customer.number)]
    with read_session(engine) as s:
        assert s.execute(select(Ticket.status).where(Ticket.id == ticket.id)).scalar_one() == "resolved"


def test_technik_cannot_resend_an_order_that_just_went_out(engine, people, customer, now):
    order_id = _lost(engine, people, customer, now, SimulatedRegistry(), executes=False)
    with pytest.raises(Conflict, match="abwarten"):
        with write_session(engine) as s:
            orders.retry_order(s, people["kai"], order_id=order_id, now=now, policy=POLICY,
                               registry=SimulatedRegistry())
    assert _order(engine, order_id).status == OrderStatus.PENDING


def test_a_released_order_whose_answer_was_lost_is_finished_and_the_customer_told(engine, people, customer, now):
    registry = SimulatedRegistry()
    with write_session(engine) as s:
        held = orders.place_order(s, people["system"], customer_id=customer.id, item="gross.de",
                                  amount=Decimal("600.00"), now=now, policy=POLICY, registry=registry)
    with pytest.raises(KeyboardInterrupt):
        with write_session(engine) as s:
            orders.release_order(s, people["sara"], order_id=held.order_id, now=now, policy=POLICY,
                                 registry=_DiesMidCall(registry, executes=True))
    assert _order(engine, held.order_id).status == OrderStatus.PENDING
    assert _exposure(engine, customer) == Decimal("600.00")
    [done] = _recover(engine, people, now + STALE, registry).orders
    assert done.outcome == "executed"
    with read_session(engine) as s:
        subjects = s.execute(select(MessageLogEntry.subject).where(MessageLogEntry.customer_id == customer.id)
                             .order_by(MessageLogEntry.id)).scalars().all()
    assert subjects[-1] == f"Ihre Bestellung gross.de – Vorgangsnummer {held.process_number} ausgeführt"
    assert registry.registered == [("gross.de", customer.number)]


def test_a_shop_ref_for_another_customer_is_refused(engine, people, customer, now):
    with write_session(engine) as s:
        other = customers.create_customer(s, people["sara"], name="Conny Schuster", email="c@example.de",
                                          credit_limit=Decimal("500.00"), now=now)
    registry = SimulatedRegistry()
    with write_session(engine) as s:
        first = orders.place_order(s, people["system"], customer_id=customer.id, item="a.de",
                                   amount=Decimal("10.00"), now=now, policy=POLICY, registry=registry,
                                   shop_ref="SHOP-9")
    with pytest.raises(Conflict, match=f"Bestellung {first.order_id}"):
        with write_session(engine) as s:
            orders.place_order(s, people["system"], customer_id=other.id, item="a.de", amount=Decimal("10.00"),
                               now=now, policy=POLICY, registry=registry, shop_ref="SHOP-9")
    assert registry.registered == [("a.de", customer.number)]
