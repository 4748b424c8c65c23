"""Orders are never lost and never executed twice (docs/rules.md#order-protocol), against a
real registry on 127.0.0.1 (``tests.support.registry``), on SQLite and PostgreSQL.

* ``deskapp order`` killed with SIGKILL while the registry holds its request: the order
  is there as pending and counts against the limit; ``deskapp orders recover`` asks the
  registry and finishes it; the registry executed that ref exactly once.
* A registry that answers after the client's deadline: the order fails, and Technik's
  retry (same ref) does not execute it a second time. A registry trickling its answer
  byte by byte cannot stretch the deadline.
* Five orders at once while the registry holds every request: no "database is locked",
  a desk write meanwhile goes through, all five execute once released.
* ``--ref``: twice in a row and two racing processes give one order; other facts under
  the same reference are refused.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from deskapp.services import customers, orders, tickets
from deskapp.services.registry import ENV_URL, HttpRegistry, order_ref
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.enums import OrderStatus, Queue, TicketKind
from models.tables import AuditLog, Order, Ticket
from screens.cli import main
from tests.support.deskdata import NOW
from tests.support.registry import RegistryServer

DESKAPP = Path(sys.executable).parent / "deskapp"
POLICY = Policy()
STALE = dt.timedelta(minutes=POLICY.order_pending_stale_minutes + 1)
DEADLINE = 0.5  # seconds, the client's whole-request deadline where a test sets it


@pytest.fixture
def registry(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    server = RegistryServer().start()
    monkeypatch.setenv(ENV_URL, server.url)
    yield server
    server.stop()


@pytest.fixture
def krume(engine, people):
    with write_session(engine) as s:
        return customers.create_customer(
            s, people["sara"], name="Bäckerei Krume GmbH", email="info@krume.example",
            credit_limit=Decimal("500.00"), now=NOW, created_at=NOW - dt.timedelta(days=400),
        )


def _env(url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env[ENV_URL] = url
    return env


def _order_cli(db_url, registry, customer, amount, *, item="krume-backshop.de", ref=None) -> subprocess.Popen:
    argv = [str(DESKAPP), "order", "--db", db_url, "--customer", customer.number, "--item", item,
            "--amount", amount, "--json"]
    if ref:
        argv += ["--ref", ref]
    return subprocess.Popen(argv, env=_env(registry.url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _orders(engine, customer):
    with read_session(engine) as s:
        return s.execute(
            select(Order.id, Order.status, Order.shop_ref).where(Order.customer_id == customer.id).order_by(Order.id)
        ).all()


def _exposure(engine, customer):
    with read_session(engine) as s:
        return orders.exposure(s, customer.id)


def _place(engine, people, customer, amount, registry, *, item="krume-backshop.de", who="system"):
    with write_session(engine) as s:
        return orders.place_order(
            s, people[who], customer_id=customer.id, item=item, amount=Decimal(amount), now=NOW, policy=POLICY,
            registry=registry,
        )


# --------------------------------------------------------------------------- kill -9 mid-call


def test_an_order_killed_during_the_registry_call_is_pending_and_recover_finishes_it(
    engine, db_url, people, krume, registry, monkeypatch, capsys
):
    registry.hold()
    proc = _order_cli(db_url, registry, krume, "120.00")
    try:
        registry.wait_for(lambda r: len(r.posts) == 1)
        # The registry has the request; the desk already has the order, and it counts.
        [(order_id, status, _)] = _orders(engine, krume)
        assert status == OrderStatus.PENDING and registry.posts == [order_ref(order_id)]
        assert _exposure(engine, krume) == Decimal("120.00")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    registry.release()  # the registry carries it out although the desk is gone
    registry.wait_for(lambda r: r.executions[order_ref(order_id)] == 1)
    assert _orders(engine, krume) == [(order_id, OrderStatus.PENDING, None)]
    assert _exposure(engine, krume) == Decimal("120.00")

    # ``deskapp order`` ran on the real clock; recover runs on it now and once the order is stale.
    started = dt.datetime.now(dt.UTC)
    monkeypatch.setattr("screens.cli._now", lambda: started)  # not stale yet: left alone
    assert main(["orders", "recover", "--db", db_url]) == 0
    assert capsys.readouterr().out.startswith("Keine hängenden Bestellungen.")
    assert registry.gets == []

    monkeypatch.setattr("screens.cli._now", lambda: started + STALE)
    assert main(["orders", "recover", "--db", db_url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["executed"] == 1 and report["orders"][0]["order"] == order_id
    assert _orders(engine, krume) == [(order_id, OrderStatus.EXECUTED, None)]
    assert _exposure(engine, krume) == Decimal("120.00")
    assert registry.gets == [order_ref(order_id)]
    assert registry.posts == [order_ref(order_id)]  # recover asked; it never registered again
    assert registry.executions[order_ref(order_id)] == 1
    with read_session(engine) as s:
        actions = s.execute(
            select(AuditLog.action).where(AuditLog.entity == "order", AuditLog.entity_id == str(order_id))
            .order_by(AuditLog.id)
        ).scalars().all()
    assert actions == ["order.place", "order.execute"]


def test_recover_opens_one_technik_ticket_when_the_registry_does_not_know_the_order(
    engine, db_url, people, krume, registry, monkeypatch, capsys
):
    registry.hold()
    proc = _order_cli(db_url, registry, krume, "80.00")
    registry.wait_for(lambda r: len(r.posts) == 1)
    proc.kill()
    proc.wait(10)
    [(order_id, _, _)] = _orders(engine, krume)
    registry.lose = True  # the request never got through: the registry does not know the ref
    registry.release()
    registry.wait_for(lambda r: r.lost == [order_ref(order_id)])

    monkeypatch.setattr("screens.cli._now", lambda: dt.datetime.now(dt.UTC) + STALE)
    for _ in range(2):  # the hourly job again: still one ticket, still pending
        assert main(["orders", "recover", "--db", db_url]) == 6
        assert "unklar" in capsys.readouterr().out
    assert _orders(engine, krume) == [(order_id, OrderStatus.PENDING, None)]
    assert _exposure(engine, krume) == Decimal("80.00")
    with read_session(engine) as s:
        found = s.execute(
            select(Ticket.queue, Ticket.kind, Ticket.body).where(Ticket.order_id == order_id)
        ).all()
    assert len(found) == 1
    assert (found[0].queue, found[0].kind) == (Queue.TECHNICAL, TicketKind.REGISTRY_FAILURE)
    assert "Status unklar, bitte bei der Vergabestelle prüfen" in found[0].body
    assert order_ref(order_id) in found[0].body
    assert registry.posts == [order_ref(order_id)]  # never registered blind


# --------------------------------------------------------------------------- late answers


def test_a_late_answer_fails_the_order_and_the_retry_does_not_register_it_twice(engine, people, krume, registry):
    registry.delay = 1.0  # the registry executes, but answers after the client's deadline
    result = _place(engine, people, krume, "30.00", HttpRegistry(registry.url, DEADLINE))
    ref = order_ref(result.order_id)
    assert result.status == OrderStatus.FAILED and "Zeitüberschreitung" in result.notice
    registry.wait_for(lambda r: r.executions[ref] == 1)
    registry.delay = 0.0
    with write_session(engine) as s:
        retried = orders.retry_order(s, people["kai"], order_id=result.order_id, now=NOW, policy=POLICY,
                                     registry=HttpRegistry(registry.url, 5))
    assert retried.status == OrderStatus.EXECUTED
    assert registry.posts == [ref, ref]  # asked twice with the same key …
    assert registry.executions[ref] == 1  # … executed once
    assert _exposure(engine, krume) == Decimal("30.00")
    with read_session(engine) as s:
        tech = s.execute(select(Ticket.status).where(Ticket.order_id == result.order_id)).scalar_one()
    assert tech == "resolved"


def test_the_deadline_bounds_the_whole_request_not_each_read(engine, people, krume, registry):
    registry.trickle = 0.2  # every byte well within a socket timeout, the whole answer not
    result = _place(engine, people, krume, "30.00", HttpRegistry(registry.url, DEADLINE))
    assert result.status == OrderStatus.FAILED
    with read_session(engine) as s:
        error = s.get(Order, result.order_id).error
    assert error == f"Vergabestelle nicht erreichbar: Zeitüberschreitung nach 0,5 s ({registry.url})."


# --------------------------------------------------------------------------- no lock across the call


def test_five_orders_at_once_while_the_registry_holds_them_and_the_desk_keeps_working(
    engine, people, krume, registry, now
):
    with write_session(engine) as s:
        ticket = tickets.open_ticket(s, people["sara"], queue=Queue.SUPPORT, subject="Drucker", now=now)
    registry.hold()
    results, errors = [], []

    def one(i: int) -> None:
        try:
            results.append(_place(engine, people, krume, "50.00", HttpRegistry(registry.url, 15),
                                  item=f"krume-{i}.de"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    try:
        registry.wait_for(lambda r: len(r.posts) == 5)  # all five are at the registry at once
        # A desk write while the registry holds all of them: it does not wait for the registry.
        with write_session(engine) as s:
            claimed = tickets.claim(s, people["tom"], tickets.get_row(s, ticket.id), now=now)
        assert claimed.assignee_login == "tom"
        assert _exposure(engine, krume) == Decimal("250.00")  # pending counts
    finally:
        registry.release()
        for t in threads:
            t.join(30)
    assert errors == []
    assert sorted(r.status for r in results) == [OrderStatus.EXECUTED] * 5
    assert sorted(registry.executions.values()) == [1] * 5


# --------------------------------------------------------------------------- the shop's reference


def test_the_same_shop_ref_twice_is_one_order_with_the_same_answer(engine, db_url, krume, registry, monkeypatch,
                                                                     capsys):
    monkeypatch.setattr("screens.cli._now", lambda: NOW)
    # Exactly up to the limit: the order counts once in its own credit check.
    argv = ["order", "--db", db_url, "--customer", krume.number, "--item", "krume.de", "--amount", "500.00",
            "--ref", "SHOP-4711"]
    first = main(argv), capsys.readouterr()
    second = main(argv), capsys.readouterr()
    assert first[0] == second[0] == 0
    assert first[1].out == second[1].out == (
        "Ihre Bestellung „krume.de“ über 500,00 € wurde ausgeführt.\n"
        f"Kunde {krume.number} · Kreditlimit 500,00 € · Obligo 500,00 € · frei 0,00 €\n"
    )
    [(order_id, status, ref)] = _orders(engine, krume)
    assert (status, ref) == (OrderStatus.EXECUTED, "SHOP-4711")
    assert registry.executions == {order_ref(order_id): 1}

    code = main(argv[:-3] + ["25.00", "--ref", "SHOP-4711"])
    err = capsys.readouterr().err
    assert code == 5
    assert err.startswith("deskapp: Fehler: Die Shop-Referenz SHOP-4711 gehört schon zu Bestellung")
    assert "Traceback" not in err
    assert len(_orders(engine, krume)) == 1


def test_a_failed_shop_order_repeated_gives_the_same_failure(engine, db_url, krume, registry, monkeypatch, capsys):
    monkeypatch.setattr("screens.cli._now", lambda: NOW)
    registry.refuse("belegt.de")
    argv = ["order", "--db", db_url, "--customer", krume.number, "--item", "belegt.de", "--amount", "9.00",
            "--ref", "SHOP-1", "--json"]
    answers = []
    for _ in range(2):
        code = main(argv)
        answers.append((code, json.loads(capsys.readouterr().out)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 6 and answers[0][1]["status"] == "failed"
    assert len(registry.posts) == 1


def test_two_racing_processes_with_one_shop_ref_place_one_order(engine, db_url, krume, registry):
    procs = [_order_cli(db_url, registry, krume, "40.00", ref="SHOP-RACE") for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert "Traceback" not in err
        outs.append(json.loads(out))
    [(order_id, _, ref)] = _orders(engine, krume)
    assert ref == "SHOP-RACE"
    assert {o["order"] for o in outs} == {order_id}
    registry.wait_for(lambda r: r.executions[order_ref(order_id)] == 1)
    assert registry.executions == {order_ref(order_id): 1}
    assert _exposure(engine, krume) == Decimal("40.00")
