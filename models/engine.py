"""Engine and session helpers.

No engine is created at import time. Two kinds of transaction:

* ``read_session`` — a plain deferred transaction (SQLite readers never block writers
  under WAL).
* ``write_session`` — on SQLite ``BEGIN IMMEDIATE``, so a transaction that reads and
  then writes takes the write lock up front instead of failing with "database is
  locked" halfway; on PostgreSQL an ordinary transaction whose services lock rows
  (``FOR UPDATE``) or use conditional updates.

Either commits on success and rolls back on any exception: a service's change is one
transaction or nothing.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool

if TYPE_CHECKING:  # SQLModel (and pydantic) load with the first session, not with the engine:
    from sqlmodel import Session  # ``deskapp mail receive`` works on a Core connection alone

SQLITE_BUSY_TIMEOUT_MS = 15_000
# SQLite's page cache per connection (its default: 2,000 KiB). The desk's pool holds a
# connection per worker that read at the same time (page, read-ahead, counts, detail): three
# full default caches were ~7 MB of the desk's peak RSS at 100k tickets (issue 16);
# the file's pages stay in the OS page cache, so a miss is a read() away, not the disk.
SQLITE_CACHE_KIB = 512


def normalize_url(url_or_path: str | os.PathLike) -> str:
    """Accept an SQLAlchemy URL or a plain file path (taken as SQLite)."""
    text = str(url_or_path)
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).expanduser().resolve())


def make_engine(url_or_path: str | os.PathLike, *, echo: bool = False) -> Engine:
    url = make_url(normalize_url(url_or_path))
    if url.get_backend_name() == "sqlite":
        memory = url.database in (None, "", ":memory:")
        kwargs: dict = {
            "connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        }
        if memory:
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, echo=echo, **kwargs)
        _install_sqlite_hooks(engine, memory=memory)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _install_sqlite_hooks(engine: Engine, *, memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_conn.isolation_level = None
        # SQLite's own lower() folds ASCII only: 'Özdemir' would never match 'özdemir'.
        # Searches compare lower(column) with a Python-lowered pattern, as on PostgreSQL.
        dbapi_conn.create_function("lower", 1, _unicode_lower, deterministic=True)
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get("desk_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextlib.contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()


@contextlib.contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    from sqlmodel import Session

    bind = engine.execution_options(desk_write=True)
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# The name the house style uses for "one transaction around a service call".
session_scope = write_session
