"""Gap-free named counters, safe under parallel writers.

One upsert statement per number: the row lock (PostgreSQL) or the write lock (SQLite,
``BEGIN IMMEDIATE``) serialises concurrent callers, and a rolled-back transaction gives
its number back, so numbers stay sequential and are never reused.
"""

from __future__ import annotations

from sqlmodel import Session

from models.tables import Counter

from . import corerows


def next_value(session: Session, name: str) -> int:
    return corerows.next_value(corerows.conn_of(session), name)


def bump_to_at_least(session: Session, name: str, value: int) -> None:
    """Used by bulk loaders that assign numbers themselves."""
    row = session.get(Counter, name)
    if row is None:
        session.add(Counter(name=name, value=value))
    elif row.value < value:
        row.value = value
        session.add(row)
