"""Real-time orders under load (docs/rules.md#credit-limit).

(a) Process numbers stay unique, sequential per year and never reused while several OS
    processes ("spawn", each with its own engine from the URL) place over-limit orders at
    once.
(b) The credit check cannot be raced: orders that each fit the headroom alone but not
    together never all execute — by processes and by threads. The registry answers
    slowly; it is called after the order is committed as pending (which counts against
    the limit), so the slow answer must not let another order squeeze past the check.

SQLite runs on a file (WAL, ``BEGIN IMMEDIATE``), PostgreSQL in a schema of its own.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import traceback
from collections import Counter as Tally
from decimal import Decimal

import pytest
from sqlalchemy import select

from deskapp.services import agents, customers, orders
from deskapp.settings import Policy
from models.engine import make_engine, read_session, write_session
from models.enums import OrderStatus, Queue, TicketKind
from models.tables import Order, Ticket
from tests.support.race import race

NOW = dt.datetime(2026, 3, 10, 8, 30, tzinfo=dt.timezone.utc)
NEXT_YEAR = NOW.replace(year=2027)
POLICY = Policy()
WORKERS = 4
ORDERS_EACH = 12  # per process: alternating 2026 and 2027
RACE_ROUNDS = 5
RACE_LIMIT = Decimal("100.00")
RACE_AMOUNT = Decimal("30.00")  # three fit under the limit, the fourth does not
RACE_ORDERS_EACH = 2  # per process and round
THREADS = 6
THREAD_AMOUNT = Decimal("60.00")  # one fits, two do not


class SlowRegistry:
    """Accepts everything, after a pause: the order stays pending a while."""

    def __init__(self, pause: float = 0.02):
        self.pause = pause

    def register(self, item: str, customer_number: str, order_ref: str | None = None) -> None:
        time.sleep(self.pause)

    def status(self, order_ref: str):
        raise AssertionError("not asked in these tests")


def _customers(engine, people, count: int, limit: Decimal) -> list:
    with write_session(engine) as s:
        return [
            customers.create_customer(
                s, people["sara"], name=f"Lastkunde {i}", credit_limit=limit, now=NOW,
                created_at=NOW - dt.timedelta(days=400),
            )
            for i in range(count)
        ]


def _run_processes(target, args_for) -> list:
    return race(target, [args_for(w) for w in range(WORKERS)])


# --------------------------------------------------------------------------- (a) process numbers


def _held_orderer(url: str, worker: int, customer_ids: list, barrier, results) -> None:
    """Runs in a spawned process: over-limit orders, alternating between two years."""
    placed: list[tuple[int, str]] = []
    errors: list[str] = []
    try:
        engine = make_engine(url)
        with read_session(engine) as s:
            system = agents.system_agent(s)
        barrier.wait(30)
        for i in range(ORDERS_EACH):
            now = NOW if i % 2 == 0 else NEXT_YEAR
            try:
                with write_session(engine) as s:
                    result = orders.place_order(
                        s, system, customer_id=customer_ids[(worker + i) % len(customer_ids)],
                        item=f"p{worker}-{i}.de", amount=Decimal("10.00"), now=now, policy=POLICY,
                        registry=SlowRegistry(0),
                    )
                placed.append((now.year, result.process_number if result.status == "held" else result.status))
            except Exception as exc:  # "database is locked", deadlocks and friends
                errors.append(repr(exc))
        engine.dispose()
    except Exception:
        errors.append(traceback.format_exc())
        barrier.abort()
    results.put((worker, placed, errors))


@pytest.mark.slow
def test_process_numbers_from_parallel_processes_are_unique_sequential_per_year(db_url, engine, people):
    custs = _customers(engine, people, 3, Decimal("5.00"))  # every 10,00 € order is over the limit
    collected = _run_processes(_held_orderer, lambda w: (db_url, w, [c.id for c in custs]))
    assert [e for _, _, e in collected if e] == []

    per_year = ORDERS_EACH // 2 * WORKERS
    for year in (2026, 2027):
        numbers = sorted(number for _, placed, _ in collected for y, number in placed if y == year)
        assert numbers == [f"VG-{year}-{n:06d}" for n in range(1, per_year + 1)]  # unique, no gaps
        for _, placed, _ in collected:  # each process's own numbers rise
            own = [number for y, number in placed if y == year]
            assert own == sorted(own)

    with read_session(engine) as s:
        stored = s.execute(select(Order.process_number, Order.status)).all()
        held_tickets = s.execute(
            select(Ticket.number).where(Ticket.kind == TicketKind.HELD_ORDER, Ticket.queue == Queue.CONTRACT)
        ).scalars().all()
    assert len(stored) == len({p for p, _ in stored}) == WORKERS * ORDERS_EACH
    assert {status for _, status in stored} == {OrderStatus.HELD}
    assert len(held_tickets) == len(set(held_tickets)) == WORKERS * ORDERS_EACH

    # Never reused: the next order of each year continues the sequence.
    with write_session(engine) as s:
        system = agents.system_agent(s)
        later = [
            orders.place_order(
                s, system, customer_id=custs[0].id, item=f"danach-{now.year}.de", amount=Decimal("10.00"),
                now=now, policy=POLICY, registry=SlowRegistry(0),
            ).process_number
            for now in (NOW, NEXT_YEAR)
        ]
    assert later == [f"VG-2026-{per_year + 1:06d}", f"VG-2027-{per_year + 1:06d}"]


# --------------------------------------------------------------------------- (b) the credit check


def _racer(url: str, worker: int, customer_ids: list, barrier, results) -> None:
    """Runs in a spawned process: each round, all processes order for the same customer at once."""
    outcomes: list[tuple[str, str, str]] = []
    errors: list[str] = []
    try:
        engine = make_engine(url)
        with read_session(engine) as s:
            system = agents.system_agent(s)
        registry = SlowRegistry()
        for round_, customer_id in enumerate(customer_ids):
            barrier.wait(60)
            for i in range(RACE_ORDERS_EACH):
                try:
                    with write_session(engine) as s:
                        result = orders.place_order(
                            s, system, customer_id=customer_id, item=f"r{round_}-p{worker}-{i}.de",
                            amount=RACE_AMOUNT, now=NOW, policy=POLICY, registry=registry,
                        )
                    outcomes.append((str(customer_id), result.status, str(result.exposure)))
                except Exception as exc:
                    errors.append(repr(exc))
        engine.dispose()
    except Exception:
        errors.append(traceback.format_exc())
        barrier.abort()
    results.put((worker, outcomes, errors))


def _statuses(engine, customer_id) -> Tally:
    with read_session(engine) as s:
        return Tally(s.execute(select(Order.status).where(Order.customer_id == customer_id)).scalars())


def _executed_sum(engine, customer_id) -> Decimal:
    with read_session(engine) as s:
        amounts = s.execute(
            select(Order.amount).where(Order.customer_id == customer_id, Order.status == OrderStatus.EXECUTED)
        ).scalars()
        return sum(amounts, Decimal("0.00"))


@pytest.mark.slow
def test_processes_cannot_race_past_the_credit_limit(db_url, engine, people):
    custs = _customers(engine, people, RACE_ROUNDS, RACE_LIMIT)
    collected = _run_processes(_racer, lambda w: (db_url, w, [c.id for c in custs]))
    assert [e for _, _, e in collected if e] == []

    per_customer = WORKERS * RACE_ORDERS_EACH
    fit = int(RACE_LIMIT // RACE_AMOUNT)  # 3
    for c in custs:
        assert _statuses(engine, c.id) == {OrderStatus.EXECUTED: fit, OrderStatus.HELD: per_customer - fit}
        assert _executed_sum(engine, c.id) <= RACE_LIMIT
        with read_session(engine) as s:
            assert orders.exposure(s, c.id) == RACE_AMOUNT * per_customer  # executed + held
    # Every answer a process got was consistent: executed only while exposure stayed within the limit.
    for _, outcomes, _ in collected:
        for _, status, exposure in outcomes:
            assert (Decimal(exposure) <= RACE_LIMIT) == (status == OrderStatus.EXECUTED)


@pytest.mark.slow
def test_threads_cannot_race_past_the_credit_limit(db_url, engine, people):
    """Several clients (threads, an engine each) order at the same instant; only one order fits."""
    custs = _customers(engine, people, RACE_ROUNDS, RACE_LIMIT)
    engines = [make_engine(db_url) for _ in range(THREADS)]
    with read_session(engine) as s:
        system = agents.system_agent(s)
    errors: list[str] = []
    try:
        for c in custs:
            barrier = threading.Barrier(THREADS)

            def place(own_engine, n, customer_id=c.id, barrier=barrier):
                try:
                    barrier.wait(30)
                    with write_session(own_engine) as s:
                        orders.place_order(
                            s, system, customer_id=customer_id, item=f"t{n}.de", amount=THREAD_AMOUNT,
                            now=NOW, policy=POLICY, registry=SlowRegistry(),
                        )
                except Exception as exc:
                    errors.append(repr(exc))

            threads = [threading.Thread(target=place, args=(e, n)) for n, e in enumerate(engines)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
    finally:
        for e in engines:
            e.dispose()
    assert errors == []
    for c in custs:
        assert _statuses(engine, c.id) == {OrderStatus.EXECUTED: 1, OrderStatus.HELD: THREADS - 1}
        assert _executed_sum(engine, c.id) == THREAD_AMOUNT
