"""``deskapp ticket new``: a ticket opened by hand, as the agent at the keyboard.

Queue, customer (or none), priority, subject and text; recorded as the agent's (the
"created" event and the audit name them); bad input is one German line, exit 2, nothing
written (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from screens.cli import main
from deskapp.services import agents, customers, tickets
from models.engine import read_session, write_session
from models.enums import EventKind
from models.tables import AuditLog, Ticket, TicketEvent

from tests.support.deskdata import NOW


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr("screens.cli._now", lambda: NOW)


@pytest.fixture
def desk(engine, people):
    with write_session(engine) as s:
        agents.mark_demo_database(s)
        customers.create_customer(s, people["sara"], name="Bäckerei Krume GmbH", number="K-20001",
                                  email="info@krume.example", credit_limit=Decimal("500.00"), now=NOW)
    return people


def new(db_url, capsys, *extra, agent="tom", queue="support", priority="hoch", subject="Anruf: Postfach voll",
        text="Herr Krume ruft an:\nsein Postfach ist voll."):
    argv = ["ticket", "new", "--db", db_url, "--agent", agent, "--queue", queue, "--priority", priority,
            "--subject", subject, "--text", text, *extra]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def ticket_count(engine) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(Ticket)).scalar_one()


def test_opens_a_ticket_for_a_customer_recorded_as_the_agent(db_url, engine, desk, capsys):
    code, out, err = new(db_url, capsys, "--customer", "K-20001", "--json")
    assert (code, err) == (0, "")
    made = json.loads(out)
    assert made["queue"] == "support" and made["priority"] == 3 and made["status"] == "new"
    assert made["customer"] == "K-20001" and made["created_by"] == "tom"
    with read_session(engine) as s:
        row = tickets.find_by_number(s, made["ticket"])
        body = s.get(Ticket, row.id).body
        event = s.execute(select(TicketEvent.kind, TicketEvent.agent_id).where(TicketEvent.ticket_id == row.id)).one()
        audit = s.execute(select(AuditLog.agent_login).where(AuditLog.action == "ticket.open")).scalar_one()
    assert row.customer_name == "Bäckerei Krume GmbH" and row.subject == "Anruf: Postfach voll"
    assert body == "Herr Krume ruft an:\nsein Postfach ist voll."
    assert event == (EventKind.CREATED, desk["tom"].id) and audit == "tom"


def test_without_customer_and_plain_output(db_url, engine, desk, capsys):
    code, out, _ = new(db_url, capsys, queue="Technik", priority="2", subject="Server langsam")
    assert code == 0
    assert out.strip() == "Ticket #1 angelegt: Technik · normal · ohne Kunde · „Server langsam“"


@pytest.mark.parametrize("change, expected", [
    ({"queue": "vertrieb"}, "Queue 'vertrieb' gibt es nicht"),
    ({"queue": "admin"}, "Admin-Channel"),
    ({"priority": "sehr hoch"}, "Priorität 'sehr hoch' gibt es nicht"),
    ({"subject": "   "}, "braucht einen Betreff"),
    ({"subject": "x" * 256}, "höchstens 255 Zeichen"),
    ({"subject": "Betreff\x1b[31m"}, "Steuerzeichen (U+001B)"),
    ({"text": "Text\x00"}, "Steuerzeichen (U+0000)"),
])
def test_bad_input_is_exit_2_and_nothing_written(change, expected, db_url, engine, desk, capsys):
    code, out, err = new(db_url, capsys, **change)
    assert code == 2 and out == ""
    assert err.startswith("deskapp: Fehler: ") and expected in err and err.count("\n") == 1
    assert ticket_count(engine) == 0


def test_unknown_customer_is_bad_input(db_url, engine, desk, capsys):
    code, _, err = new(db_url, capsys, "--customer", "K-99999")
    assert code == 2 and "Kunde 'K-99999' gibt es nicht" in err
    assert ticket_count(engine) == 0


def test_an_unknown_login_is_refused(db_url, engine, desk, capsys):
    code, _, err = new(db_url, capsys, agent="mallory")
    assert code == 4 and "Unbekannter Agent 'mallory'" in err
    assert ticket_count(engine) == 0
