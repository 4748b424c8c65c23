"""Outgoing mail under faults (docs/rules.md#mail-delivery), against real SMTP peers on 127.0.0.1.

A peer that keeps the mail but answers 250 only after the client's normal timeout; one that
never answers in time; one that drops the connection before it has the mail; a ``deskapp
mail send`` process killed with SIGKILL while the peer holds a mail. What the recipient
sees: never two mails with different Message-IDs for one outbox mail; a late 250 is heard
and the mail is not sent again; a break before the end of the text is retried without
risk; a mail whose outcome stayed unknown is sent again only after the stale window, with
the same Message-ID and Date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import select

from deskapp.formatting import utcnow
from deskapp.services import mail
from deskapp.services.mail import SmtpConfig, deliver_outbox
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.tables import AuditLog, OutgoingMail
from screens.outbox import status_label
from tests.support.deskdata import NOW, queue_mails

SENDER = "support@agentur.example"
DESKAPP = Path(sys.executable).parent / "deskapp"
# The normal per-operation timeout is short; the wait for the final answer is long.
POLICY = Policy(mail_data_timeout_seconds=20.0)


def config_for(port: int, timeout: float = 1.0) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, mail_from=SENDER, timeout=timeout)




def rows(engine) -> dict[int, SimpleNamespace]:
    with read_session(engine) as s:
        return {r.id: SimpleNamespace(**r.model_dump()) for r in s.execute(select(OutgoingMail)).scalars()}


def ids_by_subject(inbox) -> dict[str, list[str]]:
    seen = defaultdict(list)
    for m in inbox.received:
        seen[m["Subject"]].append(m["Message-ID"])
    return dict(seen)


def test_a_late_250_is_waited_for_and_the_mail_is_not_sent_again(engine, people, smtp_server):
    inbox, port = smtp_server
    (mail_id,) = queue_mails(engine, people, 1)
    inbox.delay = 2.0  # longer than the normal timeout of 1 s, shorter than the 20 s for the final answer
    report = deliver_outbox(engine, config_for(port), now=NOW, policy=POLICY)
    assert (report.sent, report.failed, report.uncertain) == (1, 0, 0)
    row = rows(engine)[mail_id]
    assert (row.status, row.attempts, row.uncertain_count) == ("sent", 1, 0)
    assert row.smtp_reply == "250 Message accepted for delivery"
    inbox.delay = 0.0
    later = NOW + dt.timedelta(hours=3)
    assert deliver_outbox(engine, config_for(port), now=later, policy=POLICY).sent == 0
    assert len(inbox.received) == 1
    got = inbox.received[0]
    assert got["Message-ID"] == row.message_id and parsedate_to_datetime(got["Date"]) == NOW


def test_no_answer_after_the_text_is_uncertain_and_sent_again_later_with_the_same_message_id(
    engine, people, smtp_server
):
    inbox, port = smtp_server
    first, second = queue_mails(engine, people, 2)
    impatient = dataclasses.replace(POLICY, mail_data_timeout_seconds=0.5)
    inbox.delay = 3.0  # the server keeps the mail but answers after the client stopped waiting
    report = deliver_outbox(engine, config_for(port), now=NOW, policy=impatient, limit=1)
    assert (report.sent, report.failed, report.uncertain, report.refused) == (0, 1, 1, 0)
    row = rows(engine)[first]
    assert (row.status, row.attempts, row.uncertain_count, row.sent_at) == ("uncertain", 1, 1, NOW)
    assert row.last_error.startswith("Keine Antwort des SMTP-Servers nach der Übertragung (Zeitüberschreitung")
    assert "derselben Message-ID erneut gesendet" in row.last_error
    inbox.delay = 0.0
    # Within the stale window it is left alone (the other mail goes out).
    soon = NOW + dt.timedelta(minutes=POLICY.mail_sending_stale_minutes - 1)
    assert deliver_outbox(engine, config_for(port), now=soon, policy=POLICY).sent == 1
    assert rows(engine)[first].status == "uncertain"
    # After it: sent again, same Message-ID and Date, marked as possibly doubled.
    later = NOW + dt.timedelta(minutes=POLICY.mail_sending_stale_minutes + 1)
    assert deliver_outbox(engine, config_for(port), now=later, policy=POLICY).sent == 1
    row = rows(engine)[first]
    assert (row.status, row.attempts, row.uncertain_count, row.last_error) == ("sent", 2, 1, "")
    seen = ids_by_subject(inbox)
    assert seen["Hinweis 1"] == [row.message_id, row.message_id]  # two copies, one Message-ID
    assert len(seen["Hinweis 2"]) == 1
    assert {parsedate_to_datetime(m["Date"]) for m in inbox.received} == {NOW}
    with read_session(engine) as s:
        shown = mail.outbox_mail(s, first).row
        actions = s.execute(select(AuditLog.action).where(AuditLog.entity == "outgoing_mail",
                                                          AuditLog.entity_id == str(first))
                            .order_by(AuditLog.id)).scalars().all()
    assert status_label(shown) == "gesendet (2×?)"
    assert actions == ["mail.queue", "mail.claim", "mail.uncertain", "mail.claim", "mail.send"]


def test_a_mail_without_answer_again_and_again_is_given_up(engine, people, smtp_server):
    inbox, port = smtp_server
    (mail_id,) = queue_mails(engine, people, 1)
    impatient = dataclasses.replace(POLICY, mail_data_timeout_seconds=0.3, mail_uncertain_resends=1)
    inbox.delay = 1.5
    deliver_outbox(engine, config_for(port), now=NOW, policy=impatient)
    later = NOW + dt.timedelta(hours=1)
    report = deliver_outbox(engine, config_for(port), now=later, policy=impatient)
    assert (report.failed, report.refused) == (1, 1)
    row = rows(engine)[mail_id]
    assert (row.status, row.attempts, row.uncertain_count) == ("failed", 2, 2)
    assert row.last_error.startswith("Aufgegeben nach 2 Versuchen ohne Ergebnis")
    assert "erneut gesendet" not in row.last_error  # it is not
    # Given up: no further copy.
    inbox.delay = 0.0
    assert deliver_outbox(engine, config_for(port), now=later + dt.timedelta(hours=1), policy=impatient).sent == 0
    assert ids_by_subject(inbox) == {"Hinweis 1": [row.message_id, row.message_id]}


def test_a_send_run_killed_while_the_server_holds_a_mail(db_url, engine, people, smtp_server, tmp_path):
    inbox, port = smtp_server
    ids = queue_mails(engine, people, 3)
    inbox.hold = threading.Event()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DESK_")},
        "DESK_SETTINGS_FILE": str(tmp_path / "keine.toml"), "DESK_SMTP_HOST": "127.0.0.1",
        "DESK_SMTP_PORT": str(port), "DESK_MAIL_FROM": SENDER, "HOME": str(tmp_path),
    }
    proc = subprocess.Popen([str(DESKAPP), "mail", "send", "--db", db_url], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert inbox.arrived.wait(60), "the send run never handed over its first mail"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    inbox.hold.set()
    assert [rows(engine)[i].status for i in ids] == ["sending", "queued", "queued"]
    # A run right away leaves the claimed mail alone: a live run might still be waiting for its answer.
    assert deliver_outbox(engine, config_for(port), now=utcnow(), policy=POLICY).sent == 2
    assert rows(engine)[ids[0]].status == "sending"
    # After the stale window: its outcome is unknown, so it is sent again with its Message-ID.
    later = utcnow() + dt.timedelta(minutes=POLICY.mail_sending_stale_minutes + 1)
    report = deliver_outbox(engine, config_for(port), now=later, policy=POLICY)
    assert (report.requeued, report.sent) == (1, 1)
    final = rows(engine)
    assert {final[i].status for i in ids} == {"sent"}
    assert (final[ids[0]].attempts, final[ids[0]].uncertain_count) == (2, 1)
    seen = ids_by_subject(inbox)
    # Never two different Message-IDs for one mail: the copy collapses at the recipient.
    assert {subject: len(set(mids)) for subject, mids in seen.items()} == {
        "Hinweis 1": 1, "Hinweis 2": 1, "Hinweis 3": 1}
    assert seen["Hinweis 1"] == [final[ids[0]].message_id] * 2


def test_a_connection_lost_before_the_end_of_the_text_is_safe_to_retry(engine, people, smtp_server):
    inbox, port = smtp_server
    (mail_id,) = queue_mails(engine, people, 1)

    async def handle_RCPT(server, session, envelope, address, options):
        server.transport.close()  # the server goes away before it has the mail
        return "250 OK"

    inbox.handle_RCPT = handle_RCPT
    report = deliver_outbox(engine, config_for(port), now=NOW, policy=POLICY)
    assert (report.sent, report.failed, report.uncertain, report.remaining) == (0, 1, 0, 1)
    row = rows(engine)[mail_id]
    assert (row.status, row.uncertain_count) == ("queued", 0)  # known not delivered: no duplicate risk
    assert row.last_error.startswith("Verbindung vor dem Ende der Übertragung abgebrochen")
    del inbox.handle_RCPT
    assert deliver_outbox(engine, config_for(port), now=NOW, policy=POLICY).sent == 1
    assert ids_by_subject(inbox) == {"Hinweis 1": [row.message_id]}
