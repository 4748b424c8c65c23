"""Two agents on one database never both claim a ticket; numbers stay gap-free.

(a) two connections interleaved — a stale ``seen`` row, and two write transactions that
    really overlap (threads);
(b) several OS processes ("spawn", each with its own engine from the URL) racing to
    claim the same tickets, round after round;
(c) ticket numbers drawn by parallel processes, some transactions rolled back.

SQLite runs on a file (WAL, ``BEGIN IMMEDIATE``), PostgreSQL in a schema of its own.
"""

from __future__ import annotations

import datetime as dt
import traceback

import pytest
from sqlalchemy import func, select

from deskapp.services import agents, tickets
from deskapp.services.errors import Conflict
from models.engine import make_engine, read_session, write_session
from models.enums import EventKind, Queue, TicketStatus
from models.tables import AuditLog, Counter, Ticket, TicketEvent
from tests.support.race import overlapping_writes, race, winners_by_id

NOW = dt.datetime(2026, 3, 10, 8, 30, tzinfo=dt.timezone.utc)
RACERS = ("tom", "lena", "sara", "rebekka")  # four agents who may work the support queue
ROUNDS = 25
NUMBER_WORKERS = 4
NUMBERS_EACH = 30


# --------------------------------------------------------------------------- (a) two connections


def test_stale_seen_row_from_another_connection_conflicts(db_url, engine, people):
    """Tom's screen shows the ticket unclaimed; Lena claims it through her own engine."""
    with write_session(engine) as s:
        t = tickets.open_ticket(s, people["tom"], queue=Queue.SUPPORT, subject="Wer nimmt's?", now=NOW)
    toms, lenas = make_engine(db_url), make_engine(db_url)
    try:
        with read_session(toms) as s:
            seen_by_tom = tickets.get_row(s, t.id)
        with read_session(lenas) as s:
            seen_by_lena = tickets.get_row(s, t.id)
        with write_session(lenas) as s:
            tickets.claim(s, people["lena"], seen_by_lena, now=NOW)
        with pytest.raises(Conflict) as exc:
            with write_session(toms) as s:
                tickets.claim(s, people["tom"], seen_by_tom, now=NOW)
        assert exc.value.current.assignee_login == "lena"
        assert "lena" in exc.value.message
    finally:
        toms.dispose()
        lenas.dispose()
    assert _claim_counts(engine) == {t.id: 1}


def test_overlapping_write_transactions_let_only_one_claim(db_url, engine, people):
    """Lena's transaction has claimed but not committed when Tom's starts.

    Tom's transaction waits (SQLite: for the write lock at BEGIN IMMEDIATE; PostgreSQL:
    for the row lock at the UPDATE) and, once Lena commits, finds the version moved on.
    """
    with write_session(engine) as s:
        t = tickets.open_ticket(s, people["tom"], queue=Queue.SUPPORT, subject="Gleichzeitig", now=NOW)
    outcome = overlapping_writes(
        db_url,
        lambda s: tickets.claim(s, people["lena"], t, now=NOW),
        lambda s: tickets.claim(s, people["tom"], t, now=NOW),
    )
    assert isinstance(outcome, Conflict), outcome
    assert outcome.current.assignee_login == "lena"
    with read_session(engine) as s:
        assert tickets.get_row(s, t.id).assignee_login == "lena"
    assert _claim_counts(engine) == {t.id: 1}


# --------------------------------------------------------------------------- (b) processes racing


def _claim_racer(url: str, login: str, ticket_ids: list[int], barrier, results) -> None:
    """Runs in a spawned process: for every ticket, read it, wait for the others, claim."""
    outcomes: list[tuple[int, str]] = []
    try:
        engine = make_engine(url)
        with read_session(engine) as s:
            actor = agents.by_login(s, login)
        for ticket_id in ticket_ids:
            with read_session(engine) as s:
                seen = tickets.get_row(s, ticket_id)
            barrier.wait(30)  # everyone holds the same unclaimed row now
            try:
                with write_session(engine) as s:
                    tickets.claim(s, actor, seen, now=NOW)
                outcomes.append((ticket_id, "won"))
            except Conflict:
                outcomes.append((ticket_id, "conflict"))
            except Exception as exc:  # "database is locked" and friends end up here
                outcomes.append((ticket_id, f"error: {exc!r}"))
        engine.dispose()
    except Exception:
        outcomes.append((-1, "error: " + traceback.format_exc()))
        barrier.abort()
    results.put((login, outcomes))


