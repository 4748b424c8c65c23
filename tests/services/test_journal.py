"""Customer file (Kundenakte) and message log (Nachrichtenlog) with outgoing mail."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from deskapp.services import customers, journal
from deskapp.services.errors import InvalidInput, NotFound, PermissionDenied
from models.engine import read_session, write_session
from models.tables import AuditLog, CustomerFileEntry, MessageLogEntry, OutgoingMail


def _customer(engine, people, now, email="ivo@moring.example"):
    with write_session(engine) as s:
        return customers.create_customer(
            s, people["sara"], name="Ivo Moring", email=email, credit_limit=Decimal("500.00"), now=now
        )


def _rows(engine, *cols):
    with read_session(engine) as s:
        return [tuple(r) for r in s.execute(select(*cols))]


def test_file_entry_is_dated_and_attributed(engine, people, now):
    customer = _customer(engine, people, now)
    with write_session(engine) as s:
        view = journal.add_file_entry(
            s, people["isabel"], customer_id=customer.id, text="  Budget bis 08.04. verlängert.  ", now=now
        )
    assert (view.text, view.author, view.created_at) == ("Budget bis 08.04. verlängert.", "isabel", now)
    assert _rows(engine, CustomerFileEntry.text, CustomerFileEntry.agent_id, CustomerFileEntry.created_at) == [
        ("Budget bis 08.04. verlängert.", people["isabel"].id, now)
    ]
    assert ("customer_file.add", "isabel") in _rows(engine, AuditLog.action, AuditLog.agent_login)


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_001])
def test_empty_or_huge_file_entry_is_refused(engine, people, now, text):
    customer = _customer(engine, people, now)
    with pytest.raises(InvalidInput):
        with write_session(engine) as s:
            journal.add_file_entry(s, people["tom"], customer_id=customer.id, text=text, now=now)
    assert _rows(engine, CustomerFileEntry.id) == []


def test_file_entry_needs_a_person_and_a_customer(engine, people, now):
    customer = _customer(engine, people, now)
    with pytest.raises(PermissionDenied):
        with write_session(engine) as s:
            journal.add_file_entry(s, people["system"], customer_id=customer.id, text="x", now=now)
    with pytest.raises(NotFound):
        with write_session(engine) as s:
            journal.add_file_entry(s, people["tom"], customer_id=uuid.uuid4(), text="x", now=now)


def test_message_is_logged_and_mailed_to_the_customer(engine, people, now):
    customer = _customer(engine, people, now)
    with write_session(engine) as s:
        logged = journal.log_message(
            s, customer_id=customer.id, kind="reminder_1", subject="Ihr Stundenbudget läuft ab",
            body="Guten Tag Herr Moring, ...", now=now, actor=people["system"],
        )
    assert logged.mail_id is not None and logged.to_addr == "ivo@moring.example"
    assert _rows(engine, MessageLogEntry.kind, MessageLogEntry.subject, MessageLogEntry.created_at) == [
        ("reminder_1", "Ihr Stundenbudget läuft ab", now)
    ]
    assert _rows(engine, OutgoingMail.to_addr, OutgoingMail.message_log_id, OutgoingMail.status) == [
        ("ivo@moring.example", logged.id, "queued")
    ]
    actions = {a for (a,) in _rows(engine, AuditLog.action)}
    assert {"message.log", "mail.queue"} <= actions


def test_message_without_mail(engine, people, now):
    customer = _customer(engine, people, now)
    no_address = _customer(engine, people, now, email="")
    with write_session(engine) as s:
        quiet = journal.log_message(
            s, customer_id=customer.id, kind="note", subject="Telefonat", body="Rückruf erledigt.",
            now=now, actor=people["tom"], queue_mail=False,
        )
        unknown = journal.log_message(
            s, customer_id=no_address.id, kind="note", subject="Hinweis", body="Text", now=now, actor=people["tom"]
        )
    assert quiet.mail_id is None and unknown.mail_id is None
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(MessageLogEntry)).scalar_one() == 2
        assert s.execute(select(func.count()).select_from(OutgoingMail)).scalar_one() == 0


@pytest.mark.parametrize(
    "changes", [{"subject": " "}, {"body": ""}, {"kind": ""}, {"subject": "x" * 256}]
)
def test_incomplete_message_is_refused(engine, people, now, changes):
    customer = _customer(engine, people, now)
    args = dict(kind="note", subject="Betreff", body="Text")
    args.update(changes)
    with pytest.raises(InvalidInput):
        with write_session(engine) as s:
            journal.log_message(s, customer_id=customer.id, now=now, actor=people["tom"], **args)
    assert _rows(engine, MessageLogEntry.id) == []
