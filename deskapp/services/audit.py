"""The append-only audit log: who, when, what, old -> new."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session

from models.tables import AuditLog

from . import corerows
from .readmodels import AgentRef


_dump = corerows.dump
entry = corerows.audit_entry  # one audit row as a dict, for bulk inserts (``insert(AuditLog)``)


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
