"""Extension requests in the database (docs/rules.md#extension, #approvers).

Filing (request row + admin-channel ticket), routing to the approver or the deputy,
who may decide, approval and rejection with everything they write, decided once, and a
failure inside the approval that leaves everything as it was. SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update

from deskapp.rules.budget import add_months
from deskapp.services import agents, budget, customers, extensions, journal, ticket_detail, tickets
from deskapp.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from deskapp.services.extensions import NewPackage
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.enums import EventKind, Queue, TicketKind, TicketStatus
from models.tables import (
    AuditLog,
    CustomerFileEntry,
    ExtensionRequest,
    HourPackage,
    MessageLogEntry,
    OutgoingMail,
    Ticket,
    TicketEvent,
    TimeEntry,
)

POLICY = Policy()
NOW = dt.datetime(2026, 3, 10, 8, 30, tzinfo=dt.timezone.utc)  # Tuesday 10.03.26, 09:30 Berlin
TODAY = dt.date(2026, 3, 10)
IVO = uuid.UUID("7bb56b00-4e1e-4e61-ad7d-88a75b3c22e6")
UNTIL = dt.date(2026, 3, 26)  # Ivo's budget expires in 16 days


def day(n: int) -> dt.datetime:
    """``n`` days after NOW."""
    return NOW + dt.timedelta(days=n)


def _package(s, people, *, until: dt.date, minutes: int, left: int, customer_id=IVO, used_at=NOW) -> int:
    """A package valid until ``until`` with ``left`` minutes unused."""
    purchased = add_months(until, -POLICY.package_validity_months)
    view = budget.book_package(
        s, people["sara"], customer_id=customer_id, minutes=minutes, price=Decimal("3600.00"),
        purchased_on=purchased, now=min(NOW, used_at), policy=POLICY,
    )
    assert view.valid_until == until
    if minutes - left:
        s.add(
            TimeEntry(
                customer_id=customer_id, package_id=view.id, agent_id=people["tom"].id, minutes=minutes - left,
                note="Arbeit", created_at=used_at,
            )
        )
        s.flush()
    return view.id


@pytest.fixture
def ivo(engine, people):
    """Ivo Moring: 23:45 Std left on one package expiring 26.03.26."""
    with write_session(engine) as s:
        customers.create_customer(
            s, people["sara"], name="Ivo Moring", customer_id=IVO, email="ivo@moring-design.example",
            credit_limit=Decimal("500.00"), now=NOW - dt.timedelta(days=1600),
        )
        package_id = _package(s, people, until=UNTIL, minutes=3600, left=1425)
    return package_id


def _absent(engine, people, login: str, first: dt.date, last: dt.date | None = None) -> None:
    with write_session(engine) as s:
        agents.record_absence(
            s, people["isabel"], agent_id=people[login].id, first_day=first, last_day=last or first,
            reason="vacation", now=NOW,
        )


def _file(engine, actor, *, now=NOW, **kw):
    args = dict(customer_id=IVO, valid_until=None, months=1, now=now, policy=POLICY)
    args.update(kw)
    with write_session(engine) as s:
        return extensions.request_extension(s, actor, **args)


def _decide(engine, actor, request_id, *, approve=True, reason="", now=NOW):
    with write_session(engine) as s:
        return extensions.decide(s, actor, request_id=request_id, approve=approve, reason=reason, now=now,
                                 policy=POLICY)


def _count(engine, table, *where) -> int:
    with read_session(engine) as s:
        return int(s.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _state(engine) -> dict:
    """Everything an approval touches."""
    with read_session(engine) as s:
        return {
            "packages": sorted(s.execute(select(HourPackage.id, HourPackage.valid_until, HourPackage.version)).all()),
            "requests": sorted(
                s.execute(select(ExtensionRequest.id, ExtensionRequest.status, ExtensionRequest.version,
                                 ExtensionRequest.decided_by_id, ExtensionRequest.new_valid_until)).all()
            ),
            "tickets": sorted(s.execute(select(Ticket.id, Ticket.status, Ticket.version)).all()),
            "events": _count(engine, TicketEvent),
            "file": _count(engine, CustomerFileEntry),
            "messages": _count(engine, MessageLogEntry),
            "mails": _count(engine, OutgoingMail),
            "audit": _count(engine, AuditLog),
        }


# --------------------------------------------------------------------------- filing


def test_filing_posts_the_template_to_the_approver_in_the_admin_channel(engine, people, ivo):
    result = _file(engine, people["tom"])
    assert result.status == "waiting"
    assert result.addressee == "isabel" and result.addressee_name == "Isabel"
    assert result.valid_until == dt.date(2026, 4, 26)
    assert result.message == (
        "@Isabel Anfrage Budgetverlängerung\n"
        "Kunde: Ivo Moring: 7bb56b00-4e1e-4e61-ad7d-88a75b3c22e6\n"
        "Budget gültig bis: 26.03.26\n"
        "Restbudget: 23:45 Std\n"
        "Aufgabe: –\n"
        "Vorschlag: Verlängerung bis 26.04.26"
    )
    with read_session(engine) as s:
        req = s.get(ExtensionRequest, result.request_id)
        assert (req.package_ids, req.months, req.old_valid_until, req.new_valid_until) == (str(ivo), 1, UNTIL,
                                                                                           dt.date(2026, 4, 26))
        assert (req.remaining_minutes, req.rebooking_needed, req.status) == (1425, False, "waiting")
        assert req.requested_by_id == people["tom"].id and req.addressee_id == people["isabel"].id
        ticket = s.get(Ticket, result.ticket_id)
        assert ticket.number == result.ticket_number
        assert (ticket.queue, ticket.kind, ticket.status) == (Queue.ADMIN, TicketKind.EXTENSION_REQUEST, "new")
        assert ticket.assignee_id == people["isabel"].id and ticket.extension_request_id == req.id
        assert ticket.subject == "Budgetverlängerung: Ivo Moring" and ticket.body == result.message
        assert ticket.customer_id == IVO
        notes = s.execute(select(TicketEvent.text).where(TicketEvent.ticket_id == ticket.id,
                                                         TicketEvent.kind == EventKind.NOTE)).scalars().all()
        assert notes == ["an Isabel (Genehmigung)"]
        audit = s.execute(select(AuditLog.agent_login).where(AuditLog.action == "extension.request")).scalars().all()
        assert audit == ["tom"]
    # Nothing was extended yet.
    assert _state(engine)["packages"] == [(ivo, UNTIL, 1)]


def test_filing_links_the_task(engine, people, ivo):
    with write_session(engine) as s:
        task = budget.create_task(s, people["lena"], customer_id=IVO, title="Shop-Relaunch", estimate_minutes=0,
                                  deadline=None, now=NOW, policy=POLICY)
    result = _file(engine, people["lena"], task_id=task.id, months=2)
    assert f"Aufgabe: Nr. {task.id} Shop-Relaunch" in result.message
    assert result.valid_until == dt.date(2026, 5, 26)
    with read_session(engine) as s:
        assert s.get(Ticket, result.ticket_id).task_id == task.id
        assert s.get(ExtensionRequest, result.request_id).task_id == task.id


def test_filing_refuses_a_task_of_another_customer_or_a_done_task(engine, people, ivo):
    with write_session(engine) as s:
        done = budget.create_task(s, people["lena"], customer_id=IVO, title="Fertig", estimate_minutes=0,
                                  deadline=None, now=NOW, policy=POLICY)
        budget.close_task(s, people["lena"], task_id=done.id, now=NOW, policy=POLICY)
    with pytest.raises(InvalidInput, match=f"Aufgabe {done.id} ist keine offene Aufgabe dieses Kunden.") as info:
        _file(engine, people["tom"], task_id=done.id)
    assert info.value.field == "task"
    assert _count(engine, ExtensionRequest) == 0


@pytest.mark.parametrize("login", ["tom", "sara", "isabel"])
def test_support_contract_and_admin_may_file(engine, people, ivo, login):
    assert _file(engine, people[login]).status == "waiting"


@pytest.mark.parametrize("login", ["kai", "system"])
def test_technicians_and_the_system_agent_may_not_file(engine, people, ivo, login):
    with pytest.raises(PermissionDenied):
        _file(engine, people[login])
    with pytest.raises(PermissionDenied), read_session(engine) as s:
        extensions.draft(s, people[login], IVO, now=NOW, policy=POLICY)
    assert _count(engine, ExtensionRequest) == 0 and _count(engine, Ticket) == 0


def test_unknown_customer(engine, people, ivo):
    with pytest.raises(NotFound):
        _file(engine, people["tom"], customer_id=uuid.uuid4())


@pytest.mark.parametrize("months", [3, 0, 1.5])
def test_filing_refuses_other_than_one_or_two_months(engine, people, ivo, months):
    with pytest.raises(InvalidInput) as info:
        _file(engine, people["tom"], months=months)
    assert info.value.field == "months"
    assert _count(engine, ExtensionRequest) == 0 and _count(engine, Ticket) == 0


def test_a_budget_has_one_waiting_request_at_a_time(engine, people, ivo):
    first = _file(engine, people["tom"])
    with read_session(engine) as s:
        form = extensions.draft(s, people["lena"], IVO, now=NOW, policy=Policy())
    assert form.targets[0].waiting_request == first.request_id  # the form can say so up front
    checked = extensions.preview(form, valid_until=None, months=1, task_id=None, rebooked_package_id=None,
                                 new_package=None, policy=Policy())
    assert f"wartet schon Verlängerungsantrag {first.request_id}" in checked.errors["target"]
    with pytest.raises(Conflict, match=f"wartet schon Verlängerungsantrag {first.request_id}"):
        _file(engine, people["lena"], months=2)
    _decide(engine, people["isabel"], first.request_id, approve=False, reason="Erst Aufgaben planen")
    assert _file(engine, people["lena"]).status == "waiting"


# --------------------------------------------------------------------------- targets and rebooking


def test_targets_group_the_remaining_budget_by_expiry_valid_or_expired(engine, people, ivo):
    with write_session(engine) as s:
        a = _package(s, people, until=dt.date(2027, 1, 31), minutes=600, left=600)
        b = _package(s, people, until=dt.date(2027, 1, 31), minutes=1200, left=900)
        old = _package(s, people, until=dt.date(2026, 2, 1), minutes=600, left=300, used_at=NOW - dt.timedelta(days=60))
        _package(s, people, until=dt.date(2027, 6, 1), minutes=600, left=0)  # used up: nothing to extend
    with read_session(engine) as s:
        form = extensions.draft(s, people["tom"], IVO, now=NOW, policy=POLICY)
    assert [(t.valid_until, t.package_ids, t.remaining_minutes, t.expired) for t in form.targets] == [
        (dt.date(2026, 2, 1), (old,), 300, True),
        (UNTIL, (ivo,), 1425, False),
        (dt.date(2027, 1, 31), (a, b), 1500, False),
    ]
    assert form.targets[0].label == "gültig bis 01.02.26 · 05:00 Std · abgelaufen"
    assert form.targets[2].label == "gültig bis 31.01.27 · 25:00 Std · 2 Pakete"
    # Without --until the earliest (here the expired remainder, under 20 h) is meant.
    with pytest.raises(InvalidInput, match="muss zuerst nachbuchen"):
        _file(engine, people["tom"])
    result = _file(engine, people["tom"], valid_until=dt.date(2027, 1, 31))
    assert result.valid_until == dt.date(2027, 2, 28)
    _decide(engine, people["isabel"], result.request_id)
    with read_session(engine) as s:
        untils = dict(s.execute(select(HourPackage.id, HourPackage.valid_until)).all())
    assert untils[a] == untils[b] == dt.date(2027, 2, 28)
    assert untils[ivo] == UNTIL and untils[old] == dt.date(2026, 2, 1)


def test_under_twenty_hours_nothing_is_filed_until_the_customer_rebooked(engine, people):
    with write_session(engine) as s:
        customers.create_customer(s, people["sara"], name="Ivo Moring", customer_id=IVO, credit_limit=Decimal("500"),
                                  now=NOW, email="ivo@example.de")
        _package(s, people, until=UNTIL, minutes=3600, left=1199)
    rebook_first = "Restbudget unter 20:00 Std: der Kunde muss zuerst nachbuchen"
    with pytest.raises(InvalidInput, match=rebook_first) as info:
        _file(engine, people["tom"])
    assert info.value.field == "rebooking"  # the CLI adds its hint on this field
    assert _count(engine, ExtensionRequest) == 0 and _count(engine, Ticket) == 0


def test_exactly_twenty_hours_needs_no_rebooking(engine, people):
    with write_session(engine) as s:
        customers.create_customer(s, people["sara"], name="Ivo Moring", customer_id=IVO, credit_limit=Decimal("500"),
                                  now=NOW)
        _package(s, people, until=UNTIL, minutes=3600, left=1200)
    result = _file(engine, people["tom"])
    assert "Restbudget: 20:00 Std" in result.message and "nachgebucht" not in result.message


def _short_budget(engine, people) -> None:
    with write_session(engine) as s:
        customers.create_customer(s, people["sara"], name="Ivo Moring", customer_id=IVO, credit_limit=Decimal("500"),
                                  now=NOW - dt.timedelta(days=900), email="ivo@example.de")
        _package(s, people, until=UNTIL, minutes=3600, left=605)


def test_a_package_bought_within_ninety_days_counts_as_the_rebooking(engine, people):
    _short_budget(engine, people)
    with write_session(engine) as s:
        recent = budget.book_package(s, people["tom"], customer_id=IVO, minutes=600, price=Decimal("990.00"),
                                     purchased_on=TODAY - dt.timedelta(days=90), now=NOW, policy=POLICY)
    result = _file(engine, people["tom"], rebooked_package_id=recent.id)
    assert result.message.endswith("Vorschlag: Verlängerung bis 26.04.26 (wenn Kunde nachgebucht hat)")
    with read_session(engine) as s:
        req = s.get(ExtensionRequest, result.request_id)
        assert req.rebooking_needed and req.rebooked_package_id == recent.id and req.remaining_minutes == 605


def test_a_package_bought_ninety_one_days_ago_is_no_rebooking(engine, people):
    _short_budget(engine, people)
    with write_session(engine) as s:
        old = budget.book_package(s, people["tom"], customer_id=IVO, minutes=600, price=Decimal("990.00"),
                                  purchased_on=TODAY - dt.timedelta(days=91), now=NOW, policy=POLICY)
    with pytest.raises(InvalidInput, match=f"Paket {old.id} zählt nicht als Nachbuchung"):
        _file(engine, people["tom"], rebooked_package_id=old.id)
    assert _count(engine, ExtensionRequest) == 0


def test_a_package_of_another_customer_is_no_rebooking(engine, people):
    _short_budget(engine, people)
    with write_session(engine) as s:
        other = customers.create_customer(s, people["sara"], name="Andere GmbH", credit_limit=Decimal("500"), now=NOW)
        theirs = budget.book_package(s, people["tom"], customer_id=other.id, minutes=600, price=Decimal("990.00"),
                                     purchased_on=TODAY, now=NOW, policy=POLICY)
    with pytest.raises(InvalidInput, match="zählt nicht als Nachbuchung"):
        _file(engine, people["tom"], rebooked_package_id=theirs.id)


def test_the_rebooking_recorded_on_the_spot_is_booked_in_the_same_transaction(engine, people):
    _short_budget(engine, people)
    new = NewPackage(minutes=1200, price=Decimal("1900.00"), purchased_on=TODAY, label="Nachbuchung 20 Std")
    result = _file(engine, people["tom"], new_package=new)
    assert result.message.endswith("(wenn Kunde nachgebucht hat)")
    with read_session(engine) as s:
        req = s.get(ExtensionRequest, result.request_id)
        booked = s.get(HourPackage, req.rebooked_package_id)
        assert (booked.minutes, booked.price, booked.label) == (1200, Decimal("1900.00"), "Nachbuchung 20 Std")
        assert booked.valid_until == dt.date(2028, 3, 10)
        assert str(booked.id) not in req.package_ids.split()
    assert _count(engine, AuditLog, AuditLog.action == "package.book") == 2


def test_a_refused_request_books_no_new_package(engine, people):
    _short_budget(engine, people)
    before = _count(engine, HourPackage)
    new = NewPackage(minutes=1200, price=Decimal("1900.00"), purchased_on=TODAY)
    with pytest.raises(InvalidInput):
        _file(engine, people["tom"], new_package=new, months=3)
    first = _file(engine, people["tom"], new_package=new)
    with pytest.raises(Conflict):  # the same budget again: refused after nothing was booked
        _file(engine, people["lena"], new_package=new)
    with read_session(engine) as s:
        assert _count(engine, HourPackage) == before + 1
        assert s.get(ExtensionRequest, first.request_id).rebooked_package_id is not None


# --------------------------------------------------------------------------- routing


def test_approver_absent_on_the_filing_day_routes_to_the_deputy(engine, people, ivo):
    _absent(engine, people, "isabel", TODAY)
    with read_session(engine) as s:
        form = extensions.draft(s, people["tom"], IVO, now=NOW, policy=POLICY)
    assert (form.addressee, form.addressee_name) == ("rebekka", "Rebekka")
    assert form.routing_note == "an Rebekka (Vertretung, Isabel abwesend)"
    result = _file(engine, people["tom"])
    assert result.addressee == "rebekka" and result.message.startswith("@Rebekka Anfrage Budgetverlängerung\n")
    with read_session(engine) as s:
        assert s.get(Ticket, result.ticket_id).assignee_id == people["rebekka"].id
        view = extensions.extension_view(s, people["rebekka"], result.request_id, now=NOW)
    assert view.routing_note == "an Rebekka (Vertretung, Isabel abwesend)" and view.may_decide is None


def test_an_absence_on_another_day_does_not_reroute(engine, people, ivo):
    _absent(engine, people, "isabel", TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=5))
    _absent(engine, people, "isabel", TODAY - dt.timedelta(days=5), TODAY - dt.timedelta(days=1))
    assert _file(engine, people["tom"]).addressee == "isabel"


def test_both_absent_the_request_waits_for_the_first_return(engine, people, ivo):
    _absent(engine, people, "isabel", TODAY, TODAY + dt.timedelta(days=2))
    _absent(engine, people, "rebekka", TODAY, TODAY + dt.timedelta(days=1))
    with read_session(engine) as s:
        form = extensions.draft(s, people["tom"], IVO, now=NOW, policy=POLICY)
    assert form.addressee is None and form.addressee_name is None
    assert form.routing_note == "Isabel und Rebekka abwesend – wartet auf die erste Rückkehr"
    result = _file(engine, people["tom"])
    assert result.addressee is None and result.message.startswith("Anfrage Budgetverlängerung\n")
    with read_session(engine) as s:
        ticket = s.get(Ticket, result.ticket_id)
        assert ticket.assignee_id is None and ticket.queue == Queue.ADMIN
        view = ticket_detail.detail(s, ticket.id, now=NOW, viewer=people["isabel"]).extension
        assert view.routing_note == "Isabel und Rebekka abwesend – wartet auf die erste Rückkehr"
        notes = s.execute(select(TicketEvent.text).where(TicketEvent.ticket_id == ticket.id,
                                                         TicketEvent.kind == EventKind.NOTE)).scalars().all()
        assert notes == ["Isabel und Rebekka abwesend – wartet auf die erste Rückkehr"]
        # Day +2: Rebekka is back first and Isabel still absent, so she may decide.
        assert extensions.extension_view(s, people["rebekka"], result.request_id, now=day(2)).may_decide is None
    assert _decide(engine, people["rebekka"], result.request_id, now=day(2)).status == "approved"


def test_the_approvers_own_request_goes_to_the_deputy_who_may_decide_it(engine, people, ivo):
    result = _file(engine, people["isabel"])
    assert result.addressee == "rebekka"
    with read_session(engine) as s:
        view = extensions.extension_view(s, people["isabel"], result.request_id, now=NOW)
        assert view.routing_note == "an Rebekka (Vertretung, Isabel stellt den Antrag selbst)"
        assert view.may_decide == "Niemand entscheidet über den eigenen Antrag: isabel hat Antrag 1 selbst gestellt."
    with pytest.raises(PermissionDenied, match="Niemand entscheidet über den eigenen Antrag"):
        _decide(engine, people["isabel"], result.request_id)
    assert _decide(engine, people["rebekka"], result.request_id).decided_by == "rebekka"


def test_the_deputys_own_request_while_the_approver_is_absent_waits(engine, people, ivo):
    _absent(engine, people, "isabel", TODAY)
    result = _file(engine, people["rebekka"])
    assert result.addressee is None
    with pytest.raises(PermissionDenied, match="eigenen Antrag"):
        _decide(engine, people["rebekka"], result.request_id)
    assert _decide(engine, people["isabel"], result.request_id, now=day(1)).status == "approved"


# --------------------------------------------------------------------------- who decides


@pytest.mark.parametrize("login", ["tom", "lena", "sara", "kai", "system"])
def test_agents_without_the_role_cannot_decide(engine, people, ivo, login):
    result = _file(engine, people["lena" if login == "tom" else "tom"])
    before = _state(engine)
    for approve, reason in ((True, ""), (False, "Nein")):
        with pytest.raises(PermissionDenied):
            _decide(engine, people[login], result.request_id, approve=approve, reason=reason)
    assert _state(engine) == before
    with read_session(engine) as s:
        assert extensions.extension_view(s, people[login], result.request_id, now=NOW).may_decide


def test_an_admin_without_the_approver_role_cannot_decide(engine, people, ivo):
    with write_session(engine) as s:
        boss = agents.create_agent(s, login="chef", display_name="Chef", roles=["admin", "support"])
    result = _file(engine, people["tom"])
    with pytest.raises(PermissionDenied, match="chef darf Verlängerungsanträge nicht entscheiden"):
        _decide(engine, boss, result.request_id)


def test_the_deputy_decides_only_on_a_day_the_approver_is_absent(engine, people, ivo):
    result = _file(engine, people["tom"])
    with pytest.raises(PermissionDenied, match="rebekka entscheidet als Vertretung nur an einem Tag"):
        _decide(engine, people["rebekka"], result.request_id)
    with read_session(engine) as s:
        assert extensions.extension_view(s, people["rebekka"], result.request_id, now=NOW).may_decide.startswith(
            "rebekka entscheidet als Vertretung nur"
        )
    _absent(engine, people, "isabel", TODAY + dt.timedelta(days=1))
    with pytest.raises(PermissionDenied):
        _decide(engine, people["rebekka"], result.request_id)
    assert _decide(engine, people["rebekka"], result.request_id, now=day(1)).status == "approved"


def test_the_approver_decides_a_request_routed_to_the_deputy(engine, people, ivo):
    _absent(engine, people, "isabel", TODAY)
    result = _file(engine, people["tom"])
    assert _decide(engine, people["isabel"], result.request_id, now=day(1)).decided_by == "isabel"


def test_nobody_decides_their_own_request(engine, people, ivo):
    result = _file(engine, people["rebekka"])  # rebekka is support too
    _absent(engine, people, "isabel", TODAY)
    with pytest.raises(PermissionDenied, match="Niemand entscheidet über den eigenen Antrag"):
        _decide(engine, people["rebekka"], result.request_id, approve=False, reason="Nein")


def test_unknown_request(engine, people, ivo):
    with pytest.raises(NotFound, match="Verlängerungsantrag 99 gibt es nicht."):
        _decide(engine, people["isabel"], 99)


# --------------------------------------------------------------------------- approve


def test_approval_extends_writes_the_file_informs_the_customer_and_resolves(engine, people, ivo):
    filed = _file(engine, people["tom"])
    decided = _decide(engine, people["isabel"], filed.request_id, now=day(2))
    assert (decided.status, decided.valid_until, decided.decided_by) == ("approved", dt.date(2026, 4, 26), "isabel")
    assert decided.ticket_number == filed.ticket_number
    with read_session(engine) as s:
        package = s.get(HourPackage, ivo)
        assert (package.valid_until, package.version) == (dt.date(2026, 4, 26), 2)
        req = s.get(ExtensionRequest, filed.request_id)
        assert (req.status, req.decided_by_id, req.decided_at, req.new_valid_until) == (
            "approved", people["isabel"].id, day(2), dt.date(2026, 4, 26)
        )
        entry = s.execute(select(CustomerFileEntry).where(CustomerFileEntry.customer_id == IVO)).scalar_one()
        assert entry.text == (
            "Budgetverlängerung genehmigt von Isabel: Restbudget 23:45 Std, gültig bis 26.03.26 → 26.04.26 "
            "(Antrag 1, gestellt von tom)."
        )
        message = s.execute(select(MessageLogEntry)).scalar_one()
        assert (message.kind, message.subject) == ("extension_approved", "Ihr Stundenbudget ist jetzt bis 26.04.26 gültig")
        assert "bisher gültig bis 26.03.26, ist jetzt bis 26.04.26 gültig" in message.body
        mail = s.execute(select(OutgoingMail)).scalar_one()
        assert (mail.to_addr, mail.status, mail.message_log_id) == ("ivo@moring-design.example", "queued", message.id)
        ticket = s.get(Ticket, filed.ticket_id)
        assert ticket.status == TicketStatus.RESOLVED
        events = s.execute(select(TicketEvent.kind, TicketEvent.text, TicketEvent.new)
                           .where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)).all()
        assert events[-2:] == [(EventKind.NOTE, "Genehmigt: gültig bis 26.04.26.", ""),
                               (EventKind.STATUS, "", TicketStatus.RESOLVED)]
        actions = s.execute(select(AuditLog.action).where(AuditLog.agent_login == "isabel")).scalars().all()
        assert {"extension.approve", "package.extend", "customer_file.add", "message.log", "mail.queue",
                "ticket.status"} <= set(actions)
        # The card sees the new expiry.
        assert budget.load_budget(s, IVO, TODAY).next_expiry == dt.date(2026, 4, 26)


def test_approval_of_expired_budget_counts_from_the_decision_day(engine, people, ivo):
    filed = _file(engine, people["tom"], months=2)
    assert filed.valid_until == dt.date(2026, 5, 26)  # proposal on the filing day
    decided = _decide(engine, people["isabel"], filed.request_id, now=day(21))  # 31.03.26, five days after expiry
    assert decided.valid_until == dt.date(2026, 5, 31)
    with read_session(engine) as s:
        assert s.get(HourPackage, ivo).valid_until == dt.date(2026, 5, 31)
        assert s.get(ExtensionRequest, filed.request_id).new_valid_until == dt.date(2026, 5, 31)


def test_a_customer_without_address_gets_the_message_log_only(engine, people):
    with write_session(engine) as s:
        customers.create_customer(s, people["sara"], name="Ivo Moring", customer_id=IVO, credit_limit=Decimal("500"),
                                  now=NOW)
        _package(s, people, until=UNTIL, minutes=3600, left=1425)
    filed = _file(engine, people["tom"])
    _decide(engine, people["isabel"], filed.request_id)
    assert _count(engine, MessageLogEntry) == 1 and _count(engine, OutgoingMail) == 0


def test_a_request_is_decided_once(engine, people, ivo):
    filed = _file(engine, people["tom"])
    _decide(engine, people["isabel"], filed.request_id)
    before = _state(engine)
    with pytest.raises(Conflict, match="Verlängerungsantrag 1 ist schon entschieden von isabel \\(genehmigt am"):
        _decide(engine, people["isabel"], filed.request_id)
    with pytest.raises(Conflict, match="schon entschieden von isabel"):
        _decide(engine, people["isabel"], filed.request_id, approve=False, reason="Doch nicht")
    _absent(engine, people, "isabel", TODAY)
    before = _state(engine)
    with pytest.raises(Conflict, match="schon entschieden von isabel"):
        _decide(engine, people["rebekka"], filed.request_id)
    assert _state(engine) == before


def test_a_stale_read_of_the_request_cannot_decide_it_again(engine, people, ivo):
    """The conditional UPDATE is what decides: a copy read as 'waiting' before the other
    decision committed still loses (the real race is in test_extension_concurrency)."""
    filed = _file(engine, people["tom"])
    with read_session(engine) as s:
        req = s.get(ExtensionRequest, filed.request_id)
        stale = SimpleNamespace(id=req.id, version=req.version, status=req.status)
    assert stale.status == "waiting"
    _decide(engine, people["isabel"], filed.request_id)
    before = _state(engine)
    with pytest.raises(Conflict, match="schon entschieden von isabel"), write_session(engine) as s:
        extensions._claim(s, stale, {"status": "rejected", "reason": "zu spät"})
    assert _state(engine) == before


def test_a_failure_inside_the_approval_leaves_everything_as_before(engine, people, ivo, monkeypatch):
    filed = _file(engine, people["tom"])
    before = _state(engine)
    seen: dict = {}

    def boom(session, **kw):
        # The package was already updated in this transaction when the message is logged.
        seen["until"] = session.execute(select(HourPackage.valid_until).where(HourPackage.id == ivo)).scalar_one()
        seen["file"] = session.execute(select(func.count()).select_from(CustomerFileEntry)).scalar_one()
        raise RuntimeError("Mailserver kaputt")

    monkeypatch.setattr(journal, "log_message", boom)
    with pytest.raises(RuntimeError):
        _decide(engine, people["isabel"], filed.request_id)
    assert seen == {"until": dt.date(2026, 4, 26), "file": 1}
    assert _state(engine) == before
    with read_session(engine) as s:
        assert s.get(HourPackage, ivo).valid_until == UNTIL
        assert s.get(ExtensionRequest, filed.request_id).status == "waiting"
        assert s.get(Ticket, filed.ticket_id).status == TicketStatus.NEW
    monkeypatch.undo()
    assert _decide(engine, people["isabel"], filed.request_id).status == "approved"


def test_a_package_changed_since_filing_refuses_the_approval(engine, people, ivo):
    filed = _file(engine, people["tom"])
    with write_session(engine) as s:
        s.execute(update(HourPackage).where(HourPackage.id == ivo)
                  .values(valid_until=dt.date(2026, 6, 30), version=HourPackage.version + 1))
    before = _state(engine)
    with pytest.raises(Conflict, match=f"Paket {ivo} wurde inzwischen geändert \\(gültig bis 30.06.26 statt 26.03.26\\)"):
        _decide(engine, people["isabel"], filed.request_id)
    assert _state(engine) == before


# --------------------------------------------------------------------------- reject


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_a_rejection_needs_a_reason(engine, people, ivo, reason):
    filed = _file(engine, people["tom"])
    before = _state(engine)
    with pytest.raises(InvalidInput, match="Eine Ablehnung braucht eine Begründung"):
        _decide(engine, people["isabel"], filed.request_id, approve=False, reason=reason)
    assert _state(engine) == before


def test_rejection_keeps_the_budget_records_the_reason_and_tells_the_requester(engine, people, ivo):
    filed = _file(engine, people["tom"])
    decided = _decide(engine, people["isabel"], filed.request_id, approve=False,
                      reason="  Kunde hat schon zweimal verlängert.  ")
    assert (decided.status, decided.reason, decided.valid_until) == (
        "rejected", "Kunde hat schon zweimal verlängert.", UNTIL
    )
    with read_session(engine) as s:
        assert s.get(HourPackage, ivo).valid_until == UNTIL
        entry = s.execute(select(CustomerFileEntry.text)).scalar_one()
        assert entry == (
            "Budgetverlängerung abgelehnt von Isabel (Antrag 1, gestellt von tom, Vorschlag bis 26.04.26). "
            "Begründung: Kunde hat schon zweimal verlängert."
        )
        assert s.get(Ticket, filed.ticket_id).status == TicketStatus.RESOLVED
        view = extensions.extension_view(s, people["tom"], filed.request_id, now=NOW)
        assert (view.status, view.reason, view.decided_by) == ("rejected", "Kunde hat schon zweimal verlängert.", "isabel")
        mine = extensions.my_requests(s, people["tom"])
        assert [(r.request_id, r.status, r.reason, r.new_valid_until) for r in mine] == [
            (1, "rejected", "Kunde hat schon zweimal verlängert.", None)
        ]
        assert s.execute(select(AuditLog.action).where(AuditLog.action == "extension.reject")).scalar_one()
    assert _count(engine, MessageLogEntry) == 0 and _count(engine, OutgoingMail) == 0


# --------------------------------------------------------------------------- reading


def test_my_requests_lists_the_requesters_own_newest_first(engine, people, ivo):
    with write_session(engine) as s:
        second = _package(s, people, until=dt.date(2027, 1, 31), minutes=1500, left=1500)
    first = _file(engine, people["tom"])
    later = _file(engine, people["tom"], valid_until=dt.date(2027, 1, 31), now=NOW + dt.timedelta(minutes=5))
    assert second
    _decide(engine, people["isabel"], first.request_id)
    with write_session(engine) as s:
        customers.create_customer(s, people["sara"], name="Andere", credit_limit=Decimal("500"), now=NOW)
    with read_session(engine) as s:
        mine = extensions.my_requests(s, people["tom"])
        assert extensions.my_requests(s, people["lena"]) == []
    assert [(r.request_id, r.status, r.customer_name, r.addressee) for r in mine] == [
        (later.request_id, "waiting", "Ivo Moring", "isabel"),
        (first.request_id, "approved", "Ivo Moring", "isabel"),
    ]
    assert mine[1].new_valid_until == dt.date(2026, 4, 26) and mine[1].decided_by == "isabel"
    assert mine[0].ticket_number == later.ticket_number


def test_the_requests_view_shows_the_requesters_tickets_in_every_state(engine, people, ivo):
    with write_session(engine) as s:
        _package(s, people, until=dt.date(2027, 1, 31), minutes=1500, left=1500)
    first = _file(engine, people["tom"])
    later = _file(engine, people["tom"], valid_until=dt.date(2027, 1, 31))
    _decide(engine, people["isabel"], first.request_id, approve=False, reason="Nein")
    view = tickets.TicketFilter(queue=None, view=tickets.REQUESTS_VIEW)
    with read_session(engine) as s:
        page = tickets.list_page(s, people["tom"], view)
        assert {r.number for r in page.rows} == {first.ticket_number, later.ticket_number}
        assert tickets.list_page(s, people["lena"], view).rows == ()
        # The sidebar counts what the list shows: decided requests too (issue 15).
        assert tickets.sidebar_counts(s, people["tom"]).views[tickets.REQUESTS_VIEW] == len(page.rows) == 2
        only_open = dataclasses.replace(view, statuses=(TicketStatus.RESOLVED,))
        assert [r.number for r in tickets.list_page(s, people["tom"], only_open).rows] == [first.ticket_number]


def test_ticket_detail_carries_the_request_for_the_viewer(engine, people, ivo):
    filed = _file(engine, people["tom"])
    with read_session(engine) as s:
        for_isabel = ticket_detail.detail(s, filed.ticket_id, now=NOW, viewer=people["isabel"])
        for_tom = ticket_detail.detail(s, filed.ticket_id, now=NOW, viewer=people["tom"])
        plain = ticket_detail.detail(s, filed.ticket_id, now=NOW)
    ext = for_isabel.extension
    assert (ext.request_id, ext.status, ext.requested_by, ext.addressee) == (filed.request_id, "waiting", "tom", "isabel")
    assert (ext.old_valid_until, ext.proposal, ext.months, ext.remaining_minutes) == (UNTIL, dt.date(2026, 4, 26), 1, 1425)
    assert ext.message == filed.message and ext.customer_name == "Ivo Moring" and ext.package_ids == (ivo,)
    assert ext.may_decide is None and ext.ticket_number == filed.ticket_number
    assert for_tom.extension.may_decide == (
        "tom darf Verlängerungsanträge nicht entscheiden (nur Genehmigung, oder Vertretung bei Abwesenheit)."
    )
    assert plain.extension.may_decide == "Kein Agent angemeldet."
    _decide(engine, people["isabel"], filed.request_id)
    with read_session(engine) as s:
        done = ticket_detail.detail(s, filed.ticket_id, now=NOW, viewer=people["isabel"]).extension
    assert done.status == "approved" and done.may_decide.startswith("Verlängerungsantrag 1 ist schon entschieden")


# --------------------------------------------------------------------------- the demo


def test_the_demo_has_a_waiting_request_routed_by_its_absences(engine):
    from seed.demo import build_demo

    summary = build_demo(engine, now=NOW)
    with read_session(engine) as s:
        [req] = s.execute(select(ExtensionRequest)).scalars().all()
        tom = agents.by_login(s, "tom")
        isabel = agents.by_login(s, "isabel")
        assert (req.status, req.customer_id, req.requested_by_id) == ("waiting", summary.conny_id, tom.id)
        # The demo's approver is absent on another day only, so it is Isabel's to decide today.
        assert not agents.is_absent(s, isabel.id, TODAY) and req.addressee_id == isabel.id
        assert req.rebooking_needed and req.rebooked_package_id is not None
        assert req.message.endswith("(wenn Kunde nachgebucht hat)") and "Aufgabe: Nr. " in req.message
        view = extensions.extension_view(s, isabel, req.id, now=NOW)
        assert view.may_decide is None and view.routing_note == "an Isabel (Genehmigung)"
        assert [r.status for r in extensions.my_requests(s, tom)] == ["waiting"]
        ticket = s.execute(select(Ticket).where(Ticket.extension_request_id == req.id)).scalar_one()
        assert (ticket.queue, ticket.assignee_id, ticket.status) == (Queue.ADMIN, isabel.id, TicketStatus.NEW)
