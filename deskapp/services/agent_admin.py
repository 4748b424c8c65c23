"""Managing the desk's agents (docs/rules.md#roles, docs/rules.md#setup-agents).

Admins add agents, change their roles, deactivate and reactivate them. Agents are never
deleted (the audit log names them); the last active admin can be neither deactivated nor
stripped of the admin role; every change is one transaction with one audit entry.

On PostgreSQL an agent is also a database login role inside the desk's group role
(``db_roles``): adding an agent creates (or enrols) the role, deactivating one takes its
LOGIN away, in the same transaction as the agent row.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.enums import Role
from models.tables import Agent

from .. import texts
from . import audit, db_roles
from .agents import SYSTEM_LOGIN, is_active_admin, to_ref
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .readmodels import AgentRef

# PostgreSQL cuts identifiers at 63 bytes (NAMEDATALEN - 1); a longer login could never be
# the name of the agent's database role, so one limit holds on both databases.
MAX_LOGIN = 63
MAX_DISPLAY_NAME = 128
MAX_EMAIL = 255
# A Unix-style login: ASCII letters, digits, '_', '.', '-'; starting with a letter or '_'.
LOGIN_SHAPE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# Names the login must not take: the built-in agent and PostgreSQL's reserved role names.
RESERVED_LOGINS = frozenset({SYSTEM_LOGIN, "public", "none", "current_user", "session_user", "current_role"})
# Roles an admin may give (``system`` is the built-in agent's alone).
ASSIGNABLE_ROLES: tuple[str, ...] = tuple(r.value for r in Role if r is not Role.SYSTEM)

MSG_LOGIN_EMPTY = "Der Login darf nicht leer sein."
MSG_LOGIN_LONG = "Der Login ist {length} Zeichen lang; höchstens {limit} sind erlaubt."
MSG_LOGIN_SPACE = "Der Login '{login}' enthält Leerzeichen; erlaubt sind Buchstaben, Ziffern, '_', '.' und '-'."
MSG_LOGIN_SHAPE = (
    "Der Login '{login}' ist ungültig: erlaubt sind Buchstaben (ohne Umlaute), Ziffern, '_', '.' "
    "und '-', am Anfang ein Buchstabe oder '_'."
)
MSG_LOGIN_RESERVED = "Der Login '{login}' ist reserviert."
MSG_NAME_EMPTY = "Der Anzeigename darf nicht leer sein."
MSG_NAME_LONG = "Der Anzeigename ist {length} Zeichen lang; höchstens {limit} sind erlaubt."
MSG_NAME_CONTROL = "Der Anzeigename enthält Steuerzeichen."
MSG_EMAIL = "'{email}' ist keine E-Mail-Adresse."
MSG_ROLE_UNKNOWN = "Unbekannte Rolle '{role}'. Mögliche Rollen: {choices}."
MSG_ROLES_EMPTY = "Ein Agent braucht mindestens eine Rolle. Mögliche Rollen: {choices}."
MSG_NOT_ADMIN = "Nur Admins verwalten Agenten ({login} ist kein Admin)."
MSG_UNKNOWN = "Den Agenten '{login}' gibt es nicht."
MSG_EXISTS = "Den Agenten '{login}' gibt es schon."
MSG_LAST_ADMIN_DEACTIVATE = "{login} ist der letzte aktive Admin und kann nicht deaktiviert werden."
MSG_LAST_ADMIN_ROLE = "{login} ist der letzte aktive Admin und behält die Rolle Admin."
MSG_SYSTEM = "Der System-Agent ist eingebaut und wird nicht verwaltet."


@dataclass(frozen=True)
class AgentView:
    """An agent as the admin list shows it."""

    id: int
    login: str
    display_name: str
    email: str
    roles: tuple[str, ...]
    active: bool

    @property
    def role_labels(self) -> str:
        return ", ".join(texts.ROLE[Role(r)] for r in self.roles) or "–"

    def as_json(self) -> dict:
        return {
            "login": self.login, "display_name": self.display_name, "email": self.email,
            "roles": list(self.roles), "active": self.active,
        }


@dataclass(frozen=True)
class AgentChange:
    """What a change did: the agent now, and whether anything changed at all."""

    agent: AgentView
    changed: bool


@dataclass(frozen=True)
class InitResult:
    """``initialise``: the new first admin, or None when the desk had agents already."""

    admin: AgentView | None
    agent_count: int


def _view(agent: Agent) -> AgentView:
    return AgentView(
        id=agent.id, login=agent.login, display_name=agent.display_name, email=agent.email,
        roles=_ordered(agent.roles.split()), active=bool(agent.active),
    )


def _ordered(roles: Iterable[str]) -> tuple[str, ...]:
    """Roles in the rule book's order, without duplicates."""
    given = set(roles)
    return tuple(r.value for r in Role if r.value in given)


