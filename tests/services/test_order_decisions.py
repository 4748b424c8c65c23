"""Contract processing decides held orders; Technik retries failed ones; credit limits
change; orders settle (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from deskapp.services import customers, orders, ticket_detail, tickets
from deskapp.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from deskapp.services.registry import SimulatedRegistry
from deskapp.services.tickets import TicketFilter
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.enums import Queue, TicketStatus
from models.tables import (
    AuditLog,
    CreditLimitChange,
    Customer,
    MessageLogEntry,
    Order,
    OutgoingMail,
    Ticket,
    TicketEvent,
)

POLICY = Policy()
HOUR = dt.timedelta(hours=1)


# --------------------------------------------------------------------------- helpers


def make_customer(engine, people, now, *, name="Bäckerei Krume GmbH", age_days=400, limit="500.00"):
    with write_session(engine) as s:
        return customers.create_customer(
            s, people["sara"], name=name, email="info@krume.example", credit_limit=Decimal(limit),
            now=now, created_at=now - dt.timedelta(days=age_days),
        )


@pytest.fixture
def customer(engine, people, now):
    return make_customer(engine, people, now)


def place(engine, people, customer, now, amount, *, item="krume-backshop.de", registry=None, who="system"):
    with write_session(engine) as s:
        return orders.place_order(
            s, people[who], customer_id=customer.id, item=item, amount=Decimal(amount), now=now, policy=POLICY,
            registry=registry if registry is not None else SimulatedRegistry(),
        )


def write(engine, fn, *args, **kwargs):
    with write_session(engine) as s:
        return fn(s, *args, **kwargs)


def exposure(engine, customer):
    with read_session(engine) as s:
        return orders.exposure(s, customer.id)


def order_status(engine, order_id):
    with read_session(engine) as s:
        return s.get(Order, order_id).status


def ticket_by_number(engine, number):
    with read_session(engine) as s:
        return tickets.find_by_number(s, number)


def history(engine, number):
    with read_session(engine) as s:
        t = tickets.find_by_number(s, number)
        return [(e.kind, e.text, e.new) for e in ticket_detail.detail(s, t.id, now=dt.datetime.now(dt.timezone.utc)).events]


def messages(engine, customer):
    with read_session(engine) as s:
        return s.execute(
            select(MessageLogEntry.kind, MessageLogEntry.subject, MessageLogEntry.body)
            .where(MessageLogEntry.customer_id == customer.id).order_by(MessageLogEntry.id)
        ).all()


def counts(engine):
    """How many rows every table a decision writes to holds."""
    with read_session(engine) as s:
        return {
            t.__tablename__: s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Order, Ticket, TicketEvent, MessageLogEntry, OutgoingMail, AuditLog, CreditLimitChange)
        } | {"orders": tuple(s.execute(select(Order.id, Order.status, Order.version).order_by(Order.id)).all())}


@pytest.fixture
def held(engine, people, customer, now):
    """480 EUR executed, then 45.50 EUR held (25.50 over the limit)."""
    place(engine, people, customer, now - 2 * HOUR, "480.00")
    return place(engine, people, customer, now - HOUR, "45.50", item="krume-online.de")


# --------------------------------------------------------------------------- release


def test_release_executes_the_held_order_and_informs_the_customer(engine, people, customer, held, now):
    registry = SimulatedRegistry()
    result = write(engine, orders.release_order, people["sara"], order_id=held.order_id, now=now, policy=POLICY,
                   registry=registry)
    assert result.status == "executed" and result.process_number == "VG-2026-000001"
    assert registry.registered == [("krume-online.de", customer.number)]
    # executed over the limit: still counts against it
    assert exposure(engine, customer) == Decimal("525.50")
    assert result.headroom == Decimal("-25.50")
    assert "VG-2026-000001" in result.notice
    # the held-order ticket is resolved, with the decision in its history
    ticket = ticket_by_number(engine, held.ticket_number)
    assert ticket.status == "resolved"
    events = history(engine, held.ticket_number)
    assert any(kind == "note" and "freigegeben" in text for kind, text, _ in events)
    assert ("status", "", "resolved") in events
    # the customer hears of it, with the process number
    kind, subject, body = messages(engine, customer)[-1]
    assert kind == "order_released" and "VG-2026-000001" in subject and "freigegeben" in body
    with read_session(engine) as s:
        view = orders.held_order_view(s, held.order_id, now=now, policy=POLICY)
    assert (view.status, view.decided_by, view.decided_at) == ("executed", "sara", now)


def test_release_with_a_registry_failure_fails_the_order_and_opens_a_technik_ticket(
    engine, people, customer, held, now
):
    result = write(engine, orders.release_order, people["sara"], order_id=held.order_id, now=now, policy=POLICY,
                   registry=SimulatedRegistry(unreachable=True))
    assert result.status == "failed"
    assert order_status(engine, held.order_id) == "failed"
    assert exposure(engine, customer) == Decimal("480.00")  # nothing charged
    tech = ticket_by_number(engine, result.ticket_number)
    assert (tech.queue, tech.kind) == ("technical", "registry_failure")
    assert ticket_by_number(engine, held.ticket_number).status == "resolved"
    kind, subject, body = messages(engine, customer)[-1]
    assert kind == "order_released" and "VG-2026-000001" in subject and "Technik" in body
    assert f"#{result.ticket_number}" in result.notice


@pytest.mark.parametrize("who", ["tom", "kai", "system"])
def test_only_contract_processing_decides(engine, people, held, now, who):
    before = counts(engine)
    for decide in (
        lambda s: orders.release_order(s, people[who], order_id=held.order_id, now=now, policy=POLICY,
                                       registry=SimulatedRegistry()),
        lambda s: orders.reject_order(s, people[who], order_id=held.order_id, reason="Bonität", now=now),
        lambda s: orders.contact_customer(s, people[who], order_id=held.order_id, note="Anrufen", now=now),
    ):
        with pytest.raises(PermissionDenied):
            with write_session(engine) as s:
                decide(s)
    assert counts(engine) == before


def test_an_admin_may_release(engine, people, held, now):
    result = write(engine, orders.release_order, people["isabel"], order_id=held.order_id, now=now, policy=POLICY,
                   registry=SimulatedRegistry())
    assert result.status == "executed"


def test_unknown_order(engine, people, now):
    with pytest.raises(NotFound):
        write(engine, orders.release_order, people["sara"], order_id=999, now=now, policy=POLICY,
              registry=SimulatedRegistry())


# --------------------------------------------------------------------------- reject


def test_reject_needs_a_reason_and_writes_nothing_without(engine, people, held, now):
    before = counts(engine)
    for reason in ("", "   ", "x" * 2001):
        with pytest.raises(InvalidInput):
            write(engine, orders.reject_order, people["sara"], order_id=held.order_id, reason=reason, now=now)
    assert counts(engine) == before


def test_reject_frees_the_exposure_and_tells_the_customer_why(engine, people, customer, held, now):
    assert exposure(engine, customer) == Decimal("525.50")
    view = write(engine, orders.reject_order, people["sara"], order_id=held.order_id,
                 reason="Bonitätsprüfung negativ", now=now)
    assert view.status == "rejected"
    assert exposure(engine, customer) == Decimal("480.00")
    kind, subject, body = messages(engine, customer)[-1]
    assert kind == "order_rejected" and "VG-2026-000001" in subject and "Bonitätsprüfung negativ" in body
    assert ticket_by_number(engine, held.ticket_number).status == "resolved"
    assert any("Bonitätsprüfung negativ" in text for _, text, _ in history(engine, held.ticket_number))
    with read_session(engine) as s:
        audit = s.execute(select(AuditLog.agent_login, AuditLog.new).where(AuditLog.action == "order.reject")).one()
    assert audit.agent_login == "sara" and "Bonitätsprüfung negativ" in audit.new


def test_a_held_order_is_decided_once(engine, people, held, now):
    write(engine, orders.reject_order, people["sara"], order_id=held.order_id, reason="Nein", now=now)
    before = counts(engine)
    with pytest.raises(Conflict, match="sara") as err:
        write(engine, orders.release_order, people["isabel"], order_id=held.order_id, now=now + HOUR,
              policy=POLICY, registry=SimulatedRegistry())
    assert "abgelehnt" in err.value.message and "VG-2026-000001" in err.value.message
    assert err.value.current.status == "rejected"
    with pytest.raises(Conflict, match="sara"):
        write(engine, orders.reject_order, people["isabel"], order_id=held.order_id, reason="Doch", now=now)
    with pytest.raises(Conflict, match="sara"):
        write(engine, orders.contact_customer, people["isabel"], order_id=held.order_id, note="?", now=now)
    assert counts(engine) == before


@pytest.mark.parametrize("second", ["release", "reject"])
def test_two_agents_deciding_at_once_exactly_one_wins(engine, people, held, now, second):
    registry = SimulatedRegistry()
    barrier = threading.Barrier(2)
    results, refusals, errors = [], [], []

    def decide(login, action):
        try:
            barrier.wait()
            with write_session(engine) as s:
                if action == "release":
                    results.append(orders.release_order(s, people[login], order_id=held.order_id, now=now,
                                                        policy=POLICY, registry=registry))
                else:
                    results.append(orders.reject_order(s, people[login], order_id=held.order_id,
                                                       reason="Nein", now=now))
        except Conflict as exc:
            refusals.append((login, exc.message))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=decide, args=("sara", "release")),
               threading.Thread(target=decide, args=("isabel", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 1 and len(refusals) == 1
    loser, message = refusals[0]
    winner = "isabel" if loser == "sara" else "sara"
    assert winner in message
    # the registry was asked at most once, and only for a release
    assert len(registry.registered) == (1 if results[0].status == "executed" else 0)
    with read_session(engine) as s:
        decisions = s.execute(
            select(func.count()).select_from(AuditLog).where(AuditLog.action.in_(("order.release", "order.reject")))
        ).scalar_one()
        told = s.execute(
            select(func.count()).select_from(MessageLogEntry)
            .where(MessageLogEntry.kind.in_(("order_released", "order_rejected")))
        ).scalar_one()
    assert decisions == 1 and told == 1


def test_contact_and_release_at_once_never_leave_a_decided_ticket_waiting(engine, people, held, now):
    barrier = threading.Barrier(2)
    outcomes, errors = {}, []

    def run(name, fn):
        try:
            barrier.wait()
            with write_session(engine) as s:
                fn(s)
            outcomes[name] = "ok"
        except Conflict as exc:
            outcomes[name] = exc.message
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=("release", lambda s: orders.release_order(
            s, people["sara"], order_id=held.order_id, now=now, policy=POLICY, registry=SimulatedRegistry()))),
        threading.Thread(target=run, args=("contact", lambda s: orders.contact_customer(
            s, people["isabel"], order_id=held.order_id, note="Rückfrage", now=now))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and "ok" in outcomes.values()
    status, ticket = order_status(engine, held.order_id), ticket_by_number(engine, held.ticket_number)
    if status == "held":
        assert outcomes["release"] != "ok" and ticket.status == "waiting"
    else:
        assert status == "executed" and ticket.status == "resolved"


# --------------------------------------------------------------------------- contact


def test_contact_customer_adds_a_note_and_waits(engine, people, held, now):
    with pytest.raises(InvalidInput):
        write(engine, orders.contact_customer, people["sara"], order_id=held.order_id, note="  ", now=now)
    view = write(engine, orders.contact_customer, people["sara"], order_id=held.order_id,
                 note="Kunde angerufen, Rückruf erbeten.", now=now)
    assert view.status == "held"
    assert ticket_by_number(engine, held.ticket_number).status == "waiting"
    assert ("note", "Kunde angerufen, Rückruf erbeten.", "") in history(engine, held.ticket_number)
    # a second contact just adds the note
    write(engine, orders.contact_customer, people["sara"], order_id=held.order_id, note="Zweiter Versuch.", now=now)
    assert ticket_by_number(engine, held.ticket_number).status == "waiting"
    # and the order can still be released
    write(engine, orders.release_order, people["sara"], order_id=held.order_id, now=now, policy=POLICY,
          registry=SimulatedRegistry())
    assert ticket_by_number(engine, held.ticket_number).status == "resolved"


# --------------------------------------------------------------------------- retry


@pytest.fixture
def failed(engine, people, customer, now):
    return place(engine, people, customer, now - HOUR, "30.00", item="praxis.de",
                 registry=SimulatedRegistry(fail_items={"praxis.de"}))


def test_retry_executes_and_resolves_the_technik_ticket(engine, people, customer, failed, now):
    assert exposure(engine, customer) == Decimal("0.00")
    registry = SimulatedRegistry()
    result = write(engine, orders.retry_order, people["kai"], order_id=failed.order_id, now=now, policy=POLICY,
                   registry=registry)
    assert result.status == "executed"
    assert registry.registered == [("praxis.de", customer.number)]
    assert exposure(engine, customer) == Decimal("30.00")
    assert ticket_by_number(engine, failed.ticket_number).status == "resolved"
    with pytest.raises(Conflict, match="ausgeführt"):
        write(engine, orders.retry_order, people["kai"], order_id=failed.order_id, now=now, policy=POLICY,
              registry=registry)


def test_retry_that_fails_again_keeps_the_technik_ticket_open(engine, people, customer, failed, now):
    result = write(engine, orders.retry_order, people["kai"], order_id=failed.order_id, now=now, policy=POLICY,
                   registry=SimulatedRegistry(unreachable=True))
    assert result.status == "failed" and result.ticket_number == failed.ticket_number
    assert ticket_by_number(engine, failed.ticket_number).status != "resolved"
    assert any("nicht erreichbar" in text for _, text, _ in history(engine, failed.ticket_number))
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1
        assert "nicht erreichbar" in s.get(Order, failed.order_id).error
    assert exposure(engine, customer) == Decimal("0.00")


def test_retry_reruns_the_credit_check(engine, people, customer, failed, now):
    place(engine, people, customer, now - HOUR, "490.00", item="other.de")
    result = write(engine, orders.retry_order, people["kai"], order_id=failed.order_id, now=now, policy=POLICY,
                   registry=SimulatedRegistry())
    assert result.status == "held" and result.process_number == "VG-2026-000001"
    contract = ticket_by_number(engine, result.ticket_number)
    assert (contract.queue, contract.kind) == ("contract", "held_order")
    assert ticket_by_number(engine, failed.ticket_number).status == "resolved"
    assert exposure(engine, customer) == Decimal("520.00")


def test_retry_of_a_released_order_skips_the_credit_check(engine, people, customer, held, now):
    failed = write(engine, orders.release_order, people["sara"], order_id=held.order_id, now=now, policy=POLICY,
                   registry=SimulatedRegistry(unreachable=True))
    result = write(engine, orders.retry_order, people["kai"], order_id=held.order_id, now=now + HOUR,
                   policy=POLICY, registry=SimulatedRegistry())
    assert result.status == "executed" and result.process_number == "VG-2026-000001"
    assert ticket_by_number(engine, failed.ticket_number).status == "resolved"
    kind, subject, _ = messages(engine, customer)[-1]
    assert kind == "order_executed" and "VG-2026-000001" in subject


@pytest.mark.parametrize("who", ["sara", "tom", "system"])
def test_retry_is_for_technik(engine, people, failed, now, who):
    with pytest.raises(PermissionDenied):
        write(engine, orders.retry_order, people[who], order_id=failed.order_id, now=now, policy=POLICY,
              registry=SimulatedRegistry())


# --------------------------------------------------------------------------- credit limit


def test_change_credit_limit_is_audited_and_kept_in_history(engine, people, customer, now):
    change = write(engine, orders.change_credit_limit, people["sara"], customer_id=customer.id,
                   new_limit=Decimal("1000.00"), reason="Kundenwunsch, Bonität geprüft", now=now)
    assert (change.old_limit, change.new_limit, change.agent_login) == (Decimal("500.00"), Decimal("1000.00"), "sara")
    write(engine, orders.change_credit_limit, people["isabel"], customer_id=customer.id, new_limit="0",
          reason="Zahlungsverzug", now=now + HOUR)
    with read_session(engine) as s:
        assert s.get(Customer, customer.id).credit_limit == Decimal("0.00")
        hist = orders.credit_limit_history(s, customer.id)
        audit = s.execute(
            select(AuditLog.agent_login, AuditLog.old, AuditLog.new)
            .where(AuditLog.action == "customer.credit_limit").order_by(AuditLog.id)
        ).all()
    assert [(h.old_limit, h.new_limit, h.reason, h.agent_login) for h in hist] == [
        (Decimal("1000.00"), Decimal("0.00"), "Zahlungsverzug", "isabel"),
        (Decimal("500.00"), Decimal("1000.00"), "Kundenwunsch, Bonität geprüft", "sara"),
    ]
    assert hist[0].created_at == now + HOUR
    assert [a.agent_login for a in audit] == ["sara", "isabel"]
    assert "500.00" in audit[0].old and "1000.00" in audit[0].new and "Kundenwunsch" in audit[0].new


def test_a_raised_limit_lets_the_next_order_through(engine, people, customer, now):
    assert place(engine, people, customer, now, "600.00").status == "held"
    write(engine, orders.change_credit_limit, people["sara"], customer_id=customer.id, new_limit="2000.00",
          reason="Großkunde", now=now)
    assert place(engine, people, customer, now, "600.00", item="b.de").status == "executed"


@pytest.mark.parametrize("who", ["tom", "kai", "rebekka", "system"])
def test_only_contract_processing_changes_the_limit(engine, people, customer, now, who):
    before = counts(engine)
    with pytest.raises(PermissionDenied):
        write(engine, orders.change_credit_limit, people[who], customer_id=customer.id, new_limit="900.00",
              reason="Bitte", now=now)
    assert counts(engine) == before


@pytest.mark.parametrize(
    "new_limit, reason",
    [
        ("-1.00", "x"), (Decimal("-0.01"), "x"), (Decimal("NaN"), "x"), (Decimal("Infinity"), "x"),
        ("1.001", "x"), ("abc", "x"), ("", "x"), (12.5, "x"), (None, "x"), ("99999999.00", "x"),
        ("900.00", ""), ("900.00", "   "), ("500.00", "unverändert"),
    ],
)
def test_invalid_limit_changes_write_nothing(engine, people, customer, now, new_limit, reason):
    before = counts(engine)
    with pytest.raises(InvalidInput) as info:
        write(engine, orders.change_credit_limit, people["sara"], customer_id=customer.id, new_limit=new_limit,
              reason=reason, now=now)
    # The form shows the refusal under the field it names.
    assert info.value.field == ("reason" if not reason.strip() else "new_limit")
    assert counts(engine) == before
    with read_session(engine) as s:
        assert s.get(Customer, customer.id).credit_limit == Decimal("500.00")


def test_limit_change_of_an_unknown_customer(engine, people, now):
    with pytest.raises(NotFound):
        write(engine, orders.change_credit_limit, people["sara"], customer_id="not-a-uuid", new_limit="1.00",
              reason="x", now=now)


# --------------------------------------------------------------------------- settling


def test_settle_orders_until_a_berlin_day(engine, people, customer, now):
    other = make_customer(engine, people, now, name="Andere GmbH", limit="5000.00")
    # 9 March 2026, 23:30 in Berlin is 22:30 UTC; 10 March 00:30 in Berlin is 9 March 23:30 UTC.
    on_the_day = place(engine, people, customer, dt.datetime(2026, 3, 9, 22, 30, tzinfo=dt.timezone.utc), "10.00")
    next_day = place(engine, people, customer, dt.datetime(2026, 3, 9, 23, 30, tzinfo=dt.timezone.utc), "20.00",
                     item="b.de")
    earlier = place(engine, people, customer, dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone.utc), "30.00",
                    item="c.de")
    others = place(engine, people, other, dt.datetime(2026, 3, 2, 12, tzinfo=dt.timezone.utc), "40.00")
    held = place(engine, people, customer, dt.datetime(2026, 3, 2, 12, tzinfo=dt.timezone.utc), "900.00",
                 item="d.de")
    with pytest.raises(PermissionDenied):
        write(engine, orders.settle_orders_until, people["tom"], customer_id=None, until=dt.date(2026, 3, 9),
              now=now)
    n = write(engine, orders.settle_orders_until, people["sara"], customer_id=customer.id,
              until=dt.date(2026, 3, 9), now=now)
    assert n == 2
    statuses = {r.order_id: order_status(engine, r.order_id) for r in (on_the_day, next_day, earlier, others, held)}
    assert statuses == {on_the_day.order_id: "settled", next_day.order_id: "executed",
                        earlier.order_id: "settled", others.order_id: "executed", held.order_id: "held"}
    assert exposure(engine, customer) == Decimal("920.00")
    # all customers, and nothing twice
    assert write(engine, orders.settle_orders_until, people["sara"], customer_id=None,
                 until=dt.date(2026, 3, 10), now=now) == 2
    assert write(engine, orders.settle_orders_until, people["sara"], customer_id=None,
                 until=dt.date(2026, 3, 10), now=now) == 0
    with read_session(engine) as s:
        assert s.execute(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "order.settle")
        ).scalar_one() == 4
    with pytest.raises(InvalidInput):
        write(engine, orders.settle_orders_until, people["sara"], customer_id=None, until="2026-03-10", now=now)


# --------------------------------------------------------------------------- the held order as shown


def test_held_order_view_explains_the_case(engine, people, now):
    young = make_customer(engine, people, now, name="Neu & Co. KG", age_days=5)
    result = place(engine, people, young, now - HOUR, "800.00", item="premium.de")
    with read_session(engine) as s:
        view = orders.held_order_view(s, result.order_id, now=now, policy=POLICY)
        later = orders.held_order_view(s, result.order_id, now=now + dt.timedelta(days=1), policy=POLICY)
    assert (view.process_number, view.item, view.amount, view.status) == (
        "VG-2026-000001", "premium.de", Decimal("800.00"), "held")
    assert (view.credit_limit, view.exposure, view.over_limit) == (
        Decimal("500.00"), Decimal("800.00"), Decimal("300.00"))
    assert view.reason_codes == ("over_limit", "young_customer")
    assert any("Neukunde seit 4 Tagen" in r for r in view.reasons)
    assert any("Überschreitung um 300,00 €" in r for r in view.reasons)
    assert view.age == HOUR and view.age_label == "1 Std" and view.working_minutes == 60
    assert not view.overdue and later.overdue
    assert view.decided_by is None and view.decided_at is None
    assert view.ticket_number == result.ticket_number


def test_ticket_detail_carries_the_order(engine, people, held, now):
    with read_session(engine) as s:
        row = tickets.find_by_number(s, held.ticket_number)
        detail = ticket_detail.detail(s, row.id, now=now, policy=POLICY)
        plain = tickets.open_ticket(s, people["tom"], queue="support", subject="Frage", now=now)
        assert ticket_detail.detail(s, plain.id, now=now, policy=POLICY).order is None
    assert detail.order.process_number == "VG-2026-000001"
    assert detail.order.over_limit == Decimal("25.50")
    assert detail.order.exposure == Decimal("525.50")


# --------------------------------------------------------------------------- invalid amounts


invalid_amounts = st.one_of(
    st.decimals(max_value=Decimal("0"), allow_nan=False, allow_infinity=False, places=2),  # zero, negative
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3).filter(
        lambda d: d != d.quantize(Decimal("0.01"))
    ),
    st.sampled_from([Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"), float("nan"), 1.5,
                     True, None, "", "abc", "12,5,0", "1e400", "inf", "-0", "0.00", "0,001"]),
    st.text(alphabet=st.characters(categories=["L", "P", "Zs"]), max_size=8),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=invalid_amounts)
def test_any_invalid_amount_is_refused_and_nothing_written(engine, people, customer, now, amount):
    before = counts(engine)
    with pytest.raises(InvalidInput):
        with write_session(engine) as s:
            orders.place_order(s, people["system"], customer_id=customer.id, item="x.de", amount=amount, now=now,
                               policy=POLICY, registry=SimulatedRegistry())
    assert counts(engine) == before


# --------------------------------------------------------------------------- the contract queue


CONTRACT = TicketFilter(queue=Queue.CONTRACT)


@pytest.fixture
def contract_queue(engine, people, now):
    """25 contract tickets over three priorities, some created at the same moment, plus support noise."""
    made = []
    with write_session(engine) as s:
        for i in range(25):
            made.append(tickets.open_ticket(
                s, people["tom"], queue=Queue.CONTRACT, subject=f"Vorgang {i}",
                priority=(2, 3, 2, 1, 4)[i % 5], now=now - dt.timedelta(minutes=10 * (i % 9)),
            ))
        for i in range(5):
            tickets.open_ticket(s, people["tom"], queue=Queue.SUPPORT, subject=f"Support {i}",
                                now=now - dt.timedelta(minutes=i))
    return made


def oldest_first_order(rows):
    return [r.id for r in sorted(rows, key=lambda r: (-r.priority, r.created_at, r.id))]


def read_page(engine, people, filt=CONTRACT, **kw):
    with read_session(engine) as s:
        return tickets.list_page(s, people["sara"], filt, **kw)


def test_contract_queue_lists_oldest_first_within_priority(engine, people, contract_queue):
    expected = oldest_first_order(contract_queue)
    seen, pages, after = [], [], None
    while True:
        p = read_page(engine, people, after=after, limit=4)
        pages.append(p)
        seen.extend(r.id for r in p.rows)
        if not p.has_after:
            break
        after = p.rows[-1].key
    assert seen == expected
    assert [len(p.rows) for p in pages] == [4] * 6 + [1]
    assert not pages[0].has_before and all(p.has_before for p in pages[1:])
    # paging backwards from the last page gives the same pages
    backward, current = [], pages[-1]
    backward.append([r.id for r in current.rows])
    while current.has_before:
        current = read_page(engine, people, before=current.rows[0].key, limit=4)
        assert current.has_after
        backward.append([r.id for r in current.rows])
    assert backward[::-1] == [[r.id for r in p.rows] for p in pages]
    # every row's page starts where page_around says
    with read_session(engine) as s:
        for p in pages:
            again = tickets.page_around(s, people["sara"], CONTRACT, start=p.rows[0].key, limit=4)
            assert [r.id for r in again.rows] == [r.id for r in p.rows]


def test_other_queues_keep_newest_first(engine, people, contract_queue):
    rows = read_page(engine, people, TicketFilter(queue=Queue.SUPPORT)).rows
    assert [r.subject for r in rows] == [f"Support {i}" for i in range(5)]
    every = read_page(engine, people, TicketFilter(queue=None, view="unassigned"), limit=100).rows
    assert [r.id for r in every] == [
        r.id for r in sorted(every, key=lambda r: (r.priority, r.created_at, r.id), reverse=True)
    ]


def test_overdue_held_orders_are_marked_in_the_list(engine, people, customer, now):
    # now is Tuesday 09:30 in Berlin
    fresh = place(engine, people, customer, now - HOUR, "600.00", item="fresh.de")
    old = place(engine, people, customer, now - dt.timedelta(days=1), "600.00", item="old.de")
    decided = place(engine, people, customer, now - dt.timedelta(days=2), "600.00", item="decided.de")
    write(engine, orders.reject_order, people["sara"], order_id=decided.order_id, reason="Nein", now=now)
    with write_session(engine) as s:
        tickets.open_ticket(s, people["tom"], queue=Queue.CONTRACT, subject="Allgemein",
                            now=now - dt.timedelta(days=3))
    every = TicketFilter(queue=Queue.CONTRACT, statuses=tuple(TicketStatus))
    flags = {r.subject.split(":")[1].split()[0] if ":" in r.subject else r.subject: r.flags
             for r in read_page(engine, people, every, now=now, policy=POLICY).rows}
    assert "overdue" in flags["old.de"]
    assert "overdue" not in flags["fresh.de"]
    assert "overdue" not in flags["decided.de"]  # resolved
    assert "overdue" not in flags["Allgemein"]  # not a held order
    # computed, not stored: without a clock there is no flag
    assert all("overdue" not in r.flags for r in read_page(engine, people, every).rows)
    # the oldest held order leads the queue
    assert [r.subject.split(":")[1].split()[0] for r in read_page(engine, people).rows
            if r.kind == "held_order"] == ["old.de", "fresh.de"]
    # and a stricter policy marks the fresh one too
    quick = dataclasses.replace(POLICY, held_order_overdue_working_hours=0)
    assert all("overdue" in r.flags for r in read_page(engine, people, now=now, policy=quick).rows
               if r.kind == "held_order")
    with read_session(engine) as s:
        row = tickets.find_by_number(s, old.ticket_number)
        assert "overdue" in ticket_detail.detail(s, row.id, now=now, policy=POLICY).row.flags
        assert ticket_detail.detail(s, row.id, now=now, policy=POLICY).order.overdue
    _ = fresh
