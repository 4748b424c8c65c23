"""``deskapp mail receive`` as the mail server's pipe runs it (docs/rules.md#mail-incoming),
``deskapp ticket show`` and ``deskapp ticket attachment`` — on SQLite and PostgreSQL.

Exit 0 means stored (a duplicate is stored already); 75 means "not stored, try again
later" (the database locked or unreachable). No message is lost: every one of the CPython
corpus and the hostile cases is stored.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from deskapp.services import conversation, customers, ticket_detail, tickets
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.tables import MailMessage, MailRaw, Ticket
from screens.cli import main
from tests.support.deskdata import NOW
from tests.support.mails import attachment_bytes, attachment_mail, corpus, mail

DESKAPP = str(Path(sys.executable).with_name("deskapp"))

HOSTILE = {
    "empty": b"",
    "no-headers": b"Nur ein Text, kein Kopf.\n",
    "headers-only": b"From: a@example.org\nSubject: nur Kopf\nMessage-ID: <ho@x>",
    "nul-bytes": b"From: a\x00@example.org\nSubject: N\x00UL\n\nText \x00\x00 Ende\n",
    "garbage": bytes(range(256)) * 40,
    "bad-charset": b"From: a@example.org\nSubject: =?x-nix?q?=FF?=\nContent-Type: text/plain; charset=x-nix\n\n\xff\xfe\n",
    "huge-header": b"From: a@example.org\nSubject: " + b"s" * 100_000 + b"\n\nText\n",
    "many-recipients": ("From: a@example.org\nTo: " + ", ".join(f"u{i}@example.org" for i in range(5000))
                        + "\nSubject: viele\n\nText\n").encode(),
    "8bit-headers": b"From: J\xfcrgen <j@example.org>\nSubject: Gr\xc3\xbc\xc3\x9fe \xff\n\nText\n",
    "broken-mime": b"From: a@example.org\nContent-Type: multipart/mixed; boundary=Q\n\n--Q\nContent-Type: text/plain\n\nx\n",
}


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr("screens.cli._now", lambda: NOW)


@pytest.fixture
def desk(engine, people):
    with write_session(engine) as s:
        customers.create_customer(s, people["sara"], name="Ivo Moring", number="K-20001",
                                  email="ivo@moring.example", credit_limit=Policy().default_credit_limit, now=NOW)
    return people


def receive(db_url, raw: bytes, monkeypatch, capsys, *extra):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    code = main(["mail", "receive", "--db", db_url, "--json", *extra])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else None), err


def run(args: list[str], raw: bytes = b"", timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([DESKAPP, *args], input=raw, capture_output=True, timeout=timeout)


def stored_messages(engine) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(MailMessage)).scalar_one()


def test_every_corpus_and_hostile_message_is_stored(db_url, engine, desk, monkeypatch, capsys):
    cases = [p.read_bytes() for p in corpus()] + list(HOSTILE.values())
    stored_ids: list = []
    duplicates = 0
    for raw in cases:
        code, out, err = receive(db_url, raw, monkeypatch, capsys)
        assert (code, err) == (0, ""), err
        if out["status"] == "duplicate":  # the corpus repeats a few Message-IDs
            assert out["message_id"] in stored_ids
            duplicates += 1
        else:
            stored_ids.append(out["message_id"])
    with read_session(engine) as s:
        raws = s.execute(select(func.count()).select_from(MailRaw)).scalar_one()
        unreadable = s.execute(
            select(Ticket.subject).join(MailMessage, MailMessage.ticket_id == Ticket.id)
            .where(MailMessage.unreadable == True)  # noqa: E712
        ).scalars().all()
    assert stored_messages(engine) == raws == len(cases) - duplicates
    assert 0 < duplicates < 10
    assert unreadable and set(unreadable) == {"Nicht lesbare Nachricht"}


def test_json_says_what_happened_and_a_duplicate_is_stored_once(db_url, engine, desk, monkeypatch, capsys):
    code, first, _ = receive(db_url, mail(), monkeypatch, capsys)
    assert code == 0
    assert first == {
        "status": "stored", "ticket": first["ticket"], "ticket_state": "new", "message_id": "m1@moring.example",
        "automatic": False, "sender_is_customer": True, "customer": "K-20001", "follows_ticket": None,
        "bounce_of": [], "bounced_tickets": [], "unreadable": False,
    }
    code, again, _ = receive(db_url, mail(), monkeypatch, capsys)
    assert code == 0 and (again["status"], again["ticket"], again["ticket_state"]) == ("duplicate", first["ticket"], "unchanged")
    with write_session(engine) as s:
        row = tickets.find_by_number(s, first["ticket"])
        tickets.set_status(s, desk["tom"], row, status="waiting", now=NOW)
    code, reply, _ = receive(db_url, mail(subject=f"Re: [#{first['ticket']}] Postfach", message_id="m2@moring.example"),
                             monkeypatch, capsys)
    assert (reply["status"], reply["ticket"], reply["ticket_state"]) == ("stored", first["ticket"], "reopened")
    assert stored_messages(engine) == 2


def test_two_processes_delivering_the_same_message_store_it_once(db_url, engine, desk):
    raw = mail(message_id="race@moring.example")
    procs = [subprocess.Popen([DESKAPP, "mail", "receive", "--db", db_url, "--json"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(raw, timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    results = sorted(json.loads(o[0])["status"] for o in outs)
    assert results == ["duplicate", "stored"]
    assert len({json.loads(o[0])["ticket"] for o in outs}) == 1
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1
    assert stored_messages(engine) == 1


LEAN_RECEIVE = """
import sys
from screens.cli import main
code = main(["mail", "receive", "--db", sys.argv[1]])
print("LOADED", sorted(m for m in ("sqlmodel", "pydantic", "models.tables", "sqlalchemy.orm", "alembic")
                       if m in sys.modules), code)
