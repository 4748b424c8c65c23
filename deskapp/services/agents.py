"""Who is at the keyboard, and what they may do."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from models.enums import Role
from models.tables import Absence, Agent, DeskMeta

from . import audit, corerows
from .errors import InvalidInput, PermissionDenied, UnknownAgent
from .readmodels import AgentRef, may_work_queue

SYSTEM_LOGIN = corerows.SYSTEM_LOGIN
DEMO_DEFAULT_LOGIN = "tom"


def to_ref(agent: Agent) -> AgentRef:
    return AgentRef(
        id=agent.id,
        login=agent.login,
        display_name=agent.display_name,
        roles=frozenset(agent.roles.split()),
    )


def is_demo_database(session: Session) -> bool:
    meta = session.get(DeskMeta, "demo")
    return meta is not None and meta.value == "1"


def mark_demo_database(session: Session) -> None:
    session.merge(DeskMeta(key="demo", value="1"))


def known_logins(session: Session) -> list[str]:
    rows = session.exec(
        select(Agent.login).where(Agent.active == True, Agent.login != SYSTEM_LOGIN)  # noqa: E712
    ).all()
    return sorted(rows)


def by_login(session: Session, login: str) -> AgentRef | None:
    return corerows.agent_by_login(corerows.conn_of(session), login)


def system_agent(session: Session) -> AgentRef:
    return corerows.system_agent(corerows.conn_of(session))


def resolve_desk_agent(session: Session, *, os_login: str, requested: str | None) -> tuple[AgentRef, str]:
    """The agent at the keyboard, plus a note for the status line ('' if none).

    The OS login decides. ``requested`` (``--agent``/``DESK_AGENT``) is honoured only on
    a demo database; there an unmapped login falls back to the demo's support agent.
    """
    demo = is_demo_database(session)
    known = known_logins(session)
    listing = ", ".join(known) if known else "(keine)"
    if requested:
        if not demo:
            raise PermissionDenied(
                "--agent/DESK_AGENT gilt nur auf einer Demo-Datenbank; "
                f"hier entscheidet die Anmeldung ('{os_login}')."
            )
        if requested == SYSTEM_LOGIN or requested not in known:
            raise UnknownAgent(f"Unbekannter Agent '{requested}'. Bekannte Agenten: {listing}")
        return by_login(session, requested), f"Demo: angemeldet als {requested}"
    ref = by_login(session, os_login) if os_login != SYSTEM_LOGIN else None
    if ref is not None:
        return ref, ""
    if demo and DEMO_DEFAULT_LOGIN in known:
        return by_login(session, DEMO_DEFAULT_LOGIN), (
            f"Demo: Anmeldung '{os_login}' ist kein Agent, angemeldet als {DEMO_DEFAULT_LOGIN}"
        )
    if not known:
        raise UnknownAgent(
            f"Unbekannter Agent '{os_login}': diese Datenbank kennt noch keine Agenten "
            "(einrichten: deskapp init --db …; Demo-Daten: deskapp seed demo --db …)."
        )
    deactivated = session.exec(select(Agent.id).where(Agent.login == os_login, Agent.active == False)).first()  # noqa: E712
    if deactivated is not None:
        raise UnknownAgent(f"Der Agent '{os_login}' ist deaktiviert; ein Admin kann ihn wieder aktivieren.")
    raise UnknownAgent(f"Unbekannter Agent '{os_login}'. Bekannte Agenten: {listing}")


def list_agents(session: Session) -> list[AgentRef]:
    rows = session.exec(select(Agent).where(Agent.active == True).order_by(Agent.login)).all()  # noqa: E712
    return [to_ref(a) for a in rows if a.login != SYSTEM_LOGIN]


def assignable_agents(session: Session, queues) -> list[AgentRef]:
    """The active agents who may work every one of ``queues`` (docs/rules.md#ticket-triage):
    the only ones a ticket there can be assigned to."""
    wanted = set(queues)
    return [a for a in list_agents(session) if all(may_work_queue(a, q) for q in wanted)]


def create_agent(
    session: Session, *, login: str, display_name: str, roles: list[str], email: str = ""
) -> AgentRef:
    for role in roles:
        Role(role)  # ValueError on an unknown role
    agent = Agent(login=login, display_name=display_name, roles=" ".join(roles), email=email)
    session.add(agent)
    session.flush()
    return to_ref(agent)


def login_of(session: Session, agent_id: int | None) -> str | None:
    """The login of agent ``agent_id``; None for no agent (or one that is gone)."""
    if agent_id is None:
        return None
    agent = session.get(Agent, agent_id)
    return agent.login if agent is not None else None


def is_absent(session: Session, agent_id: int, day: dt.date) -> bool:
    hit = session.exec(
        select(Absence.id).where(
            Absence.agent_id == agent_id, Absence.first_day <= day, Absence.last_day >= day
        )
    ).first()
    return hit is not None


def record_absence(
    session: Session,
    actor: AgentRef,
    *,
    agent_id: int,
    first_day: dt.date,
    last_day: dt.date,
    reason: str,
    now: dt.datetime,
    note: str = "",
) -> None:
    if last_day < first_day:
        raise InvalidInput("Das Ende der Abwesenheit liegt vor ihrem Beginn.")
    absence = Absence(agent_id=agent_id, first_day=first_day, last_day=last_day, reason=reason, note=note)
    session.add(absence)
    session.flush()
    audit.record(
        session, actor, "absence.record", "absence", absence.id,
        new={"agent_id": agent_id, "first_day": first_day, "last_day": last_day, "reason": reason},
        now=now,
    )


def is_active_admin(session: Session, login: str) -> bool:
    """Whether ``login`` may administer the desk now: an active agent with the admin role,
    read from the database (an admin deactivated or demoted meanwhile is no longer one)."""
    agent = session.exec(select(Agent).where(Agent.login == login)).first()
    return agent is not None and agent.active and Role.ADMIN.value in agent.roles.split()