@pytest.mark.slow
def test_processes_racing_to_claim_get_exactly_one_winner_each(db_url, engine, people):
    with write_session(engine) as s:
        ids = [
            tickets.open_ticket(s, people["tom"], queue=Queue.SUPPORT, subject=f"Rennen {i}", now=NOW).id
            for i in range(ROUNDS)
        ]
    collected = dict(race(_claim_racer, [(db_url, login, ids) for login in RACERS], timeout=120))

    errors = [(login, o) for login, outs in collected.items() for o in outs if o[1].startswith("error")]
    assert errors == []
    winners = winners_by_id(collected, ids)
    assert all(len(w) == 1 for w in winners.values()), winners

    with read_session(engine) as s:
        rows = {r.id: r for r in (tickets.get_row(s, i) for i in ids)}
        audit_claims = dict(
            s.execute(
                select(AuditLog.entity_id, func.count())
                .where(AuditLog.action == "ticket.claim")
                .group_by(AuditLog.entity_id)
            ).all()
        )
    for tid in ids:
        assert rows[tid].assignee_login == winners[tid][0]
        assert rows[tid].version == 2 and rows[tid].status == TicketStatus.OPEN
        assert audit_claims[str(rows[tid].number)] == 1
    assert _claim_counts(engine) == {tid: 1 for tid in ids}


# --------------------------------------------------------------------------- (c) numbers


def _number_drawer(url: str, worker: int, count: int, barrier, results) -> None:
    """Runs in a spawned process: open tickets; every third transaction is rolled back."""
    committed: list[int] = []
    errors: list[str] = []
    try:
        engine = make_engine(url)
        with read_session(engine) as s:
            actor = agents.by_login(s, "tom")
        barrier.wait(30)
        for i in range(count):
            try:
                with write_session(engine) as s:
                    row = tickets.open_ticket(
                        s, actor, queue=Queue.SUPPORT, subject=f"Prozess {worker} Nr. {i}", now=NOW
                    )
                    if i % 3 == 2:
                        raise _Abandon
                committed.append(row.number)
            except _Abandon:
                pass
            except Exception as exc:
                errors.append(repr(exc))
        engine.dispose()
    except Exception:
        errors.append(traceback.format_exc())
        barrier.abort()
    results.put((worker, committed, errors))


class _Abandon(Exception):
    """The agent cancelled: the transaction rolls back and gives its number back."""


@pytest.mark.slow
def test_ticket_numbers_from_parallel_processes_are_unique_and_gap_free(db_url, engine, people):
    collected = race(_number_drawer, [(db_url, w, NUMBERS_EACH) for w in range(NUMBER_WORKERS)], timeout=120)
    assert [e for _, _, e in collected if e] == []

    numbers = sorted(n for _, committed, _ in collected for n in committed)
    kept = NUMBER_WORKERS * (NUMBERS_EACH - NUMBERS_EACH // 3)
    assert numbers == list(range(1, kept + 1))  # unique, no gaps, despite the rollbacks
    with read_session(engine) as s:
        stored = s.execute(select(Ticket.number).order_by(Ticket.number)).scalars().all()
        counter = s.get(Counter, "ticket").value
    assert stored == numbers
    assert counter == kept
    # Each process's own numbers rise: a number is never handed out twice.
    for _, committed, _ in collected:
        assert committed == sorted(committed)


# --------------------------------------------------------------------------- helpers


def _claim_counts(engine) -> dict[int, int]:
    with read_session(engine) as s:
        return dict(
            s.execute(
                select(TicketEvent.ticket_id, func.count())
                .where(TicketEvent.kind == EventKind.CLAIM)
                .group_by(TicketEvent.ticket_id)
            ).all()
        )
