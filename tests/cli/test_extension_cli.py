"""``deskapp extension request|decide``: the same rules and messages as the desk, for
scripting (SQLite and PostgreSQL).

``request`` prints the admin-channel post it filed; ``--json`` prints one object; a
refusal (no role, own request, already decided, policy) is one German line on stderr
with a non-zero exit code and changes nothing. The agent is resolved as for the desk.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from screens.cli import main
from deskapp.rules.budget import add_months
from deskapp.services import agents, budget, customers
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.tables import AuditLog, ExtensionRequest, HourPackage, Ticket, TimeEntry
from tests.support.deskdata import NOW

POLICY = Policy()
IVO = "7bb56b00-4e1e-4e61-ad7d-88a75b3c22e6"
TODAY = dt.date(2026, 3, 10)
UNTIL = dt.date(2026, 3, 26)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr("screens.cli._now", lambda: NOW)
    monkeypatch.setattr("screens.cli._os_login", lambda: "nobody")
    monkeypatch.delenv("DESK_AGENT", raising=False)


def _ivo(engine, people, *, left: int = 1425, demo: bool = True) -> int:
    with write_session(engine) as s:
        if demo:
            agents.mark_demo_database(s)
        customers.create_customer(
            s, people["sara"], name="Ivo Moring", customer_id=uuid.UUID(IVO), number="K-10001",
            email="ivo@moring.example", credit_limit=Decimal("500.00"), now=NOW,
        )
        package = budget.book_package(
            s, people["sara"], customer_id=uuid.UUID(IVO), minutes=3600, price=Decimal("5100.00"),
            purchased_on=add_months(UNTIL, -POLICY.package_validity_months), now=NOW, policy=POLICY,
        )
        s.add(TimeEntry(customer_id=uuid.UUID(IVO), package_id=package.id, agent_id=people["tom"].id,
                        minutes=3600 - left, created_at=NOW))
    return package.id


@pytest.fixture
def ivo(engine, people):
    return _ivo(engine, people)


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def request(db_url, capsys, *extra, agent="tom", customer=IVO, months="1"):
    argv = ["extension", "request", "--db", db_url, "--customer", customer, "--months", months]
    if agent:
        argv += ["--agent", agent]
    return run(argv + list(extra), capsys)


def decide(db_url, capsys, request_id, decision, *extra, agent="isabel"):
    argv = ["extension", "decide", "--db", db_url, "--request", str(request_id), decision]
    if agent:
        argv += ["--agent", agent]
    return run(argv + list(extra), capsys)


def refused(code, out, err, exit_code, text):
    assert code == exit_code
    assert out == ""
    assert err.startswith("deskapp: Fehler: ") and err.count("\n") == 1, err
    assert text in err


def snapshot(engine) -> dict:
    with read_session(engine) as s:
        return {
            "requests": sorted(s.execute(select(ExtensionRequest.id, ExtensionRequest.status)).all()),
            "packages": sorted(s.execute(select(HourPackage.id, HourPackage.valid_until)).all()),
            "tickets": s.execute(select(func.count()).select_from(Ticket)).scalar_one(),
            "audit": s.execute(select(func.count()).select_from(AuditLog)).scalar_one(),
        }


# --------------------------------------------------------------------------- help


@pytest.mark.parametrize("argv", [["extension", "--help"], ["extension", "request", "--help"],
                                  ["extension", "decide", "--help"]])
def test_extension_commands_have_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert "Exit-Codes" in capsys.readouterr().out


# --------------------------------------------------------------------------- request


def test_request_prints_the_admin_channel_post(db_url, engine, people, ivo, capsys):
    code, out, err = request(db_url, capsys)
    assert (code, err) == (0, "")
    assert out == (
        "@Isabel Anfrage Budgetverlängerung\n"
        "Kunde: Ivo Moring: 7bb56b00-4e1e-4e61-ad7d-88a75b3c22e6\n"
        "Budget gültig bis: 26.03.26\n"
        "Restbudget: 23:45 Std\n"
        "Aufgabe: –\n"
        "Vorschlag: Verlängerung bis 26.04.26\n"
        "Antrag 1 gestellt · Ticket #1 im Admin-Channel · an Isabel (Genehmigung)\n"
    )
    with read_session(engine) as s:
        ticket = s.execute(select(Ticket)).scalar_one()
        assert (ticket.queue, ticket.assignee_id, ticket.extension_request_id) == ("admin", people["isabel"].id, 1)


def test_request_json_is_one_object(db_url, engine, people, ivo, capsys):
    with write_session(engine) as s:
        agents.record_absence(s, people["isabel"], agent_id=people["isabel"].id, first_day=TODAY, last_day=TODAY,
                              reason="sick", now=NOW)
    code, out, err = request(db_url, capsys, "--json", months="2", customer="K-10001")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["request"] == 1 and data["status"] == "waiting"
    assert data["addressee"] == "rebekka" and data["valid_until"] == "2026-05-26"
    assert data["message"].startswith("@Rebekka Anfrage Budgetverlängerung\n")
    assert data["routing"] == "an Rebekka (Vertretung, Isabel abwesend)" and data["ticket"] == 1


def test_request_with_task_and_until(db_url, engine, people, ivo, capsys):
    with write_session(engine) as s:
        task = budget.create_task(s, people["tom"], customer_id=uuid.UUID(IVO), title="Relaunch", estimate_minutes=0,
                                  deadline=None, now=NOW, policy=POLICY)
    code, out, _ = request(db_url, capsys, "--task", str(task.id), "--until", "26.03.26", "--json")
    assert code == 0
    assert f"Aufgabe: Nr. {task.id} Relaunch" in json.loads(out)["message"]
    with read_session(engine) as s:
        assert s.execute(select(Ticket.task_id)).scalar_one() == task.id


@pytest.mark.parametrize(
    ("extra", "months", "exit_code", "text"),
    [
        ((), "3", 2, "Mehr als 2 Monate Verlängerung sind nicht erlaubt."),
        ((), "0", 2, "Verlängert wird um ganze Monate: 1 bis 2."),
        ((), "1.5", 2, "Verlängert wird um ganze Monate: 1 bis 2."),
        (("--until", "27.03.26"), "1", 2, "Der Kunde hat kein Restbudget mit Ablauf am 27.03.26."),
        (("--until", "morgen"), "1", 2, "'morgen' ist kein Datum"),
        (("--task", "x"), "1", 2, "--task braucht eine ganze Zahl, nicht 'x'."),
        (("--task", "²"), "1", 2, "--task braucht eine ganze Zahl, nicht '²'."),  # isdigit() but no int
        ((), "²", 2, "Verlängert wird um ganze Monate: 1 bis 2."),
        ((), "١", 2, "Verlängert wird um ganze Monate: 1 bis 2."),  # ASCII digits only
        (("--task", "99"), "1", 2, "Aufgabe 99 ist keine offene Aufgabe dieses Kunden."),
    ],
)
def test_request_refusals_are_one_line_and_change_nothing(db_url, engine, people, ivo, capsys, extra, months,
                                                           exit_code, text):
    before = snapshot(engine)
    refused(*request(db_url, capsys, *extra, months=months), exit_code, text)
    assert snapshot(engine) == before


def test_request_for_an_unknown_customer(db_url, engine, people, ivo, capsys):
    refused(*request(db_url, capsys, customer="K-99999"), 2, "Kunde 'K-99999' gibt es nicht.")


def test_request_by_a_technician_is_refused(db_url, engine, people, ivo, capsys):
    before = snapshot(engine)
    refused(*request(db_url, capsys, agent="kai"), 4, "kai darf keine Budgetverlängerung beantragen")
    assert snapshot(engine) == before


def test_under_twenty_hours_the_cli_needs_the_rebooked_package(db_url, engine, people, capsys):
    _ivo(engine, people, left=605)
    refused(*request(db_url, capsys), 2, "Restbudget unter 20:00 Std: der Kunde muss zuerst nachbuchen")
    with write_session(engine) as s:
        new = budget.book_package(s, people["tom"], customer_id=uuid.UUID(IVO), minutes=1200,
                                  price=Decimal("1900.00"), purchased_on=TODAY, now=NOW, policy=POLICY)
    code, out, _ = request(db_url, capsys, "--rebooked-package", str(new.id), "--json")
    assert code == 0
    assert json.loads(out)["message"].endswith("Vorschlag: Verlängerung bis 26.04.26 (wenn Kunde nachgebucht hat)")


def test_a_second_request_for_the_same_budget_is_a_conflict(db_url, engine, people, ivo, capsys):
    assert request(db_url, capsys)[0] == 0
    refused(*request(db_url, capsys, agent="lena"), 5, "wartet schon Verlängerungsantrag 1")


# --------------------------------------------------------------------------- decide


def test_approve_prints_the_new_validity(db_url, engine, people, ivo, capsys):
    request(db_url, capsys)
    code, out, err = decide(db_url, capsys, 1, "approve")
    assert (code, err) == (0, "")
    assert out == "Antrag 1 genehmigt: Budget gültig bis 26.04.26 · Ticket #1 erledigt\n"
    with read_session(engine) as s:
        assert s.get(HourPackage, ivo).valid_until == dt.date(2026, 4, 26)
        assert s.get(ExtensionRequest, 1).status == "approved"


def test_approve_json(db_url, engine, people, ivo, capsys):
    request(db_url, capsys)
    code, out, _ = decide(db_url, capsys, 1, "approve", "--json")
    data = json.loads(out)
    assert code == 0
    assert (data["request"], data["status"], data["valid_until"], data["decided_by"]) == (
        1, "approved", "2026-04-26", "isabel"
    )
    assert data["addressee"] == "isabel" and data["message"].startswith("@Isabel")


def test_reject_needs_a_reason_and_shows_it(db_url, engine, people, ivo, capsys):
    request(db_url, capsys)
    before = snapshot(engine)
    refused(*decide(db_url, capsys, 1, "reject"), 2, "Eine Ablehnung braucht eine Begründung")
    assert snapshot(engine) == before
    code, out, _ = decide(db_url, capsys, 1, "reject", "--reason", "Erst Aufgaben planen", "--json")
    data = json.loads(out)
    assert code == 0
    assert (data["status"], data["reason"], data["valid_until"]) == ("rejected", "Erst Aufgaben planen", "2026-03-26")


@pytest.mark.parametrize(
    ("login", "exit_code", "text"),
    [
        ("lena", 4, "lena darf Verlängerungsanträge nicht entscheiden"),
        ("sara", 4, "sara darf Verlängerungsanträge nicht entscheiden"),
        ("rebekka", 4, "rebekka entscheidet als Vertretung nur an einem Tag"),
    ],
)
def test_decide_refusals(db_url, engine, people, ivo, capsys, login, exit_code, text):
    request(db_url, capsys)
    before = snapshot(engine)
    refused(*decide(db_url, capsys, 1, "approve", agent=login), exit_code, text)
    assert snapshot(engine) == before


def test_own_request_is_refused(db_url, engine, people, ivo, capsys):
    request(db_url, capsys, agent="isabel")
    refused(*decide(db_url, capsys, 1, "approve", agent="isabel"), 4, "Niemand entscheidet über den eigenen Antrag")


def test_a_decided_request_is_a_conflict(db_url, engine, people, ivo, capsys):
    request(db_url, capsys)
    assert decide(db_url, capsys, 1, "approve")[0] == 0
    before = snapshot(engine)
    refused(*decide(db_url, capsys, 1, "reject", "--reason", "Nein"), 5,
            "Verlängerungsantrag 1 ist schon entschieden von isabel (genehmigt am 10.03.26 09:30).")
    assert snapshot(engine) == before


def test_unknown_request(db_url, engine, people, ivo, capsys):
    refused(*decide(db_url, capsys, 7, "approve"), 1, "Verlängerungsantrag 7 gibt es nicht.")
    refused(*decide(db_url, capsys, "x", "approve"), 2, "--request braucht eine ganze Zahl")


# --------------------------------------------------------------------------- who is at the keyboard


def _os_login_is_sqlite_only(db_url: str) -> None:
    # On PostgreSQL the database role decides, not the OS login (docs/rules.md#agent-postgres);
    # the same rules with real login roles: tests/services/test_agent_admin.py (test_pg_the_role_decides_*).
    if db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL: the agent is the database role, tested in test_agent_admin.py")


def test_the_os_login_decides_outside_a_demo_database(db_url, engine, people, capsys, monkeypatch):
    _os_login_is_sqlite_only(db_url)
    _ivo(engine, people, demo=False)
    refused(*request(db_url, capsys), 4, "--agent/DESK_AGENT gilt nur auf einer Demo-Datenbank")
    monkeypatch.setattr("screens.cli._os_login", lambda: "lena")
    code, out, _ = request(db_url, capsys, "--json", agent=None)
    assert code == 0 and json.loads(out)["status"] == "waiting"
    with read_session(engine) as s:
        assert s.get(ExtensionRequest, 1).requested_by_id == people["lena"].id
    refused(*decide(db_url, capsys, 1, "approve", agent=None), 4, "lena darf Verlängerungsanträge nicht entscheiden")
    monkeypatch.setattr("screens.cli._os_login", lambda: "isabel")
    assert decide(db_url, capsys, 1, "approve", agent=None)[0] == 0


def test_unknown_os_login_is_refused(db_url, engine, people, capsys):
    _os_login_is_sqlite_only(db_url)
    _ivo(engine, people, demo=False)
    refused(*request(db_url, capsys, agent=None), 4, "Unbekannter Agent 'nobody'")


def test_desk_agent_environment_on_a_demo_database(db_url, engine, people, ivo, capsys, monkeypatch):
    monkeypatch.setenv("DESK_AGENT", "sara")
    code, out, _ = request(db_url, capsys, "--json", agent=None)
    assert code == 0
    with read_session(engine) as s:
        assert s.get(ExtensionRequest, 1).requested_by_id == people["sara"].id


def test_request_needs_db(capsys, monkeypatch):
    code, out, err = run(["extension", "request", "--customer", IVO, "--months", "1"], capsys)
    assert code == 2 and "braucht --db" in err


# --------------------------------------------------------------------------- found walking the desk


def test_decide_speaks_german_about_a_wrong_decision(db_url, engine, people, capsys):
    _ivo(engine, people)
    request(db_url, capsys)
    before = snapshot(engine)
    refused(*decide(db_url, capsys, 1, "maybe"), 2,
                    "Entscheidung 'maybe' gibt es nicht: approve (genehmigen) oder reject (ablehnen).")
    assert snapshot(engine) == before
    code, out, err = decide(db_url, capsys, 1, "ablehnen", "--reason", "Erst Aufgaben planen", "--json")
    assert (code, err) == (0, "") and json.loads(out)["status"] == "rejected"


def test_the_rebooking_refusal_names_the_packages_that_count(db_url, engine, people, capsys):
    _ivo(engine, people, left=605)
    refused(*request(db_url, capsys), 2, "erst ein Paket buchen (Desk: Karte, Taste b)")
    with write_session(engine) as s:
        new = budget.book_package(s, people["tom"], customer_id=uuid.UUID(IVO), minutes=1200,
                                  price=Decimal("1900.00"), purchased_on=TODAY, now=NOW,
                                  policy=Policy(), label="Nachbuchung 20 h")
    refused(*request(db_url, capsys), 2,
                    f"--rebooked-package N mit einem dieser Pakete: {new.id} (Nachbuchung 20 h, gekauft 10.03.26).")
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(ExtensionRequest)).scalar_one() == 0
    code, _, _ = request(db_url, capsys, "--rebooked-package", str(new.id))
    assert code == 0
