"""Shared fixtures. Database tests run on SQLite and, with DESK_TEST_PG_URL, on PostgreSQL.

Each PostgreSQL test gets a schema of its own (``search_path`` in the URL), so tests and
the processes they start never see each other's rows, and pytest-xdist workers can share
the server. The ``engine`` fixture's schema is migrated once and lent again after each test,
emptied back to what the migration wrote (tests/support/schema.py).
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text

from models.engine import make_engine, write_session
from tests.support.deskdata import NOW
from tests.support.schema import lend_pg_schema, migrated_sqlite_engine, pg_schema_url, return_pg_schema
from tests.support.smtp import FreePortController, Inbox

PG_URL = os.environ.get("DESK_TEST_PG_URL", "")
BACKENDS = ["sqlite", "pg"]


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


@pytest.fixture(autouse=True)
def _no_settings_file_of_the_machine(tmp_path_factory, monkeypatch):
    """Tests never read the developer's own settings file (its database, its SMTP host):
    each test starts with a settings path that does not exist; tests that need one set it."""
    missing = tmp_path_factory.mktemp("settings") / "settings.toml"
    monkeypatch.setenv("DESK_SETTINGS_FILE", str(missing))


@pytest.fixture(scope="session")
def pg_available():
    if not PG_URL:
        pytest.skip("PostgreSQL tests skipped: DESK_TEST_PG_URL is not set")
    _check_pg_answers()
    return PG_URL


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    """(backend, URL, where it lives): a fresh, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "desk.sqlite3"
        yield "sqlite", f"sqlite:///{path}", path
        return
    request.getfixturevalue("pg_available")
    if "engine" in request.fixturenames:  # a migrated schema, lent (tests/support/schema.py)
        schema = lend_pg_schema(PG_URL)
        yield "pg", pg_schema_url(PG_URL, schema), schema
        return_pg_schema(PG_URL, schema)
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield "pg", pg_schema_url(PG_URL, schema), schema
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def db_url(database):
    """A fresh, empty database URL on each backend."""
    return database[1]


@pytest.fixture
def engine(database):
    """An engine on the fresh database, migrated to head."""
    backend, url, where = database
    if backend == "sqlite":
        eng = migrated_sqlite_engine(where)
    else:  # ``database`` lent a migrated schema because this test asks for ``engine``
        eng = make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def people(engine):
    """The roster of docs/rules.md#roles as AgentRefs, keyed by login."""
    from seed.people import create_roster

    with write_session(engine) as session:
        return create_roster(session)


@pytest.fixture
def smtp_server():
    """An SMTP server that accepts mail: (its Inbox, its port)."""
    inbox = Inbox()
    controller = FreePortController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


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
