"""Both halves of the mail channel together (docs/rules.md#mail-threading,
docs/rules.md#mail-bounce): a mail the desk queues about a ticket is part of that ticket's
conversation, so the customer's answer to it — which names it only in In-Reply-To, with no
tag in the subject — lands in the same ticket; a bounce of it fails the outbox mail."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from deskapp.services import conversation, customers, journal, mail_in, tickets
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.enums import MailDirection
from models.tables import OutgoingMail
from tests.support.deskdata import NOW
from tests.support.mails import bounce, mail


@pytest.fixture
def asked(engine, people):
    """A ticket of Bäckerei Krume and the desk's mail about it: (ticket, outbox mail)."""
    with write_session(engine) as s:
        krume = customers.create_customer(
            s, people["sara"], name="Bäckerei Krume GmbH", email="info@krume.example",
            credit_limit=Decimal("500.00"), now=NOW,
        )
        ticket = tickets.open_ticket(s, people["tom"], queue="support", subject="Frage zur Rechnung", now=NOW,
                                     customer_id=krume.id)
        logged = journal.log_message(s, customer_id=krume.id, kind="support", subject="Ihre Rechnung",
                                     body="Guten Tag, wir prüfen das.", now=NOW, actor=people["tom"],
                                     ticket_id=ticket.id)
        outgoing = s.get(OutgoingMail, logged.mail_id)
        return ticket, outgoing.message_id


def test_the_desks_mail_is_in_the_conversation_and_the_answer_threads_by_in_reply_to(engine, people, asked):
    ticket, message_id = asked
    with read_session(engine) as s:
        page = conversation.conversation(s, ticket.id, offset=0, limit=50)
    outgoing = [m for m in page.entries if getattr(m, "direction", None) == MailDirection.OUT]
    assert [m.subject for m in outgoing] == [f"[#{ticket.number}] Ihre Rechnung"]

    answer = mail(subject="AW: Ihre Rechnung", sender="info@krume.example", message_id="a1@krume.example",
                  in_reply_to=message_id.strip("<>"))
    with write_session(engine) as s:
        result = mail_in.receive(s, people["system"], answer, now=NOW, policy=Policy())
    assert result.ticket_number == ticket.number


def test_a_bounce_of_the_desks_mail_fails_it_and_shows_on_the_ticket(engine, people, asked):
    ticket, message_id = asked
    with write_session(engine) as s:
        result = mail_in.receive(s, people["system"], bounce(message_id.strip("<>")), now=NOW, policy=Policy())
    assert result.ticket_number == ticket.number
    with read_session(engine) as s:
        status, error = s.execute(select(OutgoingMail.status, OutgoingMail.last_error)
                                  .where(OutgoingMail.message_id == message_id)).one()
    assert status == "failed"
    assert error