"""


def test_the_pipe_stores_a_mail_without_loading_the_orm(db_url, engine, desk):
    """A process per message: ``mail receive`` stores on a Core connection (services.corerows)
    and never loads the ORM, SQLModel/pydantic, the models' classes or Alembic."""
    proc = subprocess.run([sys.executable, "-c", LEAN_RECEIVE, db_url], input=mail(), capture_output=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().splitlines()[-1] == "LOADED [] 0"
    assert stored_messages(engine) == 1


def test_a_locked_database_answers_75_and_the_retry_stores(database, db_url, engine, desk):
    backend, _url, where = database
    raw = mail(message_id="locked@moring.example")
    if backend == "sqlite":
        holder = sqlite3.connect(str(where), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        release = holder.rollback
    else:
        conn = engine.connect()
        trans = conn.begin()
        conn.execute(text("LOCK TABLE mail_message IN ACCESS EXCLUSIVE MODE"))
        release = trans.rollback
    try:
        locked = run(["mail", "receive", "--db", db_url, "--lock-wait", "0.5"], raw)
    finally:
        release()
        if backend != "sqlite":
            conn.close()
        else:
            holder.close()
    assert locked.returncode == 75, locked.stderr.decode()
    assert "versucht es erneut" in locked.stderr.decode() and b"Traceback" not in locked.stderr
    assert stored_messages(engine) == 0
    again = run(["mail", "receive", "--db", db_url], raw)
    assert again.returncode == 0 and stored_messages(engine) == 1


@pytest.mark.parametrize("url", ["postgresql+psycopg://desk@127.0.0.1:1/desk", "/nonexistent-dir/desk.sqlite3"])
def test_an_unreachable_database_answers_75(url):
    done = run(["mail", "receive", "--db", url], mail())
    assert done.returncode == 75 and b"Traceback" not in done.stderr
    assert "nicht gespeichert" in done.stderr.decode()


def test_ticket_show_gives_the_whole_conversation_and_attachments_can_be_saved(
    db_url, engine, desk, monkeypatch, capsys, tmp_path
):
    code, first, _ = receive(db_url, attachment_mail(5000), monkeypatch, capsys)
    with write_session(engine) as s:
        row = tickets.find_by_number(s, first["ticket"])
        tickets.add_note(s, desk["tom"], row.id, text_="Intern: Rechnung prüfen", now=NOW)
    receive(db_url, mail(sender="mallory@evil.example", subject=f"[#{first['ticket']}] hallo", message_id="f@evil"),
            monkeypatch, capsys)
    assert main(["ticket", "show", str(first["ticket"]), "--db", db_url, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    kinds = [(e["type"], e.get("kind") or e.get("direction")) for e in shown["conversation"]]
    assert ("message", "in") in kinds and ("note", "note") in kinds and ("event", "created") in kinds
    first_msg, second_msg = [e for e in shown["conversation"] if e["type"] == "message"]
    assert first_msg["subject"] == "Rechnung anbei" and "Anbei die Rechnung." in first_msg["text"]
    assert first_msg["attachments"] == [
        {"index": 1, "filename": "rechnung.pdf", "content_type": "application/pdf", "size": 5000, "kept": True}]
    assert second_msg["from"] == "mallory@evil.example" and not second_msg["sender_is_customer"]

    assert main(["ticket", "show", str(first["ticket"]), "--db", db_url]) == 0
    plain = capsys.readouterr().out
    assert "Interne Notiz" in plain and "Absender ist nicht der Kunde" in plain and "Anhang 1: rechnung.pdf" in plain

    out = tmp_path / "r.pdf"
    assert main(["ticket", "attachment", str(first["ticket"]), "1", "--out", str(out), "--db", db_url]) == 0
    assert out.read_bytes() == attachment_bytes(5000)
    capsys.readouterr()
    assert main(["ticket", "attachment", str(first["ticket"]), "1", "--out", str(out), "--db", db_url]) == 2
    assert main(["ticket", "attachment", str(first["ticket"]), "9", "--out", str(tmp_path / "x"), "--db", db_url]) == 1
    assert "keinen Anhang Nr. 9" in capsys.readouterr().err


LEAN_SHOW = """
import sys
from screens.cli import main
number, url, out = sys.argv[1:4]
codes = [main(["ticket", "show", number, "--db", url, "--json"]), main(["ticket", "show", number, "--db", url]),
         main(["ticket", "attachment", number, "1", "--out", out, "--db", url])]
print("LOADED", sorted(m for m in ("sqlmodel", "pydantic", "models.tables", "sqlalchemy.orm", "alembic")
                       if m in sys.modules), codes)
"""


def test_ticket_show_and_attachment_read_without_loading_the_orm(db_url, engine, desk, monkeypatch, capsys,
                                                                 tmp_path):
    """A process per call: ``ticket show`` and ``ticket attachment`` read on a Core connection
    (services.convrows) and never load the ORM, SQLModel/pydantic, the models' classes or
    Alembic — and show what the desk's own read (the ORM session) shows."""
    _, first, _ = receive(db_url, attachment_mail(5000), monkeypatch, capsys)
    with write_session(engine) as s:
        row = tickets.find_by_number(s, first["ticket"])
        tickets.add_note(s, desk["tom"], row.id, text_="Intern: Rechnung prüfen", now=NOW)
    out = tmp_path / "r.pdf"
    proc = subprocess.run([sys.executable, "-c", LEAN_SHOW, str(first["ticket"]), db_url, str(out)],
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    assert lines[-1] == "LOADED [] [0, 0, 0]"
    assert out.read_bytes() == attachment_bytes(5000)
    shown = json.loads(lines[0])
    with read_session(engine) as s:
        page = conversation.conversation(s, row.id, offset=0, limit=100)
        head = ticket_detail.detail(s, row.id)
    assert [e.get("text") for e in shown["conversation"]] == [e.text for e in page.entries]
    assert (shown["subject"], shown["customer"], shown["body"]) == (
        head.row.subject, head.customer_number, head.body)
