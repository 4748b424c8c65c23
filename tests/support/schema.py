"""A migrated schema in milliseconds: Alembic runs once per test process and backend.

Running the migrations costs ~0.2 s on SQLite and ~0.5 s on PostgreSQL, and hundreds of
tests each want a fresh database at head. So the first test migrates a template, and every
later one gets a copy:

* SQLite: the migrated template file is copied to the test's path.
* PostgreSQL: the statements Alembic sent while migrating a scratch schema are recorded
  (everything but its catalog reads) and replayed into the test's own empty schema in one
  transaction. The replay is the migration, statement for statement, so a new migration
  is picked up without any change here.

Each pytest-xdist worker is a process of its own and builds its own template.

On PostgreSQL even the replay costs a second of server work per test (hundreds of DDL
statements, then ``DROP SCHEMA … CASCADE``), so a migrated schema is lent rather than
rebuilt: ``lend_pg_schema`` hands out one from the process's pool, ``return_pg_schema``
empties it and puts back the rows the migration itself wrote — every table emptied, every
sequence restarted, the recorded data statements replayed, in one transaction with
triggers and foreign keys off (``session_replication_role = replica``: the audit log's
triggers refuse deletes, rightly, in every other session). The next test sees exactly what
a freshly migrated schema holds. A schema whose objects changed during the test (a table,
index or trigger more or fewer), or that cannot be reset (a lock left behind by a killed
process, no superuser), is dropped instead of lent again.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from models.engine import make_engine
from models.migrate import upgrade

_sqlite_template: Path | None = None
_pg_statements: dict[str, list[tuple[str, object]]] = {}
_pg_pool: dict[str, list[str]] = {}  # server URL → migrated schemas free to lend
_pg_shape: dict[str, tuple[int, int]] = {}  # server URL → (objects, triggers) of a fresh schema
_pg_admins: dict[str, Engine] = {}
DATA_STATEMENTS = ("INSERT", "UPDATE", "DELETE")


def pg_schema_url(server_url: str, schema: str) -> str:
    """The URL of ``server_url`` with ``schema`` as the only search path."""
    sep = "&" if "?" in server_url else "?"
    return f"{server_url}{sep}options=-csearch_path%3D{schema}+-csynchronous_commit%3Doff"


def migrated_sqlite_engine(path: str | Path) -> Engine:
    """An engine on a new SQLite file at ``path``, already at the head revision."""
    shutil.copyfile(_sqlite_template_file(), path)
    return make_engine(f"sqlite:///{path}")


def migrate_pg_schema(server_url: str, schema: str) -> None:
    """Bring the empty ``schema`` to head by replaying the recorded migration."""
    statements = _pg_statements.get(server_url)
    if statements is None:
        statements = _pg_statements[server_url] = _record_pg_migration(server_url)
    engine = make_engine(pg_schema_url(server_url, schema))
    try:
        with engine.begin() as conn:
            for statement, parameters in statements:
                conn.exec_driver_sql(statement, parameters)
    finally:
        engine.dispose()


def lend_pg_schema(server_url: str) -> str:
    """A schema at head with only the migration's own rows, for one test."""
    free = _pg_pool.setdefault(server_url, [])
    if free:
        return free.pop()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with _admin(server_url).begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    migrate_pg_schema(server_url, schema)
    if server_url not in _pg_shape:
        with _admin(server_url).connect() as conn:
            _pg_shape[server_url] = _shape(conn, schema)
        atexit.register(_drop_pool, server_url)
    return schema


def return_pg_schema(server_url: str, schema: str) -> None:
    """Empty the lent ``schema`` back to its migrated state and keep it for the next test,
    or drop it when that is not certain (see the module doc)."""
    try:
        with _admin(server_url).begin() as conn:
            if _shape(conn, schema) == _pg_shape.get(server_url):
                _reset(conn, server_url, schema)
                _pg_pool.setdefault(server_url, []).append(schema)
                return
    except Exception:  # noqa: BLE001 - any doubt: the schema is not lent again
        pass
    _drop(server_url, schema)


def _admin(server_url: str) -> Engine:
    """One engine per server for the pool's own work, kept for the whole process."""
    engine = _pg_admins.get(server_url)
    if engine is None:
        engine = _pg_admins[server_url] = make_engine(server_url)
    return engine


def _shape(conn, schema: str) -> tuple[int, int]:
    return tuple(conn.execute(text(
        "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = n.oid),"
        " (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        "  WHERE c.relnamespace = n.oid)"
        " FROM pg_namespace n WHERE n.nspname = :schema"
    ), {"schema": schema}).one())


def _reset(conn, server_url: str, schema: str) -> None:
    conn.exec_driver_sql("SET LOCAL lock_timeout = '3s'")
    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    conn.exec_driver_sql(f"SET LOCAL search_path TO {schema}")
    tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}).all()
    for (table,) in tables:
        conn.exec_driver_sql(f'DELETE FROM "{schema}"."{table}"')
    sequences = conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = :s"),
                             {"s": schema}).all()
    for (sequence,) in sequences:
        conn.execute(text("SELECT setval(:seq, 1, false)"), {"seq": f'"{schema}"."{sequence}"'})
    for statement, parameters in _pg_statements[server_url]:
        if statement.lstrip().split(None, 1)[0].upper() in DATA_STATEMENTS:
            conn.exec_driver_sql(statement, parameters)


def _drop(server_url: str, schema: str) -> None:
    try:
        with _admin(server_url).begin() as conn:
            conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    except Exception:  # noqa: BLE001 - a leftover schema harms no test (unique names)
        pass


def _drop_pool(server_url: str) -> None:
    for schema in _pg_pool.pop(server_url, []):
        _drop(server_url, schema)
    engine = _pg_admins.pop(server_url, None)
    if engine is not None:
        engine.dispose()


def _sqlite_template_file() -> Path:
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="desk-schema-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()  # the last connection closes: the WAL is folded into the file
        _sqlite_template = path
    return _sqlite_template


def _record_pg_migration(server_url: str) -> list[tuple[str, object]]:
    schema = f"tpl_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(pg_schema_url(server_url, schema))
    recorded: list[tuple[str, object]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(_conn, _cursor, statement, parameters, _context, executemany):
        assert not executemany, "the recorder replays single statements only"
        if statement.lstrip().split(None, 1)[0].upper() not in ("SELECT", "SHOW"):
            recorded.append((statement, parameters))

    try:
        upgrade(engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    return recorded
