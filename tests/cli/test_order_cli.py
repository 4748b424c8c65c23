"""``deskapp order`` and ``deskapp orders settle``: the shop's way in (SQLite and PostgreSQL).

What the customer is shown (executed / held with a process number / failed with a
technical ticket), the JSON form, the exit codes (0 executed or held, 6 registry failed,
2 bad input with one German line and nothing written), and the console script run as a
real process without a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from screens.cli import main
from deskapp.services import customers, orders, settings_store
from deskapp.services.registry import ENV_URL
from models.engine import read_session, write_session
from models.enums import OrderStatus, Queue, TicketKind
from models.tables import AuditLog, Counter, MessageLogEntry, Order, Ticket
from tests.support.deskdata import NOW

DESKAPP = Path(sys.executable).parent / "deskapp"


@pytest.fixture(autouse=True)
def _fixed_clock_and_registry(monkeypatch):
    monkeypatch.setattr("screens.cli._now", lambda: NOW)
    monkeypatch.delenv(ENV_URL, raising=False)


@pytest.fixture
def krume(engine, people):
    """A customer of long standing with the default limit of 500,00 €."""
    with write_session(engine) as s:
        return customers.create_customer(
            s, people["sara"], name="Bäckerei Krume GmbH", email="info@krume.example",
            credit_limit=Decimal("500.00"), now=NOW, created_at=NOW - dt.timedelta(days=400),
        )


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def order(db_url, customer, amount, capsys, *, item="krume-backshop.de", json_=False):
    argv = ["order", "--db", db_url, "--customer", customer, "--item", item, "--amount", amount]
    return run(argv + (["--json"] if json_ else []), capsys)


def written(engine) -> dict:
    """Everything an order can write, counted."""
    with read_session(engine) as s:
        counts = {
            table.__name__: s.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (Order, Ticket, AuditLog, MessageLogEntry)
        }
        counts.update({f"counter:{c.name}": c.value for c in s.execute(select(Counter)).scalars()})
    return counts


# --------------------------------------------------------------------------- help


@pytest.mark.parametrize("argv", [["order", "--help"], ["orders", "--help"], ["orders", "settle", "--help"]])
def test_order_commands_have_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "Aufruf: deskapp" in out and "6 Vergabestelle fehlgeschlagen" in " ".join(out.split())


# --------------------------------------------------------------------------- the three outcomes


def test_order_within_the_limit_is_executed_as_the_system_agent(db_url, engine, people, krume, capsys):
    code, out, err = order(db_url, krume.number, "12.50", capsys)
    assert (code, err) == (0, "")
    assert "Ihre Bestellung „krume-backshop.de“ über 12,50 € wurde ausgeführt." in out
    assert "Kreditlimit 500,00 € · Obligo 12,50 € · frei 487,50 €" in out
    with read_session(engine) as s:
        row = s.execute(select(Order.status, Order.placed_by_id, Order.amount)).one()
    assert tuple(row) == (OrderStatus.EXECUTED, people["system"].id, Decimal("12.50"))


def test_order_json_when_executed(db_url, krume, capsys):
    code, out, _ = order(db_url, str(krume.id), "12,5", capsys, json_=True)  # by UUID, German comma
    assert code == 0
    answer = json.loads(out)
    assert {k: answer[k] for k in (
        "status", "process_number", "ticket", "customer", "amount", "limit", "exposure", "headroom"
    )} == {
        "status": "executed", "process_number": None, "ticket": None, "customer": krume.number,
        "amount": "12.50", "limit": "500.00", "exposure": "12.50", "headroom": "487.50",
    }
    assert answer["customer_id"] == str(krume.id) and answer["item"] == "krume-backshop.de"


def test_order_over_the_limit_is_held_with_a_process_number(db_url, engine, krume, capsys):
    assert order(db_url, krume.number, "490.00", capsys)[0] == 0
    code, out, err = order(db_url, krume.number, "12.50", capsys, item="krume.shop")
    assert (code, err) == (0, "")
    assert "Ihre Vorgangsnummer: VG-2026-000001." in out
    assert "Vertragsbearbeitung prüft sie" in out and "Sie müssen nichts tun" in out and "kein Fax" in out
    assert "Obligo 502,50 € · frei -2,50 €" in out
    with read_session(engine) as s:
        ticket = s.execute(select(Ticket.queue, Ticket.kind).where(Ticket.kind == TicketKind.HELD_ORDER)).one()
    assert ticket == (Queue.CONTRACT, TicketKind.HELD_ORDER)

    code, out, _ = order(db_url, krume.number, "1.00", capsys, item="krume.online", json_=True)
    answer = json.loads(out)
    assert code == 0
    assert answer["status"] == "held" and answer["process_number"] == "VG-2026-000002"
    assert isinstance(answer["ticket"], int)
    assert (answer["amount"], answer["limit"], answer["exposure"], answer["headroom"]) == (
        "1.00", "500.00", "503.50", "-3.50"
    )


def _set(engine, people, key, value):
    with write_session(engine) as s:
        settings_store.set_setting(s, people["isabel"], key=key, value=value, now=NOW)


def test_registry_refusal_exits_6_with_the_technical_ticket(db_url, engine, people, krume, capsys):
    _set(engine, people, "registry_simulate_fail_items", "vergeben.de")
    code, out, err = order(db_url, krume.number, "12.50", capsys, item="vergeben.de")
    assert code == 6
    with read_session(engine) as s:
        number, queue, order_status = s.execute(
            select(Ticket.number, Ticket.queue, Order.status).join(Order, Order.id == Ticket.order_id)
        ).one()
    assert (queue, order_status) == (Queue.TECHNICAL, OrderStatus.FAILED)
    assert f"Unsere Technik kümmert sich darum (Ticket #{number})" in out
    assert "Registrierung von vergeben.de abgelehnt" in out
    assert "Obligo 0,00 € · frei 500,00 €" in out  # nothing charged
    assert err.startswith("deskapp: Fehler: Vergabestelle fehlgeschlagen") and err.count("\n") == 1
    assert f"Technik-Ticket #{number}" in err


def test_registry_failure_as_json(db_url, engine, people, krume, capsys):
    _set(engine, people, "registry_simulate_unreachable_until", "2026-03-10T12:00")  # NOW is 09:30 Berlin
    code, out, err = order(db_url, krume.number, "12.50", capsys, json_=True)
    answer = json.loads(out)
    assert (code, err) == (6, "")
    assert answer["status"] == "failed" and isinstance(answer["ticket"], int)
    assert answer["process_number"] is None and "nicht erreichbar" in answer["error"]
    assert (answer["exposure"], answer["headroom"]) == ("0.00", "500.00")


def test_absent_http_registry_from_the_environment_exits_6(db_url, krume, capsys, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(ENV_URL, f"http://127.0.0.1:{port}/order")
    code, out, _ = order(db_url, krume.number, "12.50", capsys, json_=True)
    assert code == 6
    assert json.loads(out)["error"].startswith("Vergabestelle nicht erreichbar: Verbindung abgelehnt")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "amount",
    ["-1", "0", "0.00", "abc", "1.234", "nan", "NaN", "inf", "1e2", "", " ", "12.5.0", "12.500", "١٢", "1.000,00"],
)
def test_bad_amount_is_refused_with_one_line_and_nothing_written(db_url, engine, krume, amount, capsys):
    before = written(engine)
    code, out, err = order(db_url, krume.number, amount, capsys)
    assert code == 2 and out == ""
    assert err == (
        "deskapp: Fehler: Der Betrag muss ein positiver Euro-Betrag mit höchstens zwei Nachkommastellen sein.\n"
    )
    assert written(engine) == before


@pytest.mark.parametrize("customer", ["K-99999", "00000000-0000-4000-8000-00000000abcd", ""])
def test_unknown_customer_is_refused_with_one_line_and_nothing_written(db_url, engine, krume, customer, capsys):
    before = written(engine)
    code, out, err = order(db_url, customer, "12.50", capsys)
    assert code == 2 and out == ""
    assert err.startswith("deskapp: Fehler: Kunde") and "gibt es nicht" in err and err.count("\n") == 1
    assert written(engine) == before


def test_empty_item_and_missing_db_are_bad_input(db_url, engine, krume, capsys):
    before = written(engine)
    code, _, err = order(db_url, krume.number, "12.50", capsys, item="  ")
    assert code == 2 and "braucht einen Artikel" in err
    code, _, err = run(["order", "--customer", krume.number, "--item", "a.de", "--amount", "1"], capsys)
    assert code == 2 and "braucht --db" in err
    with pytest.raises(SystemExit) as exit_:
        main(["order", "--db", db_url, "--item", "a.de", "--amount", "1"])
    assert exit_.value.code == 2 and "--customer" in capsys.readouterr().err
    assert written(engine) == before


# --------------------------------------------------------------------------- settling


def test_settle_one_order_frees_its_amount(db_url, engine, krume, capsys):
    order(db_url, krume.number, "490.00", capsys, json_=True)
    with read_session(engine) as s:
        order_id = s.execute(select(Order.id)).scalar_one()
    code, out, err = run(["orders", "settle", "--db", db_url, "--order", str(order_id)], capsys)
    assert (code, err) == (0, "")
    assert out == f"Bestellung {order_id} (krume-backshop.de, 490,00 €) als abgerechnet markiert.\n"
    with read_session(engine) as s:
        assert orders.exposure(s, krume.id) == Decimal("0.00")
    code, _, err = run(["orders", "settle", "--db", db_url, "--order", str(order_id)], capsys)
    assert code == 2 and "Nur ausgeführte Bestellungen" in err
    code, _, err = run(["orders", "settle", "--db", db_url, "--order", "4711"], capsys)
    assert code == 1 and "4711" in err


def test_settle_needs_exactly_one_of_order_or_until(db_url, capsys):
    for argv in (["orders", "settle", "--db", db_url], ["orders", "settle", "--db", db_url, "--order", "1",
                                                       "--until", "10.03.26"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        assert capsys.readouterr().err.count("\n") == 1


def test_settle_until_a_date_for_one_customer(db_url, engine, people, krume, capsys):
    with write_session(engine) as s:
        other = customers.create_customer(
            s, people["sara"], name="Conny Schuster", credit_limit=Decimal("500.00"), now=NOW,
            created_at=NOW - dt.timedelta(days=400),
        )
    order(db_url, krume.number, "100.00", capsys)
    order(db_url, other.number, "50.00", capsys)
    code, out, err = run(
        ["orders", "settle", "--db", db_url, "--until", "10.03.26", "--customer", krume.number], capsys
    )
    assert (code, err) == (0, "")
    assert out == "1 Bestellung bis 10.03.26 als abgerechnet markiert.\n"
    with read_session(engine) as s:
        assert orders.exposure(s, krume.id) == Decimal("0.00")
        assert orders.exposure(s, other.id) == Decimal("50.00")
    code, out, _ = run(["orders", "settle", "--db", db_url, "--until", "2026-03-10"], capsys)
    assert code == 0 and out.startswith("1 Bestellung")
    code, _, err = run(["orders", "settle", "--db", db_url, "--until", "gestern"], capsys)
    assert code == 2 and "kein Datum" in err


# --------------------------------------------------------------------------- a real process


def test_console_script_orders_and_refuses_without_a_traceback(db_url, krume):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop(ENV_URL, None)
    ok = subprocess.run(
        [str(DESKAPP), "order", "--db", db_url, "--customer", krume.number, "--item", "krume.de",
         "--amount", "12.50", "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "executed"
    bad = subprocess.run(
        [str(DESKAPP), "order", "--db", db_url, "--customer", krume.number, "--item", "krume.de",
         "--amount", "1.234"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert "Traceback" not in bad.stderr and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("deskapp: Fehler: Der Betrag")