# --------------------------------------------------------------------------- validation


def validate_login(raw: str) -> str:
    """The login as stored, or ``InvalidInput`` with a German reason."""
    login = raw.strip() if isinstance(raw, str) else ""
    if not login:
        raise InvalidInput(MSG_LOGIN_EMPTY)
    if len(login) > MAX_LOGIN:
        raise InvalidInput(MSG_LOGIN_LONG.format(length=len(login), limit=MAX_LOGIN))
    shown = login.encode("unicode_escape").decode("ascii")  # control characters stay visible
    if any(ch.isspace() for ch in login):
        raise InvalidInput(MSG_LOGIN_SPACE.format(login=shown))
    if not LOGIN_SHAPE.fullmatch(login):
        raise InvalidInput(MSG_LOGIN_SHAPE.format(login=shown))
    if login.lower() in RESERVED_LOGINS or login.lower().startswith("pg_"):
        raise InvalidInput(MSG_LOGIN_RESERVED.format(login=login))
    return login


def validate_display_name(raw: str) -> str:
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not name:
        raise InvalidInput(MSG_NAME_EMPTY)
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidInput(MSG_NAME_LONG.format(length=len(name), limit=MAX_DISPLAY_NAME))
    if any(not ch.isprintable() for ch in name):
        raise InvalidInput(MSG_NAME_CONTROL)
    return name


def validate_email(raw: str) -> str:
    email = raw.strip()
    if not email:
        return ""
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > MAX_EMAIL or any(c.isspace() for c in email):
        raise InvalidInput(MSG_EMAIL.format(email=email[:80]))
    return email


def parse_roles(raw: Iterable[str]) -> tuple[str, ...]:
    """Role codes from ``support,admin`` / ``support admin`` / German labels; never empty."""
    by_label = {label.lower(): code.value for code, label in texts.ROLE.items() if code is not Role.SYSTEM}
    found: list[str] = []
    for chunk in raw:
        for word in re.split(r"[,\s]+", chunk.strip()):
            if not word:
                continue
            code = word.lower()
            code = code if code in ASSIGNABLE_ROLES else by_label.get(code, "")
            if not code:
                raise InvalidInput(MSG_ROLE_UNKNOWN.format(role=word[:40], choices=", ".join(ASSIGNABLE_ROLES)))
            found.append(code)
    if not found:
        raise InvalidInput(MSG_ROLES_EMPTY.format(choices=", ".join(ASSIGNABLE_ROLES)))
    return _ordered(found)


# --------------------------------------------------------------------------- reading


def has_agents(session: Session) -> bool:
    """Whether the desk has any agent besides the built-in ``system`` one."""
    return session.execute(
        select(func.count()).select_from(Agent).where(Agent.login != SYSTEM_LOGIN)
    ).scalar_one() > 0


def list_agents(session: Session, *, include_inactive: bool = True) -> list[AgentView]:
    """Every agent but the built-in one, by login; deactivated ones too unless told not to."""
    stmt = select(Agent).where(Agent.login != SYSTEM_LOGIN).order_by(Agent.login)
    if not include_inactive:
        stmt = stmt.where(Agent.active == True)  # noqa: E712
    return [_view(a) for a in session.execute(stmt).scalars()]


def get_agent(session: Session, login: str) -> AgentView:
    return _view(_load(session, login))


# --------------------------------------------------------------------------- changing


def _require_admin(session: Session, actor: AgentRef) -> None:
    if not is_active_admin(session, actor.login):
        raise PermissionDenied(MSG_NOT_ADMIN.format(login=actor.login))


def _load(session: Session, login: str, *, lock: bool = False) -> Agent:
    if login == SYSTEM_LOGIN:
        raise InvalidInput(MSG_SYSTEM)
    stmt = select(Agent).where(Agent.login == login)
    if lock:
        stmt = stmt.with_for_update()
    agent = session.execute(stmt).scalar()
    if agent is None:
        raise NotFound(MSG_UNKNOWN.format(login=login))
    return agent


def _other_active_admins(session: Session, agent_id: int) -> int:
    """Active admins besides ``agent_id``, read under row locks.

    Two admins demoting each other at once must not leave the desk without one: on
    PostgreSQL the rows are locked (``FOR UPDATE`` re-reads a row another transaction
    changed), on SQLite the write transaction holds the database lock already.
    """
    rows = session.execute(
        select(Agent.id, Agent.roles).where(Agent.active == True).with_for_update()  # noqa: E712
    ).all()
    return sum(1 for row in rows if row.id != agent_id and Role.ADMIN in row.roles.split())


