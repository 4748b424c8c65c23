"""The outbox and its delivery over SMTP, against a real SMTP server on 127.0.0.1 (aiosmtpd).

A server that accepts (the mail is marked sent and arrives with its German text), one
that refuses (the mail stays queued with the error, attempts + 1, and goes out on a later
run), one that is absent (closed port); two delivery runs in parallel processes (every
mail arrives exactly once); STARTTLS with login, and the password never in the database
or the audit log. Plus the configuration (file + environment) and the outbox pages.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import shutil
import ssl
import subprocess
import traceback
from decimal import Decimal

import pytest
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select, text, update

from deskapp.rules.budget import add_months
from deskapp.services import budget, customers, mail
from deskapp.services.errors import InvalidInput
from deskapp.services.mail import SmtpConfig, deliver_outbox, load_smtp_config
from deskapp.services.reminders import run_reminders
from deskapp.settings import Policy
from models.engine import make_engine, read_session, write_session
from models.tables import AuditLog, OutgoingMail
from tests.support.deskdata import NOW, queue_mails
from tests.support.race import race
from tests.support.smtp import FreePortController, Inbox, closed_port

POLICY = Policy()
PASSWORD = "Sehr-Geheim-7731"
USER = "desk"
SENDER = "support@agentur.example"


# --------------------------------------------------------------------------- the SMTP peer


def config_for(port: int, **kw) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, mail_from=SENDER, timeout=5, **kw)


# --------------------------------------------------------------------------- data




def mail_rows(engine):
    with read_session(engine) as s:
        return {
            r.id: r
            for r in s.execute(
                select(OutgoingMail.id, OutgoingMail.status, OutgoingMail.attempts, OutgoingMail.last_error,
                       OutgoingMail.sent_at)
            ).all()
        }


# --------------------------------------------------------------------------- accepting


def test_a_reminder_arrives_in_german_and_the_mail_is_marked_sent(engine, people, smtp_server):
    inbox, port = smtp_server
    until = dt.date(2026, 4, 8)
    with write_session(engine) as s:
        ivo = customers.create_customer(
            s, people["sara"], name="Ivo Moring", email="ivo@moring.example", credit_limit=Decimal("500.00"), now=NOW,
        )
        budget.book_package(
            s, people["sara"], customer_id=ivo.id, minutes=60 * 60, price=Decimal("5100.00"),
            purchased_on=add_months(until, -24), now=NOW, policy=POLICY, label="Stundenpaket Relaunch",
        )
        budget.log_time(s, people["tom"], customer_id=ivo.id, minutes=3600 - 1425, now=NOW, policy=POLICY)
    assert run_reminders(engine, policy=POLICY, now=NOW).sent == 1
    later = NOW + dt.timedelta(minutes=5)
    report = deliver_outbox(engine, config_for(port), now=later)
    assert (report.sent, report.failed, report.remaining) == (1, 0, 0)
    assert inbox.envelopes == [(SENDER, ["ivo@moring.example"])]
    got = inbox.received[0]
    assert got["Subject"] == "Erinnerung: Ihr Stundenbudget läuft am 08.04.26 ab"
    assert got["From"] == SENDER and got["To"] == "ivo@moring.example"
    body = got.get_content()
    assert "Guten Tag Ivo Moring" in body
    assert "„Stundenpaket Relaunch“" in body and "23:45 Std" in body and "08.04.26" in body
    (row,) = mail_rows(engine).values()
    assert row.status == "sent" and row.sent_at == later and row.attempts == 1 and row.last_error == ""
    # Nothing is sent twice: the next run finds an empty queue.
    assert deliver_outbox(engine, config_for(port), now=later).sent == 0
    assert len(inbox.received) == 1
    with read_session(engine) as s:
        actions = s.execute(
            select(AuditLog.agent_login, AuditLog.action).where(AuditLog.entity == "outgoing_mail")
        ).all()
    assert ("system", "mail.send") in actions


def test_a_mail_refused_for_now_stays_queued_and_is_retried_later(engine, people, smtp_server):
    # Behaviour changed with the delivery states (docs/rules.md#mail-delivery): only a
    # temporary refusal (4xx) keeps a mail in the queue; a 5xx makes it failed (next test).
    inbox, port = smtp_server
    first, second = queue_mails(engine, people, 2)
    inbox.refuse = "451 4.3.0 Bitte später"
    report = deliver_outbox(engine, config_for(port), now=NOW)
    assert (report.sent, report.failed, report.remaining, report.refused) == (0, 2, 2, 0)
    assert "451 4.3.0 Bitte später" in report.error
    rows = mail_rows(engine)
    for mail_id in (first, second):
        assert rows[mail_id].status == "queued" and rows[mail_id].attempts == 1 and rows[mail_id].sent_at is None
        assert rows[mail_id].last_error == "Der SMTP-Server nimmt die Mail gerade nicht an: 451 4.3.0 Bitte später"
    assert inbox.received == []
    # Refused again: one more attempt each.
    deliver_outbox(engine, config_for(port), now=NOW + dt.timedelta(hours=1))
    assert {r.attempts for r in mail_rows(engine).values()} == {2}
    # The server takes mail again: the next run delivers both, once.
    inbox.refuse = ""
    report = deliver_outbox(engine, config_for(port), now=NOW + dt.timedelta(hours=2))
    assert (report.sent, report.failed, report.remaining) == (2, 0, 0)
    rows = mail_rows(engine)
    assert {(r.status, r.attempts, r.last_error) for r in rows.values()} == {("sent", 3, "")}
    assert sorted(m["Subject"] for m in inbox.received) == ["Hinweis 1", "Hinweis 2"]


def test_a_mail_refused_for_good_is_failed_with_the_servers_answer(engine, people, smtp_server):
    inbox, port = smtp_server
    (mail_id,) = queue_mails(engine, people, 1)
    inbox.refuse = "550 5.7.1 Postfach gesperrt"
    report = deliver_outbox(engine, config_for(port), now=NOW)
    assert (report.sent, report.failed, report.remaining, report.refused) == (0, 1, 0, 1)
    row = mail_rows(engine)[mail_id]
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "Der SMTP-Server hat die Mail abgelehnt: 550 5.7.1 Postfach gesperrt"
    with read_session(engine) as s:
        shown = mail.outbox_mail(s, mail_id).row
    assert shown.smtp_reply == "550 5.7.1 Postfach gesperrt"
    # A failed mail is not picked up again.
    inbox.refuse = ""
    assert deliver_outbox(engine, config_for(port), now=NOW + dt.timedelta(hours=1)).sent == 0
    assert inbox.received == []


def test_a_refused_recipient_does_not_hold_up_the_others(engine, people, smtp_server):
    inbox, port = smtp_server
    first, second = queue_mails(engine, people, 2)

    async def handle_RCPT(server, session, envelope, address, options):
        if envelope.rcpt_tos or getattr(session, "refused_once", False):
            envelope.rcpt_tos.append(address)
            return "250 OK"
        session.refused_once = True
        return "550 5.1.1 Unbekannter Empfänger"

    inbox.handle_RCPT = handle_RCPT
    report = deliver_outbox(engine, config_for(port), now=NOW)
    assert (report.sent, report.failed) == (1, 1)
    rows = mail_rows(engine)
    # An unknown recipient (5xx) is refused for good: failed, not queued again (changed with the states).
    assert rows[first].status == "failed" and "Empfänger info@krume.example abgelehnt: 550 5.1.1" in rows[first].last_error
    assert rows[second].status == "sent"


# --------------------------------------------------------------------------- absent


def test_an_absent_server_leaves_the_mail_queued_with_the_error(engine, people):
    ids = queue_mails(engine, people, 3)
    port = closed_port()
    report = deliver_outbox(engine, config_for(port), now=NOW)
    assert (report.sent, report.failed, report.remaining) == (0, 1, 3)
    assert report.stopped
    assert report.error == f"SMTP-Server 127.0.0.1:{port} nicht erreichbar: Verbindung abgelehnt."
    rows = mail_rows(engine)
    # The mail it held records the error; the run stopped there instead of failing every mail.
    assert (rows[ids[0]].status, rows[ids[0]].attempts, rows[ids[0]].last_error) == ("queued", 1, report.error)
    assert [(rows[i].status, rows[i].attempts) for i in ids[1:]] == [("queued", 0), ("queued", 0)]


def test_a_mail_left_sending_by_a_dead_run_is_sent_again_with_its_message_id(engine, people, smtp_server):
    inbox, port = smtp_server
    stale, fresh = queue_mails(engine, people, 2)
    with write_session(engine) as s:
        for mail_id, claimed in ((stale, NOW - dt.timedelta(hours=2)), (fresh, NOW - dt.timedelta(minutes=5))):
            s.execute(update(OutgoingMail).where(OutgoingMail.id == mail_id)
                      .values(status="sending", attempts=1, sent_at=claimed))
    report = deliver_outbox(engine, config_for(port), now=NOW)
    assert (report.requeued, report.sent) == (1, 1)
    rows = mail_rows(engine)
    assert (rows[stale].status, rows[stale].attempts) == ("sent", 2)
    # The other one may still be in the hands of a live run: left alone.
    assert (rows[fresh].status, rows[fresh].attempts) == ("sending", 1)
    assert [m["Subject"] for m in inbox.received] == ["Hinweis 1"]
    with read_session(engine) as s:
        assert inbox.received[0]["Message-ID"] == mail.outbox_mail(s, stale).row.message_id
    # How long "stuck" is, is a policy setting.
    quick = dataclasses.replace(POLICY, mail_sending_stale_minutes=1)
    assert deliver_outbox(engine, config_for(port), now=NOW, policy=quick).requeued == 1
    assert mail_rows(engine)[fresh].status == "sent"


# --------------------------------------------------------------------------- parallel runs

DELIVERERS = 3
PARALLEL_MAILS = 30


def _deliver(url: str, port: int, barrier, results) -> None:
    try:
        engine = make_engine(url)
        barrier.wait(60)
        report = deliver_outbox(engine, config_for(port), now=NOW, batch=7)
        engine.dispose()
        results.put(("ok", report.sent, report.failed))
    except Exception:
        barrier.abort()
        results.put(("error", traceback.format_exc(), 0))


@pytest.mark.slow
def test_parallel_delivery_runs_send_every_mail_exactly_once(db_url, engine, people, smtp_server):
    inbox, port = smtp_server
    queue_mails(engine, people, PARALLEL_MAILS, prefix="Parallel")
    collected = race(_deliver, [(db_url, port)] * DELIVERERS)
    assert [c for c in collected if c[0] != "ok"] == []
    assert sum(c[1] for c in collected) == PARALLEL_MAILS and sum(c[2] for c in collected) == 0
    subjects = sorted(m["Subject"] for m in inbox.received)
    assert subjects == sorted(f"Parallel {i + 1}" for i in range(PARALLEL_MAILS))  # each exactly once
    assert {(r.status, r.attempts) for r in mail_rows(engine).values()} == {("sent", 1)}


# --------------------------------------------------------------------------- STARTTLS, login, secrets


@pytest.fixture
def tls_files(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(tls_files, monkeypatch):
    cert, key = tls_files
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(str(cert), str(key))
    inbox = Inbox()
    logins: list[tuple[bytes, bool]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        logins.append((auth_data.login, session.ssl is not None, ok))
        return AuthResult(success=ok, handled=False)  # the server answers 535 itself

    controller = FreePortController(
        inbox, hostname="127.0.0.1", port=0, tls_context=server_ctx, require_starttls=True,
        authenticator=authenticator, auth_required=True,
    )
    controller.start()
    try:
        yield inbox, controller.port, logins
    finally:
        controller.stop()


def _all_text(engine) -> str:
    """Every stored text column of the tables a delivery writes to."""
    with read_session(engine) as s:
        chunks = [
            " ".join(str(v) for v in row)
            for table in ("audit_log", "outgoing_mail", "message_log", "policy_setting", "desk_meta")
            for row in s.execute(text(f"SELECT * FROM {table}")).all()
        ]
    return "\n".join(chunks)


def test_starttls_and_login_and_the_password_stays_out_of_the_database(engine, people, tls_server):
    inbox, port, logins = tls_server
    queue_mails(engine, people, 1)
    wrong = config_for(port, starttls=True, user=USER, password="falsch-" + PASSWORD)
    report = deliver_outbox(engine, wrong, now=NOW)
    assert report.failed == 1 and report.stopped
    assert report.error.startswith(f"SMTP-Anmeldung als {USER} abgelehnt: 535")
    right = config_for(port, starttls=True, user=USER, password=PASSWORD)
    assert PASSWORD not in repr(right)
    report = deliver_outbox(engine, right, now=NOW + dt.timedelta(minutes=1))
    assert report.sent == 1 and len(inbox.received) == 1
    assert logins[-1] == (USER.encode(), True, True)  # logged in over TLS
    stored = _all_text(engine)
    for secret in (PASSWORD, base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(),
                   base64.b64encode(PASSWORD.encode()).decode()):
        assert secret not in stored
    assert "abgelehnt" in stored  # the failed attempt is on record, without the secret


def test_a_server_without_starttls_is_refused_when_starttls_is_configured(engine, people, smtp_server):
    _, port = smtp_server
    queue_mails(engine, people, 1)
    report = deliver_outbox(engine, config_for(port, starttls=True), now=NOW)
    assert report.error == f"SMTP-Server 127.0.0.1:{port} bietet kein STARTTLS an."
    assert set(r.status for r in mail_rows(engine).values()) == {"queued"}


# --------------------------------------------------------------------------- configuration


def test_configuration_from_the_settings_file_with_the_environment_on_top(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text(
        '[smtp]\nhost = "mail.agentur.example"\nstarttls = true\nuser = "desk"\n'
        'password = "aus-der-datei"\nfrom = "support@agentur.example"\ntimeout = 7\n'
    )
    config = load_smtp_config(env={}, path=path)
    assert config == SmtpConfig(host="mail.agentur.example", port=587, starttls=True, user="desk",
                                password="aus-der-datei", mail_from="support@agentur.example", timeout=7.0)
    assert "aus-der-datei" not in repr(config)
    env = {"DESK_SMTP_HOST": "smtp.other.example", "DESK_SMTP_PORT": "2525", "DESK_SMTP_STARTTLS": "nein",
           "DESK_SMTP_USER": "", "DESK_SMTP_PASSWORD": "aus-der-umgebung", "DESK_MAIL_FROM": "desk@other.example"}
    config = load_smtp_config(env=env, path=path)
    assert (config.host, config.port, config.starttls, config.user, config.password, config.mail_from) == (
        "smtp.other.example", 2525, False, "desk", "aus-der-umgebung", "desk@other.example"
    )


def test_no_host_means_no_delivery_and_bad_values_are_refused_in_german(tmp_path, monkeypatch):
    missing = tmp_path / "nope.toml"
    assert load_smtp_config(env={}, path=missing) is None
    monkeypatch.setenv("DESK_SETTINGS_FILE", str(missing))
    monkeypatch.delenv("DESK_SMTP_HOST", raising=False)
    assert load_smtp_config() is None  # the file named by DESK_SETTINGS_FILE
    base = {"DESK_SMTP_HOST": "127.0.0.1", "DESK_MAIL_FROM": SENDER}
    for env, message in (
        ({"DESK_SMTP_PORT": "smtp"}, "Der SMTP-Port 'smtp' (DESK_SMTP_PORT) ist keine Portnummer (1–65535)."),
        ({"DESK_SMTP_PORT": "70000"}, "Der SMTP-Port '70000' (DESK_SMTP_PORT) ist keine Portnummer (1–65535)."),
        ({"DESK_SMTP_STARTTLS": "vielleicht"}, "'vielleicht' (DESK_SMTP_STARTTLS) ist kein Ja/Nein-Wert"),
        ({"DESK_MAIL_FROM": ""}, "fehlt die Absenderadresse"),
    ):
        with pytest.raises(InvalidInput) as exc:
            load_smtp_config(env={**base, **env}, path=missing)
        assert message in exc.value.message
    broken = tmp_path / "broken.toml"
    broken.write_text("[smtp\nhost = ")
    with pytest.raises(InvalidInput) as exc:
        load_smtp_config(env={}, path=broken)
    assert exc.value.message.startswith(f"Die Einstellungsdatei {broken} ist kein gültiges TOML")


# --------------------------------------------------------------------------- the outbox view


def test_outbox_pages_newest_first_with_counts_and_the_body(engine, people, smtp_server):
    inbox, port = smtp_server
    ids = queue_mails(engine, people, 5)
    deliver_outbox(engine, config_for(port), now=NOW, limit=2)
    with read_session(engine) as s:
        first = mail.outbox_page(s, limit=3)
        second = mail.outbox_page(s, limit=3, before_id=first.rows[-1].id)
        queued = mail.outbox_page(s, status="queued", limit=10)
        counts = mail.outbox_counts(s)
        one = mail.outbox_mail(s, ids[0])
    assert [r.id for r in first.rows] == ids[::-1][:3] and first.has_more
    assert [r.id for r in second.rows] == ids[::-1][3:] and not second.has_more
    assert [r.id for r in queued.rows] == ids[:1:-1]
    assert counts == {"queued": 3, "sending": 0, "sent": 2, "failed": 0, "uncertain": 0}
    assert first.rows[0].customer_name == "Bäckerei Krume GmbH" and first.rows[0].to_addr == "info@krume.example"
    assert one.row.status == "sent" and "Nachricht Nummer 1." in one.body

