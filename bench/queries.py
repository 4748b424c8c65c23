"""The inbox's database work, through the services the screens call (in this process).

Each figure is one call as a worker makes it: a fresh ``read_session`` (a pooled
connection, one transaction) around the service call, timed with ``perf_counter``;
``iterations`` calls after two warm-up calls (statement cache, page cache). The figures
with a target also get the CPU time of the calling thread (``thread_time``): on a shared
machine the wall clock includes the wait for a core, the thread's CPU time does not (on
PostgreSQL it leaves out the server's own work).

The searches are the inbox's: ``/`` in the Support queue keeps the list's filter (active
tickets) and sets the search, which looks in every queue (docs/rules.md#ticket-search);
the inbox then reads the first page and, in another worker, the count with the notes.
"""

from __future__ import annotations

import time

from .common import Results, Target, log
from .datasets import Expect

MS = 1000.0
DEEP_ROW = 50_000


def run_queries(results: Results, backend: str, name: str, url: str, expect: Expect, *,
                iterations: int) -> None:
    from sqlalchemy import text

    from deskapp.formatting import utcnow
    from deskapp.services import agents, ticket_detail, tickets
    from deskapp.services.card import customer_card
    from deskapp.settings import Policy
    from models.engine import make_engine, read_session

    engine = make_engine(url)
    policy = Policy()
    now = utcnow()
    prefix = f"db.{backend}.{name}"
    try:
        with read_session(engine) as s:
            tom = agents.by_login(s, "tom")
        inbox = tickets.TicketFilter()
        everything = tickets.TicketFilter(queue=None, statuses=tickets.ALL_STATUSES)
        # What `/` + the word + Enter in the Support inbox asks for (screens/inbox/views.py).
        search = tickets.TicketFilter(search=expect.word)

        with read_session(engine) as s:
            # Keys of deep rows, found once with OFFSET (not timed: the desk never does this).
            deep_offset = min(DEEP_ROW, max(0, expect.tickets - 101))
            deep_key = _key_at(s, text, everything_order=True, offset=deep_offset)
            last_key = _key_at(s, text, everything_order=False, offset=max(0, expect.support_total - 51))
            first = tickets.list_page(s, tom, inbox, limit=1).rows[0]
            detail_id = first.id
            customer_id = next(
                (r.customer_id for r in tickets.list_page(s, tom, inbox, limit=100).rows if r.customer_id), None
            )

        def timed(key: str, label: str, fn, target: Target | None) -> None:
            def once() -> tuple[float, float]:
                t, cpu = time.perf_counter(), time.thread_time()
                with read_session(engine) as s:
                    fn(s)
                return (time.perf_counter() - t) * MS, (time.thread_time() - cpu) * MS

            for _ in range(2):
                once()
            samples = [once() for _ in range(iterations)]
            fig = results.figure(f"{prefix}.{key}", f"{backend} {name}: {label}", "ms", target=target)
            fig.samples += [wall for wall, _ in samples]
            if target is not None:
                cpu = results.figure(f"{prefix}.{key}_cpu", f"{backend} {name}: {label}, CPU time of the calling thread", "ms")
                cpu.samples += [c for _, c in samples]

        page = policy.inbox_page_size
        timed("first_page", f"inbox first page ({page} rows)",
              lambda s: tickets.list_page(s, tom, inbox, limit=page, now=now, policy=policy), Target("max", 3))
        timed("deep_page", f"page at row {deep_offset:,} of all tickets (keyset)",
              lambda s: tickets.list_page(s, tom, everything, after=deep_key, limit=page), Target("max", 3))
        timed("last_page", "last page of the inbox (keyset)",
              lambda s: tickets.list_page(s, tom, inbox, after=last_key, limit=page, now=now, policy=policy),
              Target("max", 3))
        timed("page_before", "page before a deep key (keyset, backwards)",
              lambda s: tickets.list_page(s, tom, everything, before=deep_key, limit=page), Target("max", 3))
        timed("sidebar_counts", "sidebar counts (4 queues + 3 views)",
              lambda s: tickets.sidebar_counts(s, tom), None)
        timed("count", "count of the inbox list (title)", lambda s: tickets.count(s, tom, inbox), None)
        timed("search_top50", f"full-text search top 50 („{expect.word}“ in {expect.word_share:.1%} of tickets; "
              "the inbox's search)",
              lambda s: tickets.list_page(s, tom, search, limit=50, now=now, policy=policy), Target("max", 10))
        timed("search_inbox", f"full-text search, the inbox's first page ({page} rows)",
              lambda s: tickets.page_around(s, tom, search, start=None, limit=page, now=now, policy=policy), None)
        timed("search_count", "full-text search, count and notes (the list's title)",
              lambda s: tickets.count_and_notes(s, tom, search, now=now, policy=policy), None)
        timed("change_token", "change token (the 2 s poll)", tickets.change_token, None)
        timed("detail", "ticket detail (the lower pane)",
              lambda s: ticket_detail.detail(s, detail_id, now=now, policy=policy), None)
        if customer_id is not None:
            timed("customer_card", "customer card",
                  lambda s: customer_card(s, customer_id, now=now, policy=policy), None)
    finally:
        engine.dispose()
    log(f"queries {backend} {name} done")


def _key_at(session, text, *, everything_order: bool, offset: int):
    """(priority, created_at, id) of the row at ``offset`` of all tickets / of the Support inbox."""
    from models.types import UTCDateTime

    where = "" if everything_order else "WHERE queue = 'support' AND status IN ('new', 'open', 'waiting')"
    row = session.execute(
        text(
            f"SELECT priority, created_at, id FROM ticket {where} "
            "ORDER BY priority DESC, created_at DESC, id DESC LIMIT 1 OFFSET :o"
        ).columns(created_at=UTCDateTime()),
        {"o": offset},
    ).one()
    return (row.priority, row.created_at, row.id)
