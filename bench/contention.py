"""Claims under two-process contention.

A fresh database (SQLite file, or the PostgreSQL schema ``bench_claims``) with the demo
roster and ``tickets`` new, unassigned Support tickets. Two spawned processes — tom and
lena, each with its own engine — go through the same tickets in the same order, as fast
as they can: read the row (``tickets.get_row``), claim it (``tickets.claim`` in a
``write_session``). Every ticket is fought over; the loser gets a ``Conflict``.

Figures: successful claims per second over the race (first start to last finish, on the
shared monotonic clock), and checks: every ticket claimed exactly once (one winner, one
CLAIM event, one audit row, its assignee is the winner) and no other error (such as
"database is locked") in either process.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import tempfile
import time
import traceback
from pathlib import Path

from .common import Results, Target, log

NOW = dt.datetime(2026, 3, 10, 8, 30, tzinfo=dt.UTC)
RACERS = ("tom", "lena")


def _racer(url: str, login: str, ids: list[int], barrier, results) -> None:
    from deskapp.services import agents, tickets
    from deskapp.services.errors import Conflict
    from models.engine import make_engine, read_session, write_session

    won: list[int] = []
    conflicts = 0
    errors: list[str] = []
    started = finished = 0.0
    try:
        engine = make_engine(url)
        with read_session(engine) as s:
            actor = agents.by_login(s, login)
        barrier.wait(60)
        started = time.perf_counter()
        for ticket_id in ids:
            try:
                with read_session(engine) as s:
                    seen = tickets.get_row(s, ticket_id)
                with write_session(engine) as s:
                    tickets.claim(s, actor, seen, now=NOW)
                won.append(ticket_id)
            except Conflict:
                conflicts += 1
            except Exception as exc:  # "database is locked" and friends
                errors.append(repr(exc))
        finished = time.perf_counter()
        engine.dispose()
    except Exception:
        errors.append(traceback.format_exc())
        barrier.abort()
    results.put((login, won, conflicts, errors, started, finished))


def _prepare(url: str, count: int) -> list[int]:
    from deskapp.services import tickets
    from models.engine import make_engine, write_session
    from models.enums import Queue
    from models.migrate import upgrade
    from seed.people import create_roster

    engine = make_engine(url)
    try:
        upgrade(engine)
        with write_session(engine) as s:
            people = create_roster(s)
            ids = [
                tickets.open_ticket(s, people["isabel"], queue=Queue.SUPPORT, subject=f"Wettlauf {i}", now=NOW).id
                for i in range(count)
            ]
    finally:
        engine.dispose()
    return ids


def _check(url: str, ids: list[int], winners: dict[int, list[str]]) -> dict[str, bool]:
    from sqlalchemy import func, select

    from deskapp.services import tickets
    from models.engine import make_engine, read_session
    from models.enums import EventKind
    from models.tables import AuditLog, TicketEvent

    engine = make_engine(url)
    try:
        with read_session(engine) as s:
            events = dict(
                s.execute(
                    select(TicketEvent.ticket_id, func.count())
                    .where(TicketEvent.kind == EventKind.CLAIM)
                    .group_by(TicketEvent.ticket_id)
                ).all()
            )
            audits = s.execute(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "ticket.claim")
            ).scalar_one()
            assignees = {i: tickets.get_row(s, i).assignee_login for i in ids}
    finally:
        engine.dispose()
    return {
        "one winner per ticket": all(len(winners[i]) == 1 for i in ids),
        "one claim event per ticket": all(events.get(i) == 1 for i in ids),
        "one audit entry per claim": audits == len(ids),
        "assignee is the winner": all(assignees[i] == (winners[i] or [None])[0] for i in ids),
    }


def race(url: str, count: int) -> tuple[float, dict[str, bool], list[str], int]:
    """(claims/s, checks, errors, conflicts) of one race on a prepared database."""
    ids = _prepare(url, count)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(RACERS))
    queue = ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(url, login, ids, barrier, queue)) for login in RACERS]
    for p in procs:
        p.start()
    got = [queue.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(60)
    winners: dict[int, list[str]] = {i: [] for i in ids}
    errors: list[str] = []
    conflicts = 0
    starts, ends = [], []
    for login, won, lost, errs, started, finished in got:
        for i in won:
            winners[i].append(login)
        errors += errs
        conflicts += lost
        starts.append(started)
        ends.append(finished)
    wall = max(ends) - min(starts)
    claims = sum(len(w) for w in winners.values())
    checks = _check(url, ids, winners)
    checks["no error (e.g. 'database is locked')"] = not errors
    return (claims / wall if wall > 0 else 0.0), checks, errors, conflicts


def run_contention(results: Results, *, runs: int, count: int, pg: bool) -> None:
    backends = ["sqlite"] + (["pg"] if pg else [])
    for backend in backends:
        fig = results.figure(f"claims.{backend}", f"{backend}: claims/s, 2 processes racing for the same tickets",
                             "claims/s", target=Target("min", 500))
        all_errors: list[str] = []
        for i in range(runs):
            log(f"claim race {backend} run {i + 1}/{runs} ({count} tickets)")
            if backend == "sqlite":
                with tempfile.TemporaryDirectory(prefix="deskbench-") as tmp:
                    rate, checks, errors, conflicts = race(str(Path(tmp) / "claims.sqlite3"), count)
            else:
                rate, checks, errors, conflicts = _pg_race(count)
            fig.samples.append(rate)
            for name, ok in checks.items():
                fig.checks[name] = fig.checks.get(name, True) and ok
            all_errors += errors
            fig.extra["conflicts_last_run"] = conflicts
        fig.extra["tickets"] = count
        if all_errors:
            fig.notes.append(f"{len(all_errors)} errors, first: {all_errors[0][:300]}")


def _pg_race(count: int):
    from sqlalchemy import text

    from models.engine import make_engine

    from .datasets import pg_url

    admin = make_engine(os.environ["DESK_TEST_PG_URL"])
    try:
        with admin.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench_claims CASCADE"))
            conn.execute(text("CREATE SCHEMA bench_claims"))
        return race(pg_url("bench_claims"), count)
    finally:
        with admin.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench_claims CASCADE"))
        admin.dispose()
