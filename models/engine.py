"""Engine and session helpers.

No engine is created at import time. Two kinds of transaction:

* ``read_session`` — on SQLite a plain deferred transaction (readers never block writers
  under WAL); on PostgreSQL no transaction at all (autocommit): under READ COMMITTED each
  statement sees its own snapshot inside a transaction too, so BEGIN and ROLLBACK bought a
  read nothing but two round trips — a page read is one. A statement that writes in a read
  session (none should) opens a transaction first, which the session's end rolls back, as
  on SQLite.
* ``write_session`` — on SQLite ``BEGIN IMMEDIATE``, so a transaction that reads and
  then writes takes the write lock up front instead of failing with "database is
  locked" halfway; on PostgreSQL an ordinary transaction whose services lock rows
  (``FOR UPDATE``) or use conditional updates.

Either commits on success and rolls back on any exception: a service's change is one
transaction or nothing.

Lost PostgreSQL connections (docs: SQLAlchemy, "Dealing with Disconnects"): no
``pool_pre_ping`` (a ``SELECT 1`` round trip before every read). Instead a pooled
connection is checked without a round trip when it is taken from the pool — a server
that ended it (restart, ``pg_terminate_backend``, an idle timeout) has sent its goodbye and
closed the socket, so the socket is readable — and the pool then opens a fresh one
(``DisconnectionError`` in the ``checkout`` event). A connection lost later, while in use,
is SQLAlchemy's optimistic case: the statement fails, the pool is invalidated, and
``read`` runs a read once more on a fresh connection (a read has nothing to undo).
"""

from __future__ import annotations

import contextlib
import os
import select
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool

if TYPE_CHECKING:  # SQLModel (and pydantic) load with the first session, not with the engine:
    from sqlmodel import Session  # ``deskapp mail receive`` works on a Core connection alone

SQLITE_BUSY_TIMEOUT_MS = 15_000
T = TypeVar("T")
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
    engine = create_engine(url, echo=echo)
    if engine.dialect.name == "postgresql":
        _install_pg_hooks(engine)
    return engine


def _hung_up(dbapi_conn) -> bool:
    """True when the server has closed this idle connection (or sent anything unasked:
    an idle connection's socket has nothing to read). No round trip."""
    if getattr(dbapi_conn, "closed", False) or getattr(dbapi_conn, "broken", False):
        return True
    try:
        poller = select.poll()
        poller.register(dbapi_conn.fileno(), select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no socket any more
        return True


def _install_pg_hooks(engine: Engine) -> None:
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "connect")
    def _no_server_side_prepare(dbapi_conn, _record):
        # psycopg prepares a statement on the server after its 5th run, and PostgreSQL then
        # may settle on a generic plan: the inbox's search went from 4 to 55 ms that way
        # once reads stopped ending in ROLLBACK (which used to reset psycopg's counts).
        if hasattr(dbapi_conn, "prepare_threshold"):
            dbapi_conn.prepare_threshold = None

    @event.listens_for(engine, "checkout")
    def _still_there(dbapi_conn, _record, _proxy):
        if _hung_up(dbapi_conn):
            raise DisconnectionError("the server closed the connection")  # the pool connects anew


_READERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_READ_ONLY_VERBS = ("SELECT", "SHOW", "VALUES")


def _reader(engine: Engine) -> Engine:
    """The engine a read session binds: on PostgreSQL the same pool in autocommit (one
    round trip per statement, no BEGIN/ROLLBACK); elsewhere the engine itself."""
    if engine.dialect.name != "postgresql":
        return engine
    reader = _READERS.get(engine)
    if reader is None:
        reader = engine.execution_options(isolation_level="AUTOCOMMIT")

        @event.listens_for(reader, "before_cursor_execute")
        def _writes_in_a_transaction(conn, _cursor, statement, _params, context, _many):
            # A write in a read session: open a transaction first (the driver's BEGIN), so
            # that the session's end rolls it back as it does on SQLite.
            dbapi_conn = conn.connection.dbapi_connection
            if dbapi_conn.autocommit and not statement.lstrip()[:6].upper().startswith(_READ_ONLY_VERBS):
                dbapi_conn.autocommit = False

        _READERS[engine] = reader
    return reader


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

    with Session(_reader(engine), expire_on_commit=False) as session:
        yield session
        session.rollback()


def read(engine: Engine, fn: Callable[[Session], T]) -> T:
    """``fn(session)`` in a read session; run once more when the database connection was
    lost under it (the pool is fresh by then; a read has nothing to undo)."""
    from sqlalchemy.exc import DBAPIError

    try:
        with read_session(engine) as session:
            return fn(session)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    with read_session(engine) as session:
        return fn(session)


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