def add_agent(
    session: Session,
    actor: AgentRef,
    *,
    login: str,
    display_name: str,
    roles: Iterable[str],
    now: dt.datetime,
    email: str = "",
) -> AgentView:
    """A new active agent (and on PostgreSQL its login role in the desk's group)."""
    _require_admin(session, actor)
    login = validate_login(login)
    display_name = validate_display_name(display_name)
    codes = parse_roles(roles)
    email = validate_email(email)
    if session.execute(select(Agent.id).where(func.lower(Agent.login) == login.lower())).first():
        raise Conflict(MSG_EXISTS.format(login=login))
    agent = _insert(session, login=login, display_name=display_name, roles=codes, email=email)
    db_roles.enrol_agent_role(session, login)
    view = _view(agent)
    audit.record(session, actor, "agent.add", "agent", login, new=view.as_json(), now=now)
    return view


def _insert(session: Session, *, login: str, display_name: str, roles: tuple[str, ...], email: str) -> Agent:
    agent = Agent(login=login, display_name=display_name, roles=" ".join(roles), email=email)
    session.add(agent)
    try:
        session.flush()
    except IntegrityError:  # added by someone else a moment ago
        raise Conflict(MSG_EXISTS.format(login=login)) from None
    return agent


def set_roles(session: Session, actor: AgentRef, *, login: str, roles: Iterable[str], now: dt.datetime) -> AgentChange:
    """Replace the agent's roles. The last active admin keeps ``admin``."""
    _require_admin(session, actor)
    codes = parse_roles(roles)
    agent = _load(session, login, lock=True)
    old = _ordered(agent.roles.split())
    if codes == old:
        return AgentChange(_view(agent), changed=False)
    losing_admin = Role.ADMIN in old and Role.ADMIN not in codes
    if losing_admin and agent.active and _other_active_admins(session, agent.id) == 0:
        raise Conflict(MSG_LAST_ADMIN_ROLE.format(login=login))
    agent.roles = " ".join(codes)
    session.add(agent)
    session.flush()
    audit.record(session, actor, "agent.roles", "agent", login, old=list(old), new=list(codes), now=now)
    return AgentChange(_view(agent), changed=True)


def deactivate(session: Session, actor: AgentRef, *, login: str, now: dt.datetime) -> AgentChange:
    """The agent can no longer start the desk or be assigned; the record stays."""
    _require_admin(session, actor)
    agent = _load(session, login, lock=True)
    if not agent.active:
        return AgentChange(_view(agent), changed=False)
    if Role.ADMIN in agent.roles.split() and _other_active_admins(session, agent.id) == 0:
        raise Conflict(MSG_LAST_ADMIN_DEACTIVATE.format(login=login))
    return _set_active(session, actor, agent, False, now=now)


def activate(session: Session, actor: AgentRef, *, login: str, now: dt.datetime) -> AgentChange:
    _require_admin(session, actor)
    agent = _load(session, login, lock=True)
    if agent.active:
        return AgentChange(_view(agent), changed=False)
    return _set_active(session, actor, agent, True, now=now)


def _set_active(session: Session, actor: AgentRef, agent: Agent, active: bool, *, now: dt.datetime) -> AgentChange:
    agent.active = active
    session.add(agent)
    session.flush()
    db_roles.set_agent_login(session, agent.login, active)
    audit.record(
        session, actor, "agent.activate" if active else "agent.deactivate", "agent", agent.login,
        old={"active": not active}, new={"active": active}, now=now,
    )
    return AgentChange(_view(agent), changed=True)


# --------------------------------------------------------------------------- first start


def initialise(session: Session, *, login: str, display_name: str, now: dt.datetime) -> InitResult:
    """Make ``login`` the first admin (plus the built-in ``system`` agent) on a desk without agents.

    On a desk that has agents already nothing is written and ``admin`` is None.
    """
    login = validate_login(login)
    display_name = validate_display_name(display_name)
    # Lock out a second ``init`` running at the same moment (SQLite: the write
    # transaction's lock; PostgreSQL: the agent table's lock until commit).
    if session.get_bind().dialect.name == "postgresql":
        session.execute(db_roles.lock_agent_table())
    count = session.execute(
        select(func.count()).select_from(Agent).where(Agent.login != SYSTEM_LOGIN)
    ).scalar_one()
    if count:
        return InitResult(admin=None, agent_count=count)
    if session.execute(select(Agent.id).where(Agent.login == SYSTEM_LOGIN)).first() is None:
        _insert(session, login=SYSTEM_LOGIN, display_name="System", roles=(Role.SYSTEM.value,), email="")
    agent = _insert(session, login=login, display_name=display_name, roles=(Role.ADMIN.value,), email="")
    db_roles.enrol_agent_role(session, login)
    view = _view(agent)
    audit.record(session, to_ref(agent), "agent.init", "agent", login, new=view.as_json(), now=now)
    return InitResult(admin=view, agent_count=1)
