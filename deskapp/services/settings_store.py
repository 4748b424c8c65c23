"""Policy settings in the database: defaults from ``deskapp.settings``, overrides by key."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlmodel import Session

from models.tables import PolicySetting

from ..settings import Policy, parse_setting
from . import audit, corerows
from .errors import InvalidInput, PermissionDenied
from .readmodels import AgentRef


def load_policy(session: Session) -> Policy:
    """The policy in force; a stored value that does not parse is a ``SettingProblem`` naming it."""
    return corerows.load_policy(corerows.conn_of(session))


def set_setting(session: Session, actor: AgentRef, *, key: str, value: str, now: dt.datetime) -> Policy:
    if "admin" not in actor.roles:
        raise PermissionDenied("Nur Admins ändern Richtlinien-Einstellungen.")
    names = {f.name for f in dataclasses.fields(Policy)}
    if key not in names:
        raise InvalidInput(f"Unbekannte Einstellung '{key}'.")
    try:
        parse_setting(key, value)
    except (ValueError, ArithmeticError):
        raise InvalidInput(f"'{value}' passt nicht zur Einstellung '{key}'.") from None
    old = session.get(PolicySetting, key)
    audit.record(session, actor, "policy.set", "policy_setting", key, old=old.value if old else None,
                 new=value, now=now)
    session.merge(PolicySetting(key=key, value=value))
    return load_policy(session)
