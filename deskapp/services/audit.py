"""The append-only audit log: who, when, what, old -> new."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlmodel import Session

from models.tables import AuditLog

from .readmodels import AgentRef


def _dump(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


def entry(
    actor: AgentRef,
    action: str,
    entity: str,
    entity_id: Any,
    *,
    old: Any = None,
    new: Any = None,
    now: dt.datetime,
) -> dict:
    """One audit row as a dict, for bulk inserts (``insert(AuditLog)`` with many rows)."""
    return {
        "at": now, "agent_login": actor.login, "action": action, "entity": entity,
        "entity_id": str(entity_id), "old": _dump(old), "new": _dump(new),
    }


def record(
    session: Session,
    actor: AgentRef,
    action: str,
    entity: str,
    entity_id: Any,
    *,
    old: Any = None,
    new: Any = None,
    now: dt.datetime,
) -> None:
    session.add(AuditLog(**entry(actor, action, entity, entity_id, old=old, new=new, now=now)))
