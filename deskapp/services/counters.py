"""Gap-free named counters, safe under parallel writers.

One upsert statement per number: the row lock (PostgreSQL) or the write lock (SQLite,
``BEGIN IMMEDIATE``) serialises concurrent callers, and a rolled-back transaction gives
its number back, so numbers stay sequential and are never reused.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.tables import Counter


def next_value(session: Session, name: str) -> int:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Counter).values(name=name, value=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Counter.name], set_={"value": Counter.value + 1}
    ).returning(Counter.value)
    return int(session.execute(stmt).scalar_one())


def bump_to_at_least(session: Session, name: str, value: int) -> None:
    """Used by bulk loaders that assign numbers themselves."""
    row = session.get(Counter, name)
    if row is None:
        session.add(Counter(name=name, value=value))
    elif row.value < value:
        row.value = value
        session.add(row)
