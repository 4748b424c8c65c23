"""Outgoing mail in its ticket's thread (docs/rules.md#mail-threading, docs/rules.md#mail-replies):
the ticket tag in the subject once, In-Reply-To/References on the sent message, no header
injection; the Message-ID's domain; bounces (docs/rules.md#mail-automatic); migration 0007."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import select, text

from deskapp.services import customers, journal, mail, orders, tickets
from deskapp.services.errors import InvalidInput, NotFound
from deskapp.services.mail import SmtpConfig, deliver_outbox
from deskapp.services.registry import SimulatedRegistry
from deskapp.settings import Policy
from models.engine import make_engine, read_session, write_session
from models.migrate import _config
from models.tables import AuditLog, OutgoingMail, Ticket
from tests.support.deskdata import NOW

SENDER = "Support <support@agentur.example>"
POLICY = Policy()


@pytest.fixture
def krume(engine, people):
    with write_session(engine) as s:
        return customers.create_customer(
            s, people["sara"], name="Bäckerei Krume GmbH", email="info@krume.example",
            credit_limit=Decimal("500.00"), now=NOW,
        )


def _ticket(engine, people, krume):
    with write_session(engine) as s:
        return tickets.open_ticket(s, people["tom"], queue="support", subject="Frage zur Rechnung", now=NOW,
                                   customer_id=krume.id)


def _log(engine, people, krume, subject, **kw):
    with write_session(engine) as s:
        return journal.log_message(s, customer_id=krume.id, kind="support", subject=subject, body="Guten Tag.",
                                   now=NOW, actor=people["tom"], **kw)


def _mail(engine, mail_id):
    with read_session(engine) as s:
        return s.execute(select(OutgoingMail.subject, OutgoingMail.message_id, OutgoingMail.in_reply_to,
                                OutgoingMail.references, OutgoingMail.ticket_id, OutgoingMail.status,
                                OutgoingMail.last_error).where(OutgoingMail.id == mail_id)).one()


def test_mails_about_a_ticket_carry_its_tag_once_and_thread_on_the_wire(engine, people, krume, smtp_server,
                                                                       monkeypatch):
    monkeypatch.setenv("DESK_MAIL_FROM", SENDER)
    inbox, port = smtp_server
    ticket = _ticket(engine, people, krume)
    tag = f"[#{ticket.number}]"
    first = _log(engine, people, krume, "Ihre Frage", ticket_id=ticket.id)
    second = _log(engine, people, krume, f"Re: {tag} Ihre Frage", ticket_id=ticket.id)
    third = _log(engine, people, krume, "Nachtrag", ticket_id=ticket.id)
    one, two, three = (_mail(engine, m.mail_id) for m in (first, second, third))
    assert one.subject == f"{tag} Ihre Frage" and two.subject == f"Re: {tag} Ihre Frage"  # never doubled
    assert first.subject == "Ihre Frage"  # the message log keeps what was written
    assert one.message_id.endswith("@agentur.example>") and len({one.message_id, two.message_id,
                                                                three.message_id}) == 3
    assert (one.in_reply_to, one.references) == (None, None)
    assert (two.in_reply_to, two.references) == (one.message_id, one.message_id)
    assert (three.in_reply_to, three.references) == (two.message_id, f"{one.message_id} {two.message_id}")
    assert {one.ticket_id, two.ticket_id, three.ticket_id} == {ticket.id}
    config = SmtpConfig(host="127.0.0.1", port=port, mail_from=SENDER, timeout=5)
    assert deliver_outbox(engine, config, now=NOW).sent == 3
    got = {m["Message-ID"]: m for m in inbox.received}
    assert got[three.message_id]["Subject"] == f"{tag} Nachtrag"
    assert got[three.message_id]["In-Reply-To"] == two.message_id
    assert got[three.message_id]["References"] == f"{one.message_id} {two.message_id}"
    assert "In-Reply-To" not in got[one.message_id]


def test_an_explicit_reply_target_is_kept_and_the_domain_falls_back_without_a_sender(engine, people, krume,
                                                                                    monkeypatch):
    monkeypatch.delenv("DESK_MAIL_FROM", raising=False)
    ticket = _ticket(engine, people, krume)
    logged = _log(engine, people, krume, "Antwort", ticket_id=ticket.id, in_reply_to="<kunde.1@krume.example>",
                  references="<start@krume.example> <kunde.1@krume.example>")
    row = _mail(engine, logged.mail_id)
    assert (row.in_reply_to, row.references) == ("<kunde.1@krume.example>",
                                                 "<start@krume.example> <kunde.1@krume.example>")
    assert row.message_id.endswith("@deskapp.invalid>")


@pytest.mark.parametrize("field, value, words", [
    ("subject", "Hallo\r\nBcc: alle@example.org", "Der Betreff darf keinen Zeilenumbruch enthalten"),
    ("in_reply_to", "<a@b>\nBcc: alle@example.org", "In-Reply-To darf keinen Zeilenumbruch enthalten"),
    ("references", "<a@b>\r\n<c@d>", "References darf keinen Zeilenumbruch enthalten"),
    ("in_reply_to", "kein-message-id", "In-Reply-To muss aus Message-IDs der Form <…@…> bestehen."),
])
def test_a_line_break_in_a_header_is_refused_in_german_and_nothing_is_queued(engine, people, krume, field,
                                                                            value, words):
    kw = {"subject": "Hallo"} | {field: value}
    with pytest.raises(InvalidInput) as refused:
        _log(engine, people, krume, **kw)
    assert words in refused.value.message
    with read_session(engine) as s:
        assert s.execute(select(OutgoingMail.id)).all() == []


def test_a_held_order_mail_carries_the_held_order_tickets_tag_and_the_decision_answers_it(engine, people, krume):
    def place(amount, item):
        with write_session(engine) as s:
            return orders.place_order(s, people["system"], customer_id=krume.id, item=item, amount=amount, now=NOW,
                                      policy=POLICY, registry=SimulatedRegistry())

    place(Decimal("480.00"), "krume-backshop.de")
    held = place(Decimal("45.50"), "krume-online.de")
    with write_session(engine) as s:
        orders.reject_order(s, people["sara"], order_id=held.order_id, reason="Bonitätsprüfung negativ", now=NOW)
    with read_session(engine) as s:
        ticket_id = s.execute(select(Ticket.id).where(Ticket.number == held.ticket_number)).scalar_one()
        told, rejected = s.execute(select(OutgoingMail.subject, OutgoingMail.message_id, OutgoingMail.in_reply_to,
                                          OutgoingMail.ticket_id).order_by(OutgoingMail.id)).all()
    tag = f"[#{held.ticket_number}]"
    assert told.subject.startswith(tag) and rejected.subject.startswith(tag)
    assert told.ticket_id == rejected.ticket_id == ticket_id
    assert rejected.in_reply_to == told.message_id


def test_a_bounce_marks_the_mail_failed_with_the_reason(engine, people, krume):
    logged = _log(engine, people, krume, "Hinweis")
    message_id = _mail(engine, logged.mail_id).message_id
    with write_session(engine) as s:
        bounced = mail.mark_bounced(s, message_id.strip("<>"), "550 5.1.1 Postfach unbekannt", now=NOW)
    assert (bounced.id, bounced.status_before) == (logged.mail_id, "queued")
    row = _mail(engine, logged.mail_id)
    assert (row.status, row.last_error) == ("failed", "Unzustellbar (Rückläufer): 550 5.1.1 Postfach unbekannt")
    with write_session(engine) as s:  # the same bounce again changes nothing
        mail.mark_bounced(s, message_id, "550 5.1.1 Postfach unbekannt", now=NOW)
    with read_session(engine) as s:
        actions = s.execute(select(AuditLog.agent_login, AuditLog.action)
                            .where(AuditLog.action == "mail.bounce")).all()
    assert actions == [("system", "mail.bounce")]
    with write_session(engine) as s, pytest.raises(NotFound) as missing:
        mail.mark_bounced(s, "<fremd@example.org>", "550", now=NOW)
    assert missing.value.message == "Eine Mail mit der Message-ID <fremd@example.org> gibt es nicht im Postausgang."


def test_the_migration_gives_existing_mails_a_message_id(tmp_path, monkeypatch):
    monkeypatch.setenv("DESK_MAIL_FROM", "support@agentur.example")
    url = f"sqlite:///{tmp_path / 'alt.sqlite3'}"
    command.upgrade(_config(url), "0005")
    engine = make_engine(url)
    with engine.begin() as conn:
        for subject in ("Alt 1", "Alt 2"):
            conn.execute(text(
                "INSERT INTO outgoing_mail (to_addr, subject, body, status, attempts, last_error, created_at) "
                "VALUES ('a@b.example', :s, 'x', 'queued', 0, '', '2026-03-01 10:00:00.000000')"), {"s": subject})
    command.upgrade(_config(url), "head")
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT message_id FROM outgoing_mail")).scalars().all()
    engine.dispose()
    assert len(set(ids)) == 2 and all(i.startswith("<outbox-") and i.endswith("@agentur.example>") for i in ids)
