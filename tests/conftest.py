"""Shared fixtures. Database tests run on SQLite and, with DESK_TEST_PG_URL, on PostgreSQL.

Each PostgreSQL test gets a schema of its own (``search_path`` in the URL), so tests and
the processes they start never see each other's rows.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from sqlalchemy import text

from models.engine import make_engine, write_session
from models.migrate import upgrade

PG_URL = os.environ.get("DESK_TEST_PG_URL", "")
BACKENDS = ["sqlite", "pg"]

# A fixed moment: Tuesday 10 March 2026, 09:30 in Berlin.
NOW = dt.datetime(2026, 3, 10, 8, 30, tzinfo=dt.timezone.utc)


def pytest_report_header(config):
    if PG_URL:
        return f"PostgreSQL tests: on ({PG_URL})"
    return "PostgreSQL tests: skipped — DESK_TEST_PG_URL is not set"


def _check_pg_answers() -> None:
    engine = make_engine(PG_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # the CI machine must have its server
        pytest.fail(f"DESK_TEST_PG_URL is set but PostgreSQL does not answer: {exc}", pytrace=False)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_available():
    if not PG_URL:
        pytest.skip("PostgreSQL tests skipped: DESK_TEST_PG_URL is not set")
    _check_pg_answers()
    return PG_URL


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'desk.sqlite3'}"
        return
    request.getfixturevalue("pg_available")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def people(engine):
    """The roster of DOMAIN.md as AgentRefs, keyed by login."""
    from seed.people import create_roster

    with write_session(engine) as session:
        return create_roster(session)


@pytest.fixture
def unique_login(db_url):
    """``unique_login("lena")`` → ``lena_<hex>``: on PostgreSQL agents are server-wide login roles.

    Roles are shared by every schema of the server, so parallel tests must not meet on a
    name. Afterwards every role with this test's suffix and the desk's group role are dropped.
    """
    suffix = uuid.uuid4().hex[:8]
    yield lambda name: f"{name}_{suffix}"
    if not db_url.startswith("postgresql"):
        return
    eng = make_engine(db_url)
    try:
        with eng.begin() as conn:
            group = None
            if conn.execute(text("SELECT to_regclass('desk_meta')")).scalar() is not None:
                group = conn.execute(text("SELECT value FROM desk_meta WHERE key = 'pg_agent_group'")).scalar()
            names = conn.execute(
                text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p"), {"p": f"%\\_{suffix}"}
            ).scalars().all()
            for name in [*names, *([group] if group else [])]:
                quoted = '"' + name.replace('"', '""') + '"'
                conn.execute(text(f"DROP OWNED BY {quoted}"))
                conn.execute(text(f"DROP ROLE {quoted}"))
    finally:
        eng.dispose()
