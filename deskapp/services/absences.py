"""Who is absent when (sick, vacation): the admin's list that extension routing reads.

Recording builds on ``agents.record_absence`` (one row, audited); routing and the
deputy's right to decide read ``agents.is_absent``. Only admins change the list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlmodel import Session

from models.enums import Role
from models.tables import Absence, Agent

from . import agents, audit
from .errors import InvalidInput, NotFound, PermissionDenied
from .readmodels import AgentRef

REASONS = ("sick", "vacation", "other")
MAX_NOTE = 255

# User-facing text (German).
MSG_NOT_ADMIN = "{login} darf Abwesenheiten nicht pflegen (nur Admin)."
MSG_UNKNOWN_AGENT = "Unbekannter Agent '{login}'."
MSG_REASON = "Grund der Abwesenheit: krank, Urlaub oder sonstiges."
MSG_DAYS = "Beginn und Ende der Abwesenheit müssen Tage sein."
MSG_NOTE = "Die Notiz ist zu lang (höchstens 255 Zeichen)."
MSG_NO_ABSENCE = "Abwesenheit {absence_id} gibt es nicht."


@dataclass(frozen=True)
class AbsenceView:
    id: int
    login: str
    name: str
    starts_on: dt.date
    ends_on: dt.date
    reason: str  # sick | vacation | other
    note: str


def _require_admin(actor: AgentRef) -> None:
    if actor.is_system or Role.ADMIN not in actor.roles:
        raise PermissionDenied(MSG_NOT_ADMIN.format(login=actor.login))


def _is_day(value) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _view(absence: Absence, agent: Agent) -> AbsenceView:
    return AbsenceView(
        id=absence.id,
        login=agent.login,
        name=agent.display_name,
        starts_on=absence.first_day,
        ends_on=absence.last_day,
        reason=absence.reason,
        note=absence.note,
    )


def list_absences(session: Session, *, from_day: dt.date, limit: int = 200) -> list[AbsenceView]:
    """Absences that end on or after ``from_day``, the earliest first."""
    rows = session.execute(
        select(Absence, Agent)
        .join(Agent, Agent.id == Absence.agent_id)
        .where(Absence.last_day >= from_day)
        .order_by(Absence.first_day, Agent.login, Absence.id)
        .limit(limit)
    ).all()
    return [_view(absence, agent) for absence, agent in rows]


def add_absence(
    session: Session,
    actor: AgentRef,
    *,
    login: str,
    starts_on: dt.date,
    ends_on: dt.date,
    reason: str,
    note: str,
    now: dt.datetime,
) -> AbsenceView:
    """Record that ``login`` is absent from ``starts_on`` to ``ends_on`` (both included)."""
    _require_admin(actor)
    login = (login or "").strip()
    agent = session.execute(select(Agent).where(Agent.login == login)).scalar()
    if agent is None or not agent.active or login == agents.SYSTEM_LOGIN:
        raise InvalidInput(MSG_UNKNOWN_AGENT.format(login=login), field="login")
    if reason not in REASONS:
        raise InvalidInput(MSG_REASON, field="reason")
    if not _is_day(starts_on) or not _is_day(ends_on):
        raise InvalidInput(MSG_DAYS)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(MSG_NOTE, field="note")
    agents.record_absence(
        session, actor, agent_id=agent.id, first_day=starts_on, last_day=ends_on, reason=reason, note=note,
        now=now,
    )
    # record_absence returns nothing; the row it just flushed is the newest one with these values.
    absence = session.execute(
        select(Absence)
        .where(
            Absence.agent_id == agent.id, Absence.first_day == starts_on, Absence.last_day == ends_on,
            Absence.reason == reason, Absence.note == note,
        )
        .order_by(Absence.id.desc())
        .limit(1)
    ).scalar_one()
    return _view(absence, agent)


def delete_absence(session: Session, actor: AgentRef, *, absence_id: int, now: dt.datetime) -> None:
    """Remove a recorded absence (e.g. entered by mistake); the audit log keeps it."""
    _require_admin(actor)
    absence = session.get(Absence, absence_id)
    if absence is None:
        raise NotFound(MSG_NO_ABSENCE.format(absence_id=absence_id))
    old = {
        "agent_id": absence.agent_id, "first_day": absence.first_day, "last_day": absence.last_day,
        "reason": absence.reason, "note": absence.note,
    }
    result = session.execute(delete(Absence).where(Absence.id == absence_id).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise NotFound(MSG_NO_ABSENCE.format(absence_id=absence_id))
    session.expunge(absence)
    audit.record(session, actor, "absence.delete", "absence", absence_id, old=old, now=now)


__all__ = ["REASONS", "AbsenceView", "add_absence", "delete_absence", "list_absences"]
