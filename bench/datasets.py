"""The databases the benchmark measures, and what it expects to see on them.

SQLite: ``bench/.cache/{demo,large}-<schema head>.sqlite3``, seeded once with the real
``deskapp seed demo|large`` and reused while the schema head is the same (a new
migration gives a new file). ``--large-db PATH`` uses a large seed made elsewhere.
The benchmark only reads these databases (the claim race runs on a database of its own).

PostgreSQL (``--pg`` with ``DESK_TEST_PG_URL``): the same seeds in the schemas
``bench_demo`` and ``bench_large`` of that database, chosen with ``search_path`` in the
URL like tests/conftest.py does; other schemas (``public`` of the tests) are never touched.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from .common import CACHE, log, run_desk

LARGE_TICKETS = 100_000
LONG_THREAD_MIN = 100  # a conversation of at least this many messages is "the long thread"
# Candidate words for "a word in up to 10 % of tickets" (subject/body words of the seeds).
SEARCH_CANDIDATES = (
    "abgelaufen", "Zertifikatswarnung", "Passwort", "Spam", "Lastschrift", "Rechnung", "Domain",
    "Weiterleitung", "WordPress", "langsam", "Postfach", "Smartphone", "Wochenende",
)


def schema_head() -> str:
    from models.migrate import head_revision

    return head_revision()


def pg_url(schema: str) -> str:
    base = os.environ["DESK_TEST_PG_URL"]
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def sqlite_db(kind: str, *, large_db: str | None = None) -> str:
    """Path of the cached SQLite database of ``kind`` ("demo" or "large"), seeding it if needed."""
    if kind == "large" and large_db:
        path = Path(large_db)
        if not path.exists():
            raise SystemExit(f"bench: --large-db {path} does not exist")
        return str(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{kind}-{schema_head()}.sqlite3"
    if path.exists() and _seeded(f"sqlite:///{path}", kind):
        return str(path)
    _remove_sqlite(path)
    log(f"seeding {kind} database {path} (cached for later runs) …")
    started = time.perf_counter()
    tmp = path.with_name(path.name + ".tmp")
    _remove_sqlite(tmp)
    run_desk("seed", kind, "--db", str(tmp))
    _checkpoint(tmp)
    tmp.rename(path)
    log(f"seeded {kind} in {time.perf_counter() - started:.1f} s")
    return str(path)


def adopt_large_seed(path: Path) -> None:
    """Keep a freshly seeded large database (from the seed timing) as the cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / f"large-{schema_head()}.sqlite3"
    if target.exists() and _seeded(f"sqlite:///{target}", "large"):
        return
    _remove_sqlite(target)
    _checkpoint(path)
    path.rename(target)


def pg_db(kind: str) -> str:
    """URL of the PostgreSQL schema ``bench_<kind>``, seeded if it is not already."""
    from sqlalchemy import text

    from models.engine import make_engine

    schema = f"bench_{kind}"
    url = pg_url(schema)
    if _seeded(url, kind):
        return url
    admin = make_engine(os.environ["DESK_TEST_PG_URL"])
    try:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    finally:
        admin.dispose()
    log(f"seeding {kind} on PostgreSQL (schema {schema}) …")
    started = time.perf_counter()
    run_desk("seed", kind, "--db", url)
    log(f"seeded {kind} on PostgreSQL in {time.perf_counter() - started:.1f} s")
    return url


def _seeded(url: str, kind: str) -> bool:
    """Migrated to head, seeded completely (large: all 100,000 tickets)."""
    from sqlalchemy import text

    from models import migrate
    from models.engine import make_engine

    engine = make_engine(url)
    try:
        if migrate.current_revision(engine) != migrate.head_revision():
            return False
        with engine.connect() as conn:
            tickets = conn.execute(text("SELECT count(*) FROM ticket")).scalar_one()
        return tickets >= LARGE_TICKETS if kind == "large" else tickets > 0
    except Exception:
        return False
    finally:
        engine.dispose()


def _checkpoint(path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists() and extra.stat().st_size == 0:
            extra.unlink()


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.unlink()


# --------------------------------------------------------------------------- what to expect


@dataclass(frozen=True)
class Expect:
    """What the desk must show on a database (computed through the services)."""

    url: str
    first_number: int  # first row of the inbox (Support, active), as tom sees it
    support_total: int
    technik_first: int
    word: str  # a search word found in up to 10 % of the tickets
    word_share: float
    tickets: int
    card_ticket: int  # an inbox ticket whose customer has hour packages (card → extension form)
    first_entries: int = 0  # entries of the first inbox ticket's conversation (the ticket screen's title)
    thread_ticket: int | None = None  # the ticket with the long conversation (``seed large``), if there is one
    thread_entries: int = 0


def expect(url: str) -> Expect:
    from sqlalchemy import func, select

    from deskapp.services import agents, tickets
    from models.engine import make_engine, read_session
    from models.tables import HourPackage, Ticket

    engine = make_engine(url)
    try:
        with read_session(engine) as s:
            tom = agents.by_login(s, "tom")
            if tom is None:
                raise SystemExit(f"bench: {url} has no agent 'tom' (not a demo/large seed)")
            first = tickets.list_page(s, tom, tickets.TicketFilter(), limit=1).rows[0].number
            technik = tickets.list_page(s, tom, tickets.TicketFilter(queue="technical"), limit=1).rows[0].number
            total = tickets.count(s, tom, tickets.TicketFilter())
            n = s.execute(select(func.count()).select_from(Ticket)).scalar_one()
            word, share = _search_word(s, tom, n)
            card_ticket = s.execute(
                select(Ticket.number)
                .where(
                    Ticket.queue == "support",
                    Ticket.status.in_(tickets.ACTIVE_STATUSES),
                    Ticket.customer_id.in_(select(HourPackage.customer_id)),
                )
                .order_by(Ticket.number)
                .limit(1)
            ).scalar_one_or_none()
            first_entries, thread, thread_entries = _conversations(s, first)
    finally:
        engine.dispose()
    return Expect(url, first, total, technik, word, share, n, card_ticket or first, first_entries, thread,
                  thread_entries)


def _conversations(session, first: int) -> tuple[int, int | None, int]:
    """Entries of the first inbox ticket; the ticket with the most mail (at least
    ``LONG_THREAD_MIN`` messages: ``seed large``'s long conversation) and its entries."""
    from sqlalchemy import func, select

    from deskapp.services import conversation, tickets
    from models.tables import MailMessage, Ticket

    def entries(number: int) -> int:
        return conversation.conversation(session, tickets.find_by_number(session, number).id, limit=0).total

    most = session.execute(
        select(MailMessage.ticket_id, func.count().label("n")).group_by(MailMessage.ticket_id)
        .order_by(func.count().desc()).limit(1)
    ).first()
    thread = None
    if most is not None and most.n >= LONG_THREAD_MIN:
        thread = session.execute(select(Ticket.number).where(Ticket.id == most.ticket_id)).scalar_one()
    return entries(first), thread, entries(thread) if thread is not None else 0


def _search_word(session, actor, n: int) -> tuple[str, float]:
    """The most frequent candidate word found in at most 10 % of all tickets."""
    from deskapp.services import tickets

    best = ("", 0.0)
    for word in SEARCH_CANDIDATES:
        filt = tickets.TicketFilter(queue=None, statuses=tickets.ALL_STATUSES, search=word)
        share = tickets.count(session, actor, filt) / max(n, 1)
        if best[1] < share <= 0.10:
            best = (word, share)
    return best if best[0] else (SEARCH_CANDIDATES[0], 0.0)
