"""Replies from the ticket (docs/rules.md#mail-replies), drafts, linking an unknown sender
(docs/rules.md#mail-sender), and "Kunde kontaktieren" as mail (docs/rules.md#mail-held-contact);
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from deskapp.services import contacts, conversation, mail_in, orders, replies
from deskapp.services.errors import InvalidInput
from deskapp.services.registry import SimulatedRegistry
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.tables import AuditLog, OutgoingMail
from tests.support.deskdata import NOW

POLICY = Policy()


def customer_mail(subject="Drucker streikt", sender="Ivo Moring <ivo@moring.example>", msgid="<c1@moring.example>",
                  body="Hallo,\nder Drucker druckt nicht.\nGruss Ivo", extra=""):
    return (f"From: {sender}\r\nTo: support@agentur.example\r\nSubject: {subject}\r\n"
            f"Message-ID: {msgid}\r\nDate: Mon, 30 Nov 2026 08:00:00 +0100\r\n{extra}"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


def receive(engine, people, raw, now=NOW):
    with write_session(engine) as s:
        return mail_in.receive(s, people["system"], raw, now=now, policy=POLICY)


def run(engine, fn, *args, **kw):
    with write_session(engine) as s:
        return fn(s, *args, **kw)


def outbox(engine, mail_id):
    with read_session(engine) as s:
        mail = s.get(OutgoingMail, mail_id)
        s.expunge(mail)
        return mail


def test_reply_quotes_threads_tags_and_sets_waiting_then_the_answer_reopens(engine, people, customer):
    got = receive(engine, people, customer_mail())
    assert got.ticket == "new" and got.customer_number == customer.number
    form = run(engine, replies.compose, people["tom"], got.ticket_id)
    tag = f"[#{got.ticket_number}]"
    assert form.to == "ivo@moring.example" and form.subject == f"{tag} Re: Drucker streikt"
    assert "> der Drucker druckt nicht." in form.body and "schrieb Ivo Moring:" in form.body
    assert not form.from_draft and form.answering_id is not None
    sent = run(engine, replies.send, people["tom"], got.ticket_id, to=form.to, subject=form.subject,
               body="Bitte neu starten.\n" + form.body, answering_id=form.answering_id, now=NOW)
    assert sent.status == "waiting"
    mail = outbox(engine, sent.mail_id)
    assert mail.subject.startswith(tag) and mail.in_reply_to == "<c1@moring.example>"
    assert mail.references == "<c1@moring.example>" and mail.ticket_id == got.ticket_id
    assert mail.to_addr == "ivo@moring.example"
    with read_session(engine) as s:
        page = conversation.conversation(s, got.ticket_id)
        assert [e.direction for e in page.entries if isinstance(e, conversation.MessageView)] == ["in", "out"]
        assert s.execute(select(AuditLog).where(AuditLog.action == "ticket.reply")).scalar() is not None
    answer = customer_mail(subject=f"Re: {mail.subject}", msgid="<c2@moring.example>", body="Geht wieder, danke!",
                           extra=f"In-Reply-To: {mail.message_id}\r\n")
    again = receive(engine, people, answer, now=NOW + dt.timedelta(hours=1))
    assert again.ticket_id == got.ticket_id and again.ticket == "reopened"


def test_reply_with_a_chosen_status_and_refusals(engine, people, customer):
    got = receive(engine, people, customer_mail())
    form = run(engine, replies.compose, people["tom"], got.ticket_id)
    with pytest.raises(InvalidInput, match="Zeilenumbruch|Zeilen"):
        run(engine, replies.send, people["tom"], got.ticket_id, to="ivo@moring.example\r\nBcc: x@evil.example",
            subject=form.subject, body="Hallo", answering_id=form.answering_id, now=NOW)
    with pytest.raises(InvalidInput):
        run(engine, replies.send, people["tom"], got.ticket_id, to=form.to, subject="Re\nBcc: x@y.z", body="Hallo",
            answering_id=form.answering_id, now=NOW)
    with pytest.raises(InvalidInput, match="leere Antwort"):
        run(engine, replies.send, people["tom"], got.ticket_id, to=form.to, subject=form.subject, body="  ",
            answering_id=form.answering_id, now=NOW)
    with pytest.raises(InvalidInput):
        run(engine, replies.send, people["tom"], got.ticket_id, to="kein-at", subject=form.subject, body="x",
            answering_id=form.answering_id, now=NOW)
    with read_session(engine) as s:
        assert s.execute(select(OutgoingMail)).first() is None  # nothing queued by a refusal
    sent = run(engine, replies.send, people["tom"], got.ticket_id, to=form.to, subject=form.subject,
               body="Erledigt.", answering_id=form.answering_id, status="resolved", now=NOW)
    assert sent.status == "resolved"


def test_draft_is_kept_per_agent_restored_and_dropped_when_sent(engine, people, customer):
    got = receive(engine, people, customer_mail())
    form = run(engine, replies.compose, people["tom"], got.ticket_id)
    assert run(engine, replies.save_draft, people["tom"], got.ticket_id, to=form.to, subject=form.subject,
               body="Halb fertig", answering_id=form.answering_id, status="open", now=NOW)
    again = run(engine, replies.compose, people["tom"], got.ticket_id)
    assert again.from_draft and again.body == "Halb fertig" and again.status == "open"
    other = run(engine, replies.compose, people["sara"], got.ticket_id)
    assert not other.from_draft  # a draft is the agent's own
    run(engine, replies.send, people["tom"], got.ticket_id, to=again.to, subject=again.subject, body=again.body,
        answering_id=again.answering_id, status=again.status, now=NOW)
    assert not run(engine, replies.compose, people["tom"], got.ticket_id).from_draft


def test_unknown_sender_gets_an_address_reply_and_is_linked_to_a_customer(engine, people, customer):
    got = receive(engine, people, customer_mail(sender="Ivo privat <ivo.privat@mail.example>", msgid="<u1@x>"))
    assert got.customer_number is None
    form = run(engine, replies.compose, people["tom"], got.ticket_id)
    assert not form.has_customer and form.to == "ivo.privat@mail.example"
    sent = run(engine, replies.send, people["tom"], got.ticket_id, to=form.to, subject=form.subject, body="Wer sind Sie?",
               answering_id=form.answering_id, now=NOW)
    assert outbox(engine, sent.mail_id).customer_id is None
    row = run(engine, replies.link_customer, people["tom"], got.ticket_id, customer_id=customer.id, now=NOW)
    assert row.customer_id == customer.id
    with read_session(engine) as s:
        assert "ivo.privat@mail.example" in contacts.addresses_of(s, customer.id)
        assert s.execute(select(AuditLog).where(AuditLog.action == "ticket.customer")).scalar() is not None
    with pytest.raises(InvalidInput, match="schon einen Kunden"):
        run(engine, replies.link_customer, people["tom"], got.ticket_id, customer_id=customer.id, now=NOW)
    # the next mail from that address finds the customer
    later = receive(engine, people, customer_mail(sender="ivo.privat@mail.example", msgid="<u2@x>", subject="Neu"))
    assert later.customer_number == customer.number


def test_contact_customer_mails_the_process_number_and_the_answer_lands_in_the_ticket(engine, people, customer):
    with write_session(engine) as s:
        held = orders.place_order(s, people["system"], customer_id=customer.id, item="server.example",
                                  amount=Decimal("900.00"), now=NOW, policy=POLICY, registry=SimulatedRegistry())
    assert held.status == "held"
    run(engine, orders.contact_customer, people["sara"], order_id=held.order_id, note="Ist die Bestellung gewollt?",
        now=NOW)
    with read_session(engine) as s:
        mail = s.execute(select(OutgoingMail).where(OutgoingMail.subject.like("%Rückfrage%"))).scalar_one()
        s.expunge(mail)
    assert held.process_number in mail.subject and f"[#{held.ticket_number}]" in mail.subject
    assert "Ist die Bestellung gewollt?" in mail.body
    answer = customer_mail(subject=f"Re: {mail.subject}", msgid="<a1@moring.example>", body="Ja, gewollt.",
                           extra=f"In-Reply-To: {mail.message_id}\r\n")
    got = receive(engine, people, answer, now=NOW + dt.timedelta(hours=2))
    assert got.ticket_number == held.ticket_number and got.ticket == "reopened"


def test_a_ticket_without_customer_or_mail_asks_for_the_address(engine, people):
    from deskapp.services import tickets

    with write_session(engine) as s:
        row = tickets.open_ticket(s, people["tom"], queue="support", subject="Anruf: Rückruf erbeten", now=NOW)
    form = run(engine, replies.compose, people["tom"], row.id)
    assert form.to == "" and not form.has_customer and form.answering_id is None
    assert form.subject == f"[#{row.number}] Re: Anruf: Rückruf erbeten"
    for wrong in ("", "kein-at", "a@b.example\nBcc: c@d.example"):
        with pytest.raises(InvalidInput):
            run(engine, replies.send, people["tom"], row.id, to=wrong, subject=form.subject, body="Hallo",
                answering_id=None, now=NOW)
    sent = run(engine, replies.send, people["tom"], row.id, to="anrufer@example.org", subject=form.subject,
               body="Wir melden uns.", answering_id=None, now=NOW)
    assert outbox(engine, sent.mail_id).to_addr == "anrufer@example.org" and sent.status == "waiting"
