"""``deskapp reminders run`` and ``deskapp mail send`` (SQLite and PostgreSQL).

German per-stage counts, the JSON object, the dry run, a bad ``--today``; the outbox as
the end point without SMTP, delivery to a real SMTP server on 127.0.0.1, and the exit
codes with one German error line.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from screens.cli import main
from deskapp.rules.budget import add_months
from deskapp.services import budget, customers
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.tables import AuditLog, MessageLogEntry, OutgoingMail, ReminderSent
from tests.support.deskdata import NOW
from tests.support.smtp import closed_port

DESKAPP = Path(sys.executable).parent / "deskapp"
POLICY = Policy()
SMTP_ENV = ("DESK_SMTP_HOST", "DESK_SMTP_PORT", "DESK_SMTP_STARTTLS", "DESK_SMTP_USER", "DESK_SMTP_PASSWORD",
            "DESK_MAIL_FROM")


@pytest.fixture(autouse=True)
def _fixed_clock_and_no_smtp(monkeypatch, tmp_path):
    monkeypatch.setattr("screens.cli._now", lambda: NOW)
    for name in SMTP_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DESK_SETTINGS_FILE", str(tmp_path / "keine-einstellungen.toml"))


@pytest.fixture
def due(engine, people):
    """Three customers: the 6-month and the 3-month reminder are due on 10.03.26, one is not."""
    with write_session(engine) as s:
        for name, until in (("Ivo Moring", dt.date(2026, 9, 1)), ("Conny Albrecht", dt.date(2026, 5, 20)),
                            ("Später GmbH", dt.date(2027, 1, 1))):
            cust = customers.create_customer(
                s, people["sara"], name=name, email=f"{name.split()[0].lower()}@example.de",
                credit_limit=Decimal("500.00"), now=NOW,
            )
            budget.book_package(
                s, people["sara"], customer_id=cust.id, minutes=1425, price=Decimal("1900.00"),
                purchased_on=add_months(until, -24), now=NOW, policy=POLICY, label="Stundenpaket 20",
            )


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def written(engine):
    with read_session(engine) as s:
        return tuple(
            s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (ReminderSent, MessageLogEntry, OutgoingMail, AuditLog)
        )


def test_reminders_run_prints_the_count_per_stage(db_url, engine, due, capsys):
    code, out, err = run(["reminders", "run", "--db", db_url], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "Erinnerungen für 10.03.26: 6 Monate: 1, 3 Monate: 1, 1 Monat: 0 – 2 Erinnerungen verschickt."
    assert sorted(lines[1:]) == [
        "  3 Monate  Conny Albrecht · Stundenpaket 20 · 23:45 Std frei · gültig bis 20.05.26",
        "  6 Monate  Ivo Moring · Stundenpaket 20 · 23:45 Std frei · gültig bis 01.09.26",
    ]
    # Cron runs it again within the hour: nothing is sent twice.
    code, out, _ = run(["reminders", "run", "--db", db_url], capsys)
    assert code == 0
    assert out == "Erinnerungen für 10.03.26: 6 Monate: 0, 3 Monate: 0, 1 Monat: 0 – 0 Erinnerungen verschickt.\n"


def test_reminders_run_json_and_a_dry_run(db_url, engine, due, capsys):
    before = written(engine)
    code, out, _ = run(["reminders", "run", "--db", db_url, "--dry-run", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert (data["sent"], data["per_stage"], data["dry_run"]) == (2, {"6": 1, "3": 1, "1": 0}, True)
    assert written(engine) == before  # the dry run wrote nothing
    code, out, _ = run(["reminders", "run", "--db", db_url, "--json"], capsys)
    data = json.loads(out)
    assert (data["sent"], data["per_stage"], data["dry_run"]) == (2, {"6": 1, "3": 1, "1": 0}, False)
    assert {r["customer_name"] for r in data["reminders"]} == {"Ivo Moring", "Conny Albrecht"}
    assert all(r["mail_id"] is not None for r in data["reminders"])
    code, out, _ = run(["reminders", "run", "--db", db_url, "--dry-run"], capsys)
    assert out.startswith("Probelauf für 10.03.26: 6 Monate: 0, 3 Monate: 0, 1 Monat: 0 – 0 Erinnerungen würden")


def test_today_can_be_given_and_one_reminder_is_singular(db_url, engine, due, capsys):
    # A past day only as a dry run (a real run would send for budgets expired since).
    code, out, _ = run(["reminders", "run", "--db", db_url, "--today", "2026-02-25", "--dry-run"], capsys)
    assert code == 0
    assert out.splitlines()[0] == (
        "Probelauf für 25.02.26: 6 Monate: 0, 3 Monate: 1, 1 Monat: 0 – 1 Erinnerung würde verschickt "
        "(nichts geändert)."
    )  # Conny's 3-month day (20.02.) has come, Ivo's 6-month day (01.03.) not yet


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--today", "morgen"], 2, "deskapp: Fehler: 'morgen' ist kein Datum (TT.MM.JJ oder JJJJ-MM-TT).\n"),
        (["--today", "31.02.26"], 2, "deskapp: Fehler: '31.02.26' ist kein Datum (TT.MM.JJ oder JJJJ-MM-TT).\n"),
        (["--today", "11.03.26"], 2, "deskapp: Fehler: --today 11.03.26 liegt in der Zukunft: Erinnerungen werden "
                                     "nicht vorab verschickt (mit --dry-run ansehen).\n"),
    ],
)
def test_bad_today_is_refused_in_one_line_and_writes_nothing(db_url, engine, due, capsys, argv, code, message):
    before = written(engine)
    assert run(["reminders", "run", "--db", db_url, *argv], capsys) == (code, "", message)
    assert written(engine) == before


def test_a_future_day_may_be_looked_at_in_a_dry_run(db_url, engine, due, capsys):
    code, out, _ = run(["reminders", "run", "--db", db_url, "--today", "20.04.26", "--dry-run", "--json"], capsys)
    assert code == 0 and json.loads(out)["per_stage"] == {"6": 1, "3": 0, "1": 1}


def test_reminders_without_db_is_refused(capsys):
    code, out, err = run(["reminders", "run"], capsys)
    assert code == 2 and out == ""
    assert err == "deskapp: Fehler: deskapp reminders run braucht --db (SQLAlchemy-URL oder Dateipfad der Datenbank).\n"


# --------------------------------------------------------------------------- mail send


def queued(engine):
    with read_session(engine) as s:
        return s.execute(select(OutgoingMail.status, func.count()).group_by(OutgoingMail.status)).all()


def test_without_smtp_the_outbox_is_the_end_point(db_url, engine, due, capsys, tmp_path):
    run(["reminders", "run", "--db", db_url], capsys)
    code, out, err = run(["mail", "send", "--db", db_url], capsys)
    assert code == 0 and err == ""
    assert out == (
        f"Kein SMTP-Server eingerichtet (DESK_SMTP_HOST oder [smtp] in {tmp_path / 'keine-einstellungen.toml'}): "
        "der Postausgang ist die Endstation. 2 Mails in der Warteschlange; der Desk zeigt sie im Postausgang "
        "(Taste O).\n"
    )
    assert queued(engine) == [("queued", 2)]
    code, out, _ = run(["mail", "send", "--db", db_url, "--json"], capsys)
    assert json.loads(out) == {"configured": False, "sent": 0, "failed": 0, "remaining": 2, "requeued": 0,
                               "refused": 0, "uncertain": 0, "error": None}


@pytest.fixture
def smtp(monkeypatch, smtp_server):
    inbox, port = smtp_server
    monkeypatch.setenv("DESK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DESK_SMTP_PORT", str(port))
    monkeypatch.setenv("DESK_MAIL_FROM", "support@agentur.example")
    return inbox


def test_mail_send_delivers_the_outbox(db_url, engine, due, capsys, smtp):
    run(["reminders", "run", "--db", db_url], capsys)
    code, out, err = run(["mail", "send", "--db", db_url], capsys)
    assert (code, out, err) == (0, "Postausgang: 2 gesendet, 0 fehlgeschlagen, 0 in der Warteschlange.\n", "")
    assert sorted(m["To"] for m in smtp.received) == ["conny@example.de", "ivo@example.de"]
    assert queued(engine) == [("sent", 2)]
    code, out, _ = run(["mail", "send", "--db", db_url, "--json"], capsys)
    assert code == 0 and json.loads(out)["sent"] == 0 and len(smtp.received) == 2


def test_mail_send_says_which_mails_were_refused_for_good(db_url, engine, due, capsys, smtp):
    # docs/rules.md#mail-delivery: a 5xx is final (failed), not queued again.
    run(["reminders", "run", "--db", db_url], capsys)
    smtp.refuse = "550 5.7.1 Postfach gesperrt"
    code, out, err = run(["mail", "send", "--db", db_url], capsys)
    assert code == 1
    assert out == "Postausgang: 0 gesendet, 2 fehlgeschlagen, 0 in der Warteschlange.\n"
    assert err == (
        "deskapp: Fehler: 2 Mails nicht zugestellt: Der SMTP-Server hat die Mail abgelehnt: 550 5.7.1 Postfach "
        "gesperrt. Davon endgültig abgelehnt: 2 (im Postausgang „fehlgeschlagen“); ohne Antwort des Servers: 0 "
        "(Ausgang unklar, wird mit derselben Message-ID erneut gesendet); der Rest bleibt in der Warteschlange.\n"
    )
    assert queued(engine) == [("failed", 2)]
    code, out, _ = run(["mail", "send", "--db", db_url, "--json"], capsys)
    assert code == 0 and json.loads(out)["sent"] == 0 and smtp.received == []


def test_mail_send_to_an_absent_server_fails_with_one_line(db_url, engine, due, capsys, monkeypatch):
    run(["reminders", "run", "--db", db_url], capsys)
    port = closed_port()
    monkeypatch.setenv("DESK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DESK_SMTP_PORT", str(port))
    monkeypatch.setenv("DESK_MAIL_FROM", "support@agentur.example")
    code, out, err = run(["mail", "send", "--db", db_url], capsys)
    assert code == 1
    assert out == "Postausgang: 0 gesendet, 1 fehlgeschlagen, 2 in der Warteschlange.\n"
    assert err == (
        f"deskapp: Fehler: 1 Mail nicht zugestellt: SMTP-Server 127.0.0.1:{port} nicht erreichbar: Verbindung "
        "abgelehnt. Was nicht zugestellt ist, bleibt in der Warteschlange und wird beim nächsten Lauf erneut "
        "versucht.\n"
    )
    assert queued(engine) == [("queued", 2)]
    code, out, err = run(["mail", "send", "--db", db_url, "--json"], capsys)
    assert code == 1 and err == ""
    assert json.loads(out)["error"].startswith("SMTP-Server 127.0.0.1")


def test_a_bad_smtp_setting_is_refused_before_the_database_is_touched(db_url, engine, capsys, monkeypatch):
    monkeypatch.setenv("DESK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DESK_SMTP_PORT", "fünfundzwanzig")
    code, out, err = run(["mail", "send", "--db", db_url], capsys)
    assert (code, out) == (2, "")
    assert err == (
        "deskapp: Fehler: Der SMTP-Port 'fünfundzwanzig' (DESK_SMTP_PORT) ist keine Portnummer (1–65535).\n"
    )


def test_the_console_script_runs_the_job(db_url, engine, due, tmp_path):
    if not DESKAPP.exists():
        pytest.skip("console script not installed in this environment")
    env = {"PATH": str(DESKAPP.parent), "DESK_SETTINGS_FILE": str(tmp_path / "none.toml"), "HOME": str(tmp_path)}
    done = subprocess.run(
        [str(DESKAPP), "reminders", "run", "--db", db_url, "--today", "10.03.26", "--dry-run", "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["per_stage"] == {"6": 1, "3": 1, "1": 0}
    done = subprocess.run(
        [str(DESKAPP), "reminders", "run", "--db", db_url, "--today", "gestern"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "deskapp: Fehler: 'gestern' ist kein Datum (TT.MM.JJ oder JJJJ-MM-TT).\n"
