"""``deskapp package book``: shop bookings of hour packages, idempotent by ``--ref``.

As the ``system`` agent, exit codes as ``deskapp order`` (0 booked or already booked,
2 bad input with nothing written, 5 the reference booked with other facts), and two
processes booking the same reference at once book one package (SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import traceback
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from screens.cli import main
from deskapp.services import customers
from models.engine import read_session, write_session
from models.tables import AuditLog, HourPackage

from tests.support.deskdata import NOW

RACERS = 4


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr("screens.cli._now", lambda: NOW)


@pytest.fixture
def krume(engine, people):
    with write_session(engine) as s:
        return customers.create_customer(s, people["sara"], name="Bäckerei Krume GmbH", number="K-20001",
                                         email="info@krume.example", credit_limit=Decimal("500.00"), now=NOW)


def book(db_url, capsys, *, ref="SHOP-4711", hours="10", price="990,00", purchased="01.03.2026",
         customer="K-20001", json_=True):
    argv = ["package", "book", "--db", db_url, "--customer", customer, "--hours", hours, "--price", price,
            "--purchased", purchased, "--ref", ref] + (["--json"] if json_ else [])
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def packages(engine) -> list[tuple]:
    with read_session(engine) as s:
        return s.execute(select(HourPackage.shop_ref, HourPackage.minutes, HourPackage.price)).all()


def test_books_as_system_and_the_same_ref_again_books_once(db_url, engine, krume, capsys):
    code, out, err = book(db_url, capsys)
    assert (code, err) == (0, "")
    first = json.loads(out)
    assert first["status"] == "booked" and first["minutes"] == 600 and first["price"] == "990.00"
    assert first["valid_until"] == "2028-03-01" and first["customer"] == "K-20001"
    code, out, err = book(db_url, capsys)
    again = json.loads(out)
    assert code == 0 and again["status"] == "already_booked" and again["package"] == first["package"]
    assert "schon gebucht" in again["message"] and "nichts geändert" in again["message"]
    assert packages(engine) == [("SHOP-4711", 600, Decimal("990.00"))]
    with read_session(engine) as s:
        audit = s.execute(select(AuditLog.agent_login, AuditLog.new).where(AuditLog.action == "package.book")).all()
    assert len(audit) == 1 and audit[0][0] == "system" and json.loads(audit[0][1])["shop_ref"] == "SHOP-4711"


def test_plain_text_output(db_url, engine, krume, capsys):
    code, out, _ = book(db_url, capsys, json_=False, hours="7:30", price="450")
    assert code == 0
    assert out.strip() == (
        "Stundenpaket 07:30 Std für K-20001 (Bäckerei Krume GmbH) gebucht: 450,00 €, gekauft 01.03.26, "
        "gültig bis 01.03.28 · Referenz SHOP-4711"
    )


def test_the_same_ref_with_other_facts_is_a_conflict(db_url, engine, krume, capsys):
    assert book(db_url, capsys)[0] == 0
    code, out, err = book(db_url, capsys, hours="20")
    assert code == 5 and out == ""
    assert "SHOP-4711 ist schon gebucht" in err and "Nichts geändert" in err
    assert len(packages(engine)) == 1


@pytest.mark.parametrize("change, expected", [
    ({"customer": "K-99999"}, "Kunde 'K-99999' gibt es nicht"),
    ({"hours": "zehn"}, "keine Zeit"),
    ({"hours": "0"}, "größer als 0:00"),
    ({"price": "-5"}, "Der Preis muss"),
    ({"price": "12,345"}, "Der Preis muss"),
    ({"purchased": "32.13.2026"}, "ist kein Datum"),
    ({"purchased": "01.01.2027"}, "nicht in der Zukunft"),
    ({"ref": "  "}, "Shop-Referenz fehlt"),
    ({"ref": "A B"}, "Shop-Referenz fehlt"),
    ({"ref": "x" * 65}, "Shop-Referenz fehlt"),
])
def test_bad_input_is_exit_2_and_nothing_written(change, expected, db_url, engine, krume, capsys):
    code, out, err = book(db_url, capsys, **change)
    assert code == 2 and out == ""
    assert err.startswith("deskapp: Fehler: ") and expected in err and err.count("\n") == 1
    assert packages(engine) == []


def test_agents_still_book_by_hand_and_the_system_agent_only_with_a_ref(engine, krume, people):
    from deskapp.services import budget, settings_store
    from deskapp.services.errors import PermissionDenied

    with write_session(engine) as s:
        policy = settings_store.load_policy(s)
        view = budget.book_package(s, people["sara"], customer_id=krume.id, minutes=60, price=Decimal("99.00"),
                                   purchased_on=dt.date(2026, 3, 1), now=NOW, policy=policy)
        assert view.booked_minutes == 60
        with pytest.raises(PermissionDenied):
            budget.book_package(s, people["system"], customer_id=krume.id, minutes=60, price=Decimal("99.00"),
                                purchased_on=dt.date(2026, 3, 1), now=NOW, policy=policy)


def _booker(url: str, barrier, results) -> None:
    """Runs in a spawned process: the shop's retry arriving at the same moment."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from screens import cli

    cli._now = lambda: NOW
    try:
        barrier.wait(30)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = cli.main(["package", "book", "--db", url, "--customer", "K-20001", "--hours", "10",
                             "--price", "990", "--purchased", "01.03.2026", "--ref", "SHOP-RACE", "--json"])
        results.put((code, out.getvalue(), err.getvalue()))
    except Exception:
        results.put((-1, "", traceback.format_exc()))


@pytest.mark.slow
def test_processes_booking_the_same_ref_in_parallel_book_one_package(db_url, engine, krume):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(RACERS)
    results = ctx.Queue()
    procs = [ctx.Process(target=_booker, args=(db_url, barrier, results)) for _ in range(RACERS)]
    for p in procs:
        p.start()
    collected = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert all(code == 0 for code, _, _ in collected), collected
    statuses = sorted(json.loads(out)["status"] for _, out, _ in collected)
    assert statuses == ["already_booked"] * (RACERS - 1) + ["booked"]
    assert len({json.loads(out)["package"] for _, out, _ in collected}) == 1
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(HourPackage)).scalar_one() == 1
