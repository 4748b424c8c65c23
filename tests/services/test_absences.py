"""Absences (sick, vacation): the admin's list that routes extension requests.

Only admins change it; every change is audited; what it records is what routing and the
deputy's right to decide read (agents.is_absent). SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from deskapp.rules.budget import add_months
from deskapp.services import absences, agents, budget, customers, extensions
from deskapp.services.errors import InvalidInput, NotFound, PermissionDenied
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.tables import Absence, AuditLog

NOW = dt.datetime(2026, 3, 10, 8, 30, tzinfo=dt.timezone.utc)
TODAY = dt.date(2026, 3, 10)
POLICY = Policy()


def _add(engine, actor, login="isabel", starts=TODAY, ends=TODAY, reason="vacation", note=""):
    with write_session(engine) as s:
        return absences.add_absence(s, actor, login=login, starts_on=starts, ends_on=ends, reason=reason, note=note,
                                    now=NOW)


def _list(engine, from_day=TODAY):
    with read_session(engine) as s:
        return absences.list_absences(s, from_day=from_day)


def test_admin_records_an_absence_routing_reads_it(engine, people):
    view = _add(engine, people["isabel"], starts=TODAY, ends=TODAY + dt.timedelta(days=4), reason="sick",
                note="  Grippe ")
    assert (view.login, view.name, view.starts_on, view.ends_on, view.reason, view.note) == (
        "isabel", "Isabel", TODAY, TODAY + dt.timedelta(days=4), "sick", "Grippe"
    )
    with read_session(engine) as s:
        assert agents.is_absent(s, people["isabel"].id, TODAY + dt.timedelta(days=4))
        assert not agents.is_absent(s, people["isabel"].id, TODAY + dt.timedelta(days=5))
        audit = s.execute(select(AuditLog.agent_login, AuditLog.action)).all()
    assert audit == [("isabel", "absence.record")]
    # The extension form now routes to the deputy.
    with write_session(engine) as s:
        customers.create_customer(s, people["sara"], name="Ivo", customer_id=uuid.UUID(int=1),
                                  credit_limit=Decimal("500"), now=NOW)
        budget.book_package(s, people["sara"], customer_id=uuid.UUID(int=1), minutes=3000, price=Decimal("1"),
                            purchased_on=add_months(TODAY, -20), now=NOW, policy=POLICY)
        form = extensions.draft(s, people["tom"], uuid.UUID(int=1), now=NOW, policy=POLICY)
    assert form.addressee == "rebekka"


@pytest.mark.parametrize("login", ["tom", "sara", "rebekka", "kai", "system"])
def test_only_admins_change_absences(engine, people, login):
    with pytest.raises(PermissionDenied, match=f"{login} darf Abwesenheiten nicht pflegen"):
        _add(engine, people[login])
    kept = _add(engine, people["isabel"])
    with pytest.raises(PermissionDenied):
        with write_session(engine) as s:
            absences.delete_absence(s, people[login], absence_id=kept.id, now=NOW)
    assert [a.id for a in _list(engine)] == [kept.id]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"login": "mallory"}, "Unbekannter Agent 'mallory'."),
        ({"login": "system"}, "Unbekannter Agent 'system'."),
        ({"reason": "party"}, "Grund der Abwesenheit: krank, Urlaub oder sonstiges."),
        ({"ends": TODAY - dt.timedelta(days=1)}, "Das Ende der Abwesenheit liegt vor ihrem Beginn."),
        ({"starts": "morgen"}, "Beginn und Ende der Abwesenheit müssen Tage sein."),
        ({"note": "x" * 256}, "Die Notiz ist zu lang (höchstens 255 Zeichen)."),
    ],
)
def test_bad_absences_are_refused_and_change_nothing(engine, people, kw, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        _add(engine, people["isabel"], **kw)
    with read_session(engine) as s:
        assert s.execute(select(Absence)).first() is None
        assert s.execute(select(AuditLog)).first() is None


def test_list_shows_current_and_coming_absences_earliest_first(engine, people):
    admin = people["isabel"]
    _add(engine, admin, login="tom", starts=TODAY - dt.timedelta(days=10), ends=TODAY - dt.timedelta(days=1))
    later = _add(engine, admin, login="rebekka", starts=TODAY + dt.timedelta(days=7), ends=TODAY + dt.timedelta(days=9))
    now_ = _add(engine, admin, login="isabel", starts=TODAY - dt.timedelta(days=2), ends=TODAY, reason="sick")
    assert [a.id for a in _list(engine)] == [now_.id, later.id]
    assert len(_list(engine, from_day=TODAY - dt.timedelta(days=30))) == 3


def test_delete_removes_it_and_audits_what_it_was(engine, people):
    gone = _add(engine, people["isabel"], login="rebekka", note="Urlaub Ostsee")
    with write_session(engine) as s:
        absences.delete_absence(s, people["isabel"], absence_id=gone.id, now=NOW)
    assert _list(engine) == []
    with read_session(engine) as s:
        assert not agents.is_absent(s, people["rebekka"].id, TODAY)
        old = s.execute(select(AuditLog.old).where(AuditLog.action == "absence.delete")).scalar_one()
    assert '"note": "Urlaub Ostsee"' in old
    with pytest.raises(NotFound, match=f"Abwesenheit {gone.id} gibt es nicht."):
        with write_session(engine) as s:
            absences.delete_absence(s, people["isabel"], absence_id=gone.id, now=NOW)
