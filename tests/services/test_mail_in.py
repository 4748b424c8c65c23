"""Incoming mail (docs/rules.md#mail-incoming … #mail-automatic): threading, reopening, the
sender, duplicates, attachments, bounces, the conversation — on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from deskapp.services import conversation, mail_in, tickets
from deskapp.services.errors import NotFound
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.tables import AuditLog, MailAttachment, MailMessage, MailRaw, Ticket
from tests.support.mails import attachment_bytes, attachment_mail, bounce, mail

DAY = dt.timedelta(days=1)


def receive(engine, people, raw: bytes, now, policy: Policy | None = None):
    with write_session(engine) as s:
        return mail_in.receive(s, people["system"], raw, now=now, policy=policy or Policy())


def ticket(engine, number: int):
    with read_session(engine) as s:
        return tickets.find_by_number(s, number)


def messages(engine, number: int):
    with read_session(engine) as s:
        row = tickets.find_by_number(s, number)
        page = conversation.conversation(s, row.id, limit=500)
    return [e for e in page.entries if isinstance(e, conversation.MessageView)]


def events(engine, number: int):
    with read_session(engine) as s:
        row = tickets.find_by_number(s, number)
        page = conversation.conversation(s, row.id, limit=500)
    return [e for e in page.entries if isinstance(e, conversation.EventView)]


def set_status(engine, people, number: int, status: str, now):
    with write_session(engine) as s:
        tickets.set_status(s, people["tom"], tickets.find_by_number(s, number), status=status, now=now)


def count(engine, table) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_new_mail_from_a_known_address_opens_a_support_ticket_for_that_customer(engine, people, customer, now):
    raw = mail(sender="Ivo Moring <IVO@Moring.Example>")
    result = receive(engine, people, raw, now)
    assert (result.status, result.ticket) == ("stored", "new")
    row = ticket(engine, result.ticket_number)
    assert (row.queue, row.status, row.subject, row.customer_id) == ("support", "new", "Postfach voll", customer.id)
    (msg,) = messages(engine, result.ticket_number)
    assert msg.direction == "in" and msg.from_addr == "IVO@Moring.Example" and msg.from_name == "Ivo Moring"
    assert "Postfach ist voll" in msg.text and msg.sender_is_customer
    with read_session(engine) as s:
        raw_row = s.execute(select(MailRaw)).scalar_one()
        assert bytes(raw_row.data) == raw
        actions = set(s.execute(select(AuditLog.action)).scalars())
    assert {"ticket.open", "mail.in"} <= actions


def test_an_unknown_sender_gets_a_ticket_without_customer(engine, people, customer, now):
    result = receive(engine, people, mail(sender="fremd@example.org", message_id="x@example.org"), now)
    assert result.customer_number is None
    assert ticket(engine, result.ticket_number).customer_id is None


def test_the_subject_tag_threads_a_reply_into_its_ticket(engine, people, customer, now):
    first = receive(engine, people, mail(), now)
    reply = receive(engine, people, mail(subject=f"Re: [#{first.ticket_number}] Postfach voll", message_id="m2@moring.example"),
                    now + dt.timedelta(hours=1))
    assert (reply.status, reply.ticket_number, reply.ticket) == ("stored", first.ticket_number, "unchanged")
    assert [m.subject for m in messages(engine, first.ticket_number)] == [
        "Postfach voll", f"Re: [#{first.ticket_number}] Postfach voll"]
    assert count(engine, Ticket) == 1


def test_in_reply_to_or_references_naming_a_stored_message_thread_without_a_tag(engine, people, customer, now):
    first = receive(engine, people, mail(), now)
    by_reply = receive(engine, people, mail(subject="AW: Postfach", message_id="m2@moring.example",
                                            in_reply_to="m1@moring.example"), now)
    by_refs = receive(engine, people, mail(subject="noch was", message_id="m3@moring.example",
                                           references="<unknown@x> <m1@moring.example>"), now)
    assert by_reply.ticket_number == by_refs.ticket_number == first.ticket_number
    assert len(messages(engine, first.ticket_number)) == 3


def test_a_reply_to_a_desk_reply_threads_by_its_message_id(engine, people, customer, now):
    first = receive(engine, people, mail(), now)
    with write_session(engine) as s:
        row = tickets.find_by_number(s, first.ticket_number)
        conversation.record_outgoing(
            s, people["tom"], ticket_id=row.id, message_id="desk-1@desk.example", from_addr="support@desk.example",
            to="ivo@moring.example", subject=f"[#{row.number}] Postfach voll", text="Erledigt.", now=now,
        )
    answer = receive(engine, people, mail(subject="Danke", message_id="m9@moring.example",
                                          in_reply_to="desk-1@desk.example"), now)
    assert answer.ticket_number == first.ticket_number
    assert [m.direction for m in messages(engine, first.ticket_number)] == ["in", "out", "in"]


def test_an_answer_to_a_waiting_ticket_opens_it_again(engine, people, customer, now):
    first = receive(engine, people, mail(), now)
    set_status(engine, people, first.ticket_number, "waiting", now)
    reply = receive(engine, people, mail(subject=f"[#{first.ticket_number}]", message_id="m2@moring.example"), now + DAY)
    assert reply.ticket == "reopened"
    assert ticket(engine, first.ticket_number).status == "open"
    assert any(e.kind == "status" and e.old == "waiting" and e.new == "open" and e.agent_login == "system"
               for e in events(engine, first.ticket_number))
    with read_session(engine) as s:
        assert s.execute(select(func.count()).where(AuditLog.action == "ticket.reopen")).scalar_one() == 1


@pytest.mark.parametrize("days_after, reopened", [(14, True), (15, False)])
def test_a_resolved_ticket_reopens_within_the_window_and_later_gets_a_linked_follow_up(
    engine, people, customer, now, days_after, reopened
):
    first = receive(engine, people, mail(), now)
    set_status(engine, people, first.ticket_number, "resolved", now)
    later = now + dt.timedelta(days=days_after)
    reply = receive(engine, people, mail(subject=f"Re: [#{first.ticket_number}] Postfach voll",
                                         message_id="m2@moring.example"), later)
    if reopened:
        assert (reply.ticket, reply.ticket_number) == ("reopened", first.ticket_number)
        assert ticket(engine, first.ticket_number).status == "open"
        return
    assert reply.ticket == "new" and reply.ticket_number != first.ticket_number
    assert reply.follows_ticket == first.ticket_number
    assert ticket(engine, first.ticket_number).status == "resolved"
    follow_up = ticket(engine, reply.ticket_number)
    assert follow_up.status == "new" and follow_up.customer_id == customer.id
    assert any(e.kind == "link" and f"#{first.ticket_number}" in e.text for e in events(engine, reply.ticket_number))
    assert any(e.kind == "link" and f"#{reply.ticket_number}" in e.text for e in events(engine, first.ticket_number))
    assert [m.subject for m in messages(engine, reply.ticket_number)] == [f"Re: [#{first.ticket_number}] Postfach voll"]


def test_the_reopen_window_is_a_setting(engine, people, customer, now):
    first = receive(engine, people, mail(), now)
    set_status(engine, people, first.ticket_number, "resolved", now)
    reply = receive(engine, people, mail(subject=f"[#{first.ticket_number}]", message_id="m2@moring.example"),
                    now + dt.timedelta(days=3), policy=dataclasses.replace(Policy(), mail_reopen_days=2))
    assert reply.ticket == "new" and reply.follows_ticket == first.ticket_number


@pytest.mark.parametrize("header", [
    "Auto-Submitted: auto-replied", "Precedence: bulk", "Precedence: junk", "Precedence: list",
    "X-Autoreply: yes", "X-Autorespond: on",
])
def test_automatic_mail_is_stored_but_never_reopens(engine, people, customer, now, header):
    first = receive(engine, people, mail(), now)
    set_status(engine, people, first.ticket_number, "waiting", now)
    name, value = header.split(": ")
    auto = receive(engine, people, mail(subject=f"Abwesend: [#{first.ticket_number}]", message_id="ooo@moring.example",
                                        headers={name: value}), now + DAY)
    assert auto.automatic and auto.ticket == "unchanged" and auto.ticket_number == first.ticket_number
    assert ticket(engine, first.ticket_number).status == "waiting"
    assert messages(engine, first.ticket_number)[-1].is_auto


def test_auto_submitted_no_is_a_person(engine, people, customer, now):
    first = receive(engine, people, mail(), now)
    set_status(engine, people, first.ticket_number, "waiting", now)
    reply = receive(engine, people, mail(subject=f"[#{first.ticket_number}]", message_id="m2@moring.example",
                                         headers={"Auto-Submitted": "no"}), now)
    assert not reply.automatic and reply.ticket == "reopened"


def test_automatic_mail_to_an_old_resolved_ticket_opens_nothing_new(engine, people, customer, now):
    first = receive(engine, people, mail(), now)
    set_status(engine, people, first.ticket_number, "resolved", now)
    auto = receive(engine, people, mail(subject=f"[#{first.ticket_number}]", message_id="ooo@moring.example",
                                        headers={"Auto-Submitted": "auto-replied"}), now + 60 * DAY)
    assert (auto.ticket_number, auto.ticket) == (first.ticket_number, "unchanged")
    assert count(engine, Ticket) == 1 and ticket(engine, first.ticket_number).status == "resolved"


def test_a_forged_tag_from_a_stranger_threads_but_is_marked(engine, people, customer, now):
    first = receive(engine, people, mail(), now)
    set_status(engine, people, first.ticket_number, "waiting", now)
    forged = receive(engine, people, mail(sender="mallory@evil.example", subject=f"[#{first.ticket_number}] Passwort",
                                          message_id="f@evil.example"), now)
    assert forged.ticket_number == first.ticket_number and not forged.sender_is_customer
    last = messages(engine, first.ticket_number)[-1]
    assert not last.sender_is_customer and mail_in.NOTE_NOT_CUSTOMER in last.notes
    assert any(e.kind == "mail" and "mallory@evil.example" in e.text for e in events(engine, first.ticket_number))


def test_on_a_ticket_without_customer_the_first_writer_is_the_customer(engine, people, now):
    first = receive(engine, people, mail(sender="anna@example.org"), now)
    again = receive(engine, people, mail(sender="ANNA@example.org", subject=f"[#{first.ticket_number}]",
                                         message_id="m2@x"), now)
    other = receive(engine, people, mail(sender="bob@example.org", subject=f"[#{first.ticket_number}]",
                                         message_id="m3@x"), now)
    assert again.sender_is_customer and not other.sender_is_customer


def test_a_tag_naming_no_ticket_opens_a_new_one_and_says_so(engine, people, customer, now):
    result = receive(engine, people, mail(subject="Re: [#4711] alt"), now)
    assert result.ticket == "new" and result.ticket_number != 4711
    (msg,) = messages(engine, result.ticket_number)
    assert mail_in.NOTE_UNKNOWN_TAG.format(number=4711) in msg.notes


def test_the_same_message_id_twice_is_stored_once(engine, people, customer, now):
    first = receive(engine, people, mail(), now)
    second = receive(engine, people, mail(), now + DAY)
    assert (second.status, second.ticket_number, second.ticket) == ("duplicate", first.ticket_number, "unchanged")
    assert count(engine, MailMessage) == 1 and count(engine, Ticket) == 1 and count(engine, MailRaw) == 1


def test_messages_without_message_id_are_each_stored(engine, people, now):
    receive(engine, people, mail(message_id=None), now)
    receive(engine, people, mail(message_id=None), now)
    assert count(engine, MailMessage) == 2


def test_attachments_are_kept_and_can_be_saved(engine, people, customer, now):
    result = receive(engine, people, attachment_mail(3000), now)
    (msg,) = messages(engine, result.ticket_number)
    assert [(a.index, a.filename, a.content_type, a.size, a.kept) for a in msg.attachments] == [
        (1, "rechnung.pdf", "application/pdf", 3000, True)]
    with read_session(engine) as s:
        found = conversation.attachment(s, ticket(engine, result.ticket_number).id, 1)
        assert found.data == attachment_bytes(3000)
        with pytest.raises(NotFound):
            conversation.attachment(s, ticket(engine, result.ticket_number).id, 2)


def test_attachments_over_the_limit_are_listed_but_not_kept(engine, people, customer, now):
    policy = dataclasses.replace(Policy(), mail_attachment_max_mb=1)
    result = receive(engine, people, attachment_mail(1024 * 1024 + 1), now, policy=policy)
    (msg,) = messages(engine, result.ticket_number)
    assert [(a.size, a.kept) for a in msg.attachments] == [(1024 * 1024 + 1, False)]
    assert any("Anhänge nicht gespeichert" in n for n in msg.notes)
    with read_session(engine) as s:
        assert s.execute(select(MailAttachment.data)).scalar_one() is None
        assert s.execute(select(MailRaw.size)).scalar_one() > 1024 * 1024  # the raw message is kept
        with pytest.raises(NotFound, match="nicht gespeichert"):
            conversation.attachment(s, ticket(engine, result.ticket_number).id, 1)


def test_a_bounce_of_desk_mail_is_recorded_on_its_ticket_and_changes_no_status(engine, people, customer, now):
    first = receive(engine, people, mail(), now)
    set_status(engine, people, first.ticket_number, "waiting", now)
    with write_session(engine) as s:
        row = tickets.find_by_number(s, first.ticket_number)
        conversation.record_outgoing(
            s, people["tom"], ticket_id=row.id, message_id="desk-7@desk.example", from_addr="support@desk.example",
            to="ivo@moring.example", subject=f"[#{row.number}] Antwort", text="…", now=now,
        )
    result = receive(engine, people, bounce("desk-7@desk.example"), now + DAY)
    assert result.automatic and result.bounce_of == ("desk-7@desk.example",)
    assert result.ticket_number == first.ticket_number and result.bounced_tickets == (first.ticket_number,)
    assert ticket(engine, first.ticket_number).status == "waiting"
    assert any(e.kind == "mail" and "desk-7@desk.example" in e.text and "5.1.1" in e.text
               for e in events(engine, first.ticket_number))


def test_a_bounce_of_unknown_mail_opens_a_low_priority_ticket(engine, people, now):
    result = receive(engine, people, bounce("never-sent@desk.example"), now)
    assert result.ticket == "new" and result.bounced_tickets == ()
    assert ticket(engine, result.ticket_number).priority == 1


def test_the_conversation_is_in_order_and_paged(engine, people, customer, now):
    first = receive(engine, people, mail(), now)
    with write_session(engine) as s:
        row = tickets.find_by_number(s, first.ticket_number)
        tickets.add_note(s, people["tom"], row.id, text_="Intern: Kunde anrufen", now=now + dt.timedelta(minutes=5))
    receive(engine, people, mail(subject=f"[#{first.ticket_number}] noch was", message_id="m2@moring.example"),
            now + dt.timedelta(minutes=10))
    with read_session(engine) as s:
        row = tickets.find_by_number(s, first.ticket_number)
        whole = conversation.conversation(s, row.id, limit=100)
        pages = [conversation.conversation(s, row.id, offset=o, limit=2) for o in range(0, whole.total, 2)]
    kinds = [("m:" + e.subject) if isinstance(e, conversation.MessageView) else e.kind for e in whole.entries]
    assert kinds == ["created", "m:Postfach voll", "note", f"m:[#{first.ticket_number}] noch was"]
    assert [e for p in pages for e in p.entries] == list(whole.entries)
