"""PostgreSQL: the desk survives losing its database connection.

Reads run without a transaction and without a ping before each checkout (models/engine.py):
these tests end the desk's server process for real (``pg_terminate_backend`` from another
connection) and check that the next inbox page is read, that a read that loses its
connection midway is read again, and that a write after that still commits in its
transaction.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select, text

from deskapp.services import tickets
from deskapp.services.tickets import TicketFilter
from models.engine import make_engine, read, read_session, write_session
from models.enums import Queue
from models.tables import Ticket
from tests.conftest import PG_URL
from tests.support.deskdata import NOW


@pytest.fixture
def pg(database, engine):
    if database[0] != "pg":
        pytest.skip("PostgreSQL only: SQLite has no server connection to lose")
    admin = make_engine(PG_URL)
    yield engine, admin
    admin.dispose()


def _backend(session) -> int:
    return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(admin, pid: int) -> None:
    with admin.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    for _ in range(200):  # the server ends the process asynchronously
        with admin.connect() as conn:
            alive = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            if not conn.execute(alive, {"pid": pid}).scalar():
                return
        time.sleep(0.01)
    raise AssertionError(f"backend {pid} did not end")


def _subjects(session, tom) -> list[str]:
    return [r.subject for r in tickets.list_page(session, tom, TicketFilter(), limit=50).rows]


def test_a_page_is_read_after_the_server_ended_the_connection_and_a_write_still_commits(pg, people):
    engine, admin = pg
    tom = people["tom"]
    with write_session(engine) as s:
        first = tickets.open_ticket(s, tom, queue=Queue.SUPPORT, subject="Drucker streikt", now=NOW)
    with read_session(engine) as s:
        pid = _backend(s)
        assert _subjects(s, tom) == ["Drucker streikt"]
    _terminate(admin, pid)  # the pooled connection is dead now

    with read_session(engine) as s:  # the same engine: a fresh connection, the page as before
        assert _backend(s) != pid
        assert _subjects(s, tom) == ["Drucker streikt"]

    _terminate(admin, _backend_of(engine))  # and once more before a write
    with write_session(engine) as s:
        tickets.claim(s, tom, tickets.get_row(s, first.id), now=NOW)
        tickets.open_ticket(s, tom, queue=Queue.SUPPORT, subject="Zweites Ticket", now=NOW)
    with read_session(engine) as s:
        assert tickets.get_row(s, first.id).assignee_login == "tom"
        assert sorted(_subjects(s, tom)) == ["Drucker streikt", "Zweites Ticket"]


def _backend_of(engine) -> int:
    with read_session(engine) as s:
        return _backend(s)


def test_a_read_that_loses_its_connection_midway_is_read_again(pg, people):
    engine, admin = pg
    tom = people["tom"]
    with write_session(engine) as s:
        tickets.open_ticket(s, tom, queue=Queue.SUPPORT, subject="Mitten im Lesen", now=NOW)
    calls = []

    def page(session):
        pid = _backend(session)
        calls.append(pid)
        if len(calls) == 1:
            _terminate(admin, pid)  # lost after the checkout, before the page's query
        return _subjects(session, tom)

    assert read(engine, page) == ["Mitten im Lesen"]
    assert len(calls) == 2 and calls[0] != calls[1]


def test_a_write_in_a_read_session_is_rolled_back_as_on_sqlite(pg, people):
    """Read sessions run without a transaction on PostgreSQL; a statement that writes
    in one opens a transaction first, which the session's end rolls back."""
    engine, _admin = pg
    with write_session(engine) as s:
        row = tickets.open_ticket(s, people["tom"], queue=Queue.SUPPORT, subject="Bleibt so", now=NOW)
    with read_session(engine) as s:
        s.execute(text("UPDATE ticket SET subject = 'Geändert' WHERE id = :id"), {"id": row.id})
        assert s.execute(select(Ticket.subject).where(Ticket.id == row.id)).scalar_one() == "Geändert"
    with read_session(engine) as s:
        assert s.execute(select(Ticket.subject).where(Ticket.id == row.id)).scalar_one() == "Bleibt so"
