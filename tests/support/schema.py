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


def pg_schema_url(server_url: str, schema: str) -> str:
    """The URL of ``server_url`` with ``schema`` as the only search path."""
    sep = "&" if "?" in server_url else "?"
    return f"{server_url}{sep}options=-csearch_path%3D{schema}"


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
