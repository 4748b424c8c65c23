"""The PostgreSQL schema pool of the test suite (tests/support/schema.py) lends a schema
that holds exactly what a freshly migrated one holds: the suite's results depend on it."""

from __future__ import annotations

from sqlalchemy import text

from models.engine import make_engine, write_session
from seed.people import create_roster
from tests.support import schema as pool
from tests.support.deskdata import NOW


def _contents(url: str) -> dict[str, list]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                                       " ORDER BY tablename")).scalars().all()
            return {t: sorted(map(repr, conn.execute(text(f'SELECT * FROM "{t}"')).all())) for t in tables}
    finally:
        engine.dispose()


def test_a_returned_schema_is_lent_again_as_freshly_migrated(pg_available):
    from deskapp.services import tickets

    schema = pool.lend_pg_schema(pg_available)
    url = pool.pg_schema_url(pg_available, schema)
    fresh = _contents(url)
    engine = make_engine(url)
    with write_session(engine) as s:
        people = create_roster(s)
        first = tickets.open_ticket(s, people["tom"], queue="support", subject="Erstes", now=NOW)
    engine.dispose()
    assert _contents(url) != fresh  # rows, the audit log among them (its triggers refuse deletes)

    pool.return_pg_schema(pg_available, schema)
    again = pool.lend_pg_schema(pg_available)
    assert again == schema
    try:
        assert _contents(url) == fresh
        engine = make_engine(url)
        with write_session(engine) as s:  # the sequences start over: the same ids as the first time
            people = create_roster(s)
            assert tickets.open_ticket(s, people["tom"], queue="support", subject="Erstes", now=NOW).id == first.id
        engine.dispose()
    finally:
        pool.return_pg_schema(pg_available, again)


def test_a_schema_whose_objects_changed_is_dropped_not_lent(pg_available):
    schema = pool.lend_pg_schema(pg_available)
    engine = make_engine(pool.pg_schema_url(pg_available, schema))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE extra (id integer)"))
    engine.dispose()
    pool.return_pg_schema(pg_available, schema)
    assert schema not in pool._pg_pool.get(pg_available, [])
    admin = make_engine(pg_available)
    with admin.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema}).scalar() == 0
    admin.dispose()
