"""The ticket inbox: paged listing, search, counts, and the triage actions.

Listing is keyset-paged on ``(priority DESC, created_at DESC, id DESC)`` — the order of
the inbox indexes — so the 1000th page costs what the first does. The contract queue is
the exception: held orders are about speed, so it runs oldest first within a priority
``(priority DESC, created_at ASC, id ASC)``, keyset-paged the same way. Every change is one
conditional ``UPDATE … WHERE version = :seen``: zero rows means another agent was first,
and the caller gets a ``Conflict`` that says who changed what, with the current state.

The open ticket with what it carries (an order, an extension request) is composed in
``ticket_detail``, above orders and extensions: this module imports neither.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import uuid
from dataclasses import dataclass

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    tuple_,
    type_coerce,
    union,
    union_all,
    update,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session

from models.enums import EventKind, Priority, Queue, TicketKind, TicketStatus
from models.tables import Agent, Customer, ExtensionRequest, Ticket, TicketEvent
from models.types import UTCDateTime

from .. import texts
from ..rules import filterlang, limits
from ..settings import Policy
from . import audit, corerows, ticket_search
from .agents import to_ref
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .filters import (  # noqa: F401  (re-exported: callers use tickets.TicketFilter & co.)
    ACTIVE_STATUSES,
    ALL_STATUSES,
    FLAGS,
    REQUESTS_VIEW,
    VIEWS,
    ChangeToken,
    PageKey,
    TicketFilter,
)
from .readmodels import TICKET_ROW_FIELDS, AgentRef, TicketPage, TicketRow, may_work_queue, ticket_row
from .versioning import bump


@dataclass(frozen=True)
class BulkResult:
    done: tuple[int, ...]  # ticket numbers
    refused: tuple[str, ...]  # one German sentence per ticket not changed


@dataclass(frozen=True)
class SidebarCounts:
    queues: dict[str, int]
    views: dict[str, int]


# --------------------------------------------------------------------------- reading


_assignee = aliased(Agent)


class _ListTimestamp(UTCDateTime):
    """``UTCDateTime`` as the list reads it: on SQLite the stored text (naive UTC) becomes an
    aware datetime in one ``fromisoformat`` instead of SQLAlchemy's parse, then the
    TypeDecorator's call and ``replace`` — two per row, ~2 µs each, a fifth of a page."""

    cache_ok = True

    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = dt.datetime.fromisoformat

        def process(value):
            return None if value is None else parse(value + "+00:00")

        return process


def _row_columns():
    return (
        Ticket.id,
        Ticket.number,
        Ticket.queue,
        Ticket.kind,
        Ticket.status,
        Ticket.priority,
        Ticket.subject,
        Ticket.customer_id,
        func.coalesce(Customer.name, "").label("customer_name"),
        func.coalesce(_assignee.login, "").label("assignee_login"),
        Ticket.flags,
        type_coerce(Ticket.created_at, _ListTimestamp()).label("created_at"),
        type_coerce(Ticket.updated_at, _ListTimestamp()).label("updated_at"),
        Ticket.version,
    )


def _base_select():
    return (
        select(*_row_columns())
        .select_from(Ticket)
        .outerjoin(Customer, Customer.id == Ticket.customer_id)
        .outerjoin(_assignee, _assignee.id == Ticket.assignee_id)
    )


# Built once: constructing the joined select costs more than running it for one row.
_BASE_SELECT = _base_select()
# readmodels.ticket_row takes the columns in the order of TicketRow's fields.
assert tuple(c.name for c in _BASE_SELECT.selected_columns) == TICKET_ROW_FIELDS


def _rows(session: Session, stmt, params: dict | None = None) -> list[TicketRow]:
    """The ``TicketRow``s of a select of ``_row_columns()``, all rows fetched at once."""
    return [ticket_row(r) for r in session.execute(stmt, params or {}).all()]


# The values a page statement is run with (_page_statement builds a list's statement
# once; the key of the page, its size and the clock are parameters).
_KEY_PRIORITY = bindparam("key_priority", type_=Integer())
_KEY_CREATED = bindparam("key_created", type_=UTCDateTime())
_KEY_ID = bindparam("key_id", type_=Integer())
_PAGE_LIMIT = bindparam("page_limit", type_=Integer())
_COUNT_LIMIT = bindparam("count_limit", type_=Integer())
_OVERDUE_CUTOFF = bindparam("overdue_cutoff", type_=UTCDateTime())


# The predicate of the partial index ix_ticket_flagged (migration 0003), repeated literally:
# SQLite and PostgreSQL use a partial index only when the query states its WHERE as is.
_HAS_FLAGS = Ticket.flags != literal_column("''")


def _flag_clause(flag: str):
    """``flag`` is one of the ticket's space-separated flags (served by ix_ticket_flagged)."""
    return and_(
        _HAS_FLAGS,
        (literal_column("' '") + Ticket.flags + literal_column("' '")).like(f"% {flag} %"),
    )


def _where(session: Session, actor: AgentRef, filt: TicketFilter, *, fuzzy: bool = False) -> list:
    where, sources = _where_parts(session, actor, filt, fuzzy=fuzzy)
    if sources:
        found = union(*(select(sub.c.id) for sub in (src.subquery() for src in sources)))
        # SQLite, a search with other conditions (the statuses, a queue): reading their index
        # and checking each ticket against the found ids beats looking up the table row of
        # every match (``+ 0`` keeps SQLite from driving the count by the ids; a word in 8 %
        # of 100,000 tickets, active ones counted: 38 → 8 ms).
        ticket_id = Ticket.id + literal_column("0") if where and _is_sqlite(session) else Ticket.id
        where.append(ticket_id.in_(found))
    return where


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _clock_params(session: Session, filt: TicketFilter, now: dt.datetime | None,
                  policy: Policy | None) -> dict:
    """The parameter of ``_overdue_clause`` when ``filt`` lists overdue tickets: held orders
    that came in before ``limits.overdue_cutoff`` (``now``/``policy``: by default the wall
    clock and the stored policy)."""
    if filt.flag != "overdue":
        return {}
    from ..formatting import utcnow
    from .settings_store import load_policy

    return {_OVERDUE_CUTOFF.key: limits.overdue_cutoff(now or utcnow(), policy or load_policy(session))}


def _overdue_clause():
    """The flag "overdue" as the list shows it (``_with_overdue``): stored, or computed for a
    held order whose working-time age is past the policy's hours, i.e. that came in before
    the cutoff (``_clock_params``; docs/rules.md#held-overdue) — a plain range on created_at."""
    # Two small sets, each from its own index (ix_ticket_flagged, ix_ticket_kind), as ids:
    # an OR in the list's WHERE makes both planners scan the whole queue in list order.
    held = select(Ticket.id).where(
        Ticket.kind == TicketKind.HELD_ORDER,
        Ticket.created_at < _OVERDUE_CUTOFF,
        Ticket.status != TicketStatus.RESOLVED,
    )
    marked = select(Ticket.id).where(_flag_clause("overdue"))
    return Ticket.id.in_(held.union(marked))


def _where_parts(session: Session, actor: AgentRef, filt: TicketFilter, *, fuzzy: bool = False,
                 id_sets: bool = False) -> tuple:
    """The list's WHERE, and the search's sources of ticket ids (any one finds a ticket;
    kept apart so that each is read newest first through its own index). The overdue
    filter's cutoff is a parameter (``_clock_params``).

    Reads the database only for a ``fuzzy`` search (which words are near the typed ones)."""
    query = filterlang.parse(filt.search) if filt.search.strip() else None
    if query is not None and query.only_numbers:
        # "#N" is exactly that ticket, in any queue, view and status (docs/rules.md#ticket-jump).
        return ([Ticket.number.in_(query.numbers)], (), ()) if id_sets else ([Ticket.number.in_(query.numbers)], ())
    where = []
    if filt.view == "mine":
        where.append(Ticket.assignee_id == actor.id)
    elif filt.view == "unassigned":
        where.append(Ticket.assignee_id.is_(None))
    elif filt.view == "flagged":
        where.append(_flag_clause("flagged"))
    elif filt.view == REQUESTS_VIEW:
        # The extension requests the agent filed; decided ones stay in view (their outcome
        # matters to the requester), unless the filter asks for particular statuses.
        where.append(
            Ticket.extension_request_id.in_(
                select(ExtensionRequest.id).where(ExtensionRequest.requested_by_id == actor.id)
            )
        )
    elif filt.queue and (query is None or filt.search_in_queue) and (query is None or query.queue is None):
        # A search looks in every queue unless asked to stay (docs/rules.md#ticket-search).
        where.append(Ticket.queue == filt.queue)
    statuses = filt.statuses
    if query is not None and query.status is not None:
        wanted = set(query.status.values)
        statuses = tuple(s for s in ALL_STATUSES if (s in wanted) != query.status.negated)
    all_requests = filt.view == REQUESTS_VIEW and statuses == ACTIVE_STATUSES
    if tuple(sorted(statuses)) != tuple(sorted(ALL_STATUSES)) and not all_requests:
        where.append(Ticket.status.in_(statuses))
    if filt.priority is not None:
        where.append(Ticket.priority == filt.priority)
    if filt.assignee == "-":
        where.append(Ticket.assignee_id.is_(None))
    elif filt.assignee:
        where.append(Ticket.assignee_id.in_(select(Agent.id).where(Agent.login == filt.assignee)))
    if filt.flag == "overdue":
        where.append(_overdue_clause())
    elif filt.flag:
        where.append(_flag_clause(filt.flag))
    if query is not None:
        for term, column in ((query.queue, Ticket.queue), (query.priority, Ticket.priority)):
            if term is not None:
                cond = column.in_([getattr(v, "value", v) for v in term.values])
                where.append(~cond if term.negated else cond)
        if query.flag is not None:
            cond = or_(*(_flag_clause(f) for f in query.flag.values))
            where.append(~cond if query.flag.negated else cond)
        compiled = ticket_search.compile_query(session, query, actor.login, fuzzy=fuzzy)
        where.extend(compiled.clauses)
        if id_sets:  # (where, the sources, the same as bare id sets)
            return where, compiled.sources, compiled.id_sets
        return where, compiled.sources
    if id_sets:
        return where, (), ()
    return where, ()


def _fuzzy_may_help(filt: TicketFilter) -> bool:
    if not filt.search.strip():
        return False
    return ticket_search.has_words(filterlang.parse(filt.search))


def search_notes(session: Session, actor: AgentRef, filt: TicketFilter) -> tuple[str, ...]:
    """What the ``/`` line read differently, in German: bad parts, repaired typos."""
    return count_and_notes(session, actor, filt)[1]


def count_and_notes(session: Session, actor: AgentRef, filt: TicketFilter, *, now: dt.datetime | None = None,
                    policy: Policy | None = None, cap: int | None = None) -> tuple[int, tuple[str, ...]]:
    """``count`` and ``search_notes`` together, for the inbox's header: the exact count is
    read once and decides whether the typo-repaired one is read.

    ``cap``: a search is counted up to ``cap + 1`` matches only (``search_count_cap``); a
    total above ``cap`` then means "more than ``cap``" (docs/rules.md#ticket-search).
    """
    params = _clock_params(session, filt, now, policy)
    if cap is not None and search_order(filt):
        def counted(fuzzy: bool = False) -> int:
            return _capped_count(session, actor, filt, {**params, _COUNT_LIMIT.key: cap + 1}, fuzzy=fuzzy)
    else:
        def counted(fuzzy: bool = False) -> int:
            return _count(session, actor, filt, params, fuzzy=fuzzy)
    exact = counted()
    fuzzy = exact == 0 and _fuzzy_may_help(filt)
    total = counted(fuzzy=True) if fuzzy else exact
    if not filt.search.strip():
        return total, ()
    query = filterlang.parse(filt.search)
    if query.only_numbers:
        return total, ()
    return total, ticket_search.compile_query(session, query, actor.login, fuzzy=fuzzy).notes


def oldest_first(filt: TicketFilter) -> bool:
    """The contract queue shows the oldest first (docs/rules.md#held-age: held orders are about speed)."""
    return filt.view is None and filt.queue == Queue.CONTRACT


def search_order(filt: TicketFilter) -> bool:
    """Search results list newest first (docs/rules.md#ticket-search): the trigram index is
    read from the newest ticket back, so the first page costs the same for any word."""
    return bool(filt.search.strip())


def _mode(filt: TicketFilter) -> str:
    if search_order(filt):
        return "newest"
    return "oldest" if oldest_first(filt) else "inbox"


_KEY = tuple_(_KEY_PRIORITY, _KEY_CREATED, _KEY_ID)
_KEY_TIME_ID = tuple_(_KEY_CREATED, _KEY_ID)


def _after(mode: str):
    """Rows that come after the key (``_KEY_*`` parameters) in the list's order."""
    if mode == "newest":
        return Ticket.id < _KEY_ID
    if mode == "inbox":  # (priority, created_at, id) all descending
        return tuple_(Ticket.priority, Ticket.created_at, Ticket.id) < _KEY
    # priority descending, then (created_at, id) ascending
    return or_(
        Ticket.priority < _KEY_PRIORITY,
        and_(Ticket.priority == _KEY_PRIORITY, tuple_(Ticket.created_at, Ticket.id) > _KEY_TIME_ID),
    )


def _before(mode: str):
    """Rows that come before the key (``_KEY_*`` parameters) in the list's order."""
    if mode == "newest":
        return Ticket.id > _KEY_ID
    if mode == "inbox":
        return tuple_(Ticket.priority, Ticket.created_at, Ticket.id) > _KEY
    return or_(
        Ticket.priority > _KEY_PRIORITY,
        and_(Ticket.priority == _KEY_PRIORITY, tuple_(Ticket.created_at, Ticket.id) < _KEY_TIME_ID),
    )


def _list_order(mode: str, *, reverse: bool = False) -> tuple:
    """ORDER BY of the list (``reverse``: read backwards from a key)."""
    if mode == "newest":
        return (Ticket.id.asc(),) if reverse else (Ticket.id.desc(),)
    if mode == "oldest":
        cols = (Ticket.priority.desc(), Ticket.created_at.asc(), Ticket.id.asc())
        if reverse:
            cols = (Ticket.priority.asc(), Ticket.created_at.desc(), Ticket.id.desc())
        return cols
    direction = "asc" if reverse else "desc"
    return tuple(getattr(c, direction)() for c in (Ticket.priority, Ticket.created_at, Ticket.id))


def _with_overdue(rows: list[TicketRow], now: dt.datetime, policy: Policy) -> list[TicketRow]:
    """Held orders older than the policy's working hours get the (computed) flag "overdue"."""
    marked = []
    for row in rows:
        if (
            row.kind == TicketKind.HELD_ORDER
            and row.status != TicketStatus.RESOLVED
            and "overdue" not in row.flags
            and limits.is_overdue(row.created_at, now, policy)
        ):
            row = dataclasses.replace(row, flags=row.flags + ("overdue",))
        marked.append(row)
    return marked


def list_page(
    session: Session,
    actor: AgentRef,
    filt: TicketFilter,
    *,
    after: PageKey | None = None,
    before: PageKey | None = None,
    limit: int = 100,
    now: dt.datetime | None = None,
    policy: Policy | None = None,
) -> TicketPage:
    """One page of the list: the first, the one after ``after`` or before ``before``.

    With ``now`` and ``policy`` overdue held orders carry the flag "overdue". A search that
    finds nothing as typed is read again with its typos repaired (docs/rules.md#ticket-search).
    """
    page = _list_page(session, actor, filt, after=after, before=before, limit=limit, now=now, policy=policy)
    if not page.rows and _fuzzy_may_help(filt):
        page = _list_page(session, actor, filt, after=after, before=before, limit=limit, now=now, policy=policy,
                          fuzzy=True)
    return page


def _list_page(session, actor, filt, *, after, before, limit, now, policy, fuzzy: bool = False) -> TicketPage:
    direction = "before" if before is not None else "after" if after is not None else "first"
    stmt = _statement(session, actor, filt, direction, fuzzy,
                      lambda: _build_page_statement(session, actor, filt, direction, fuzzy=fuzzy))
    params = {_PAGE_LIMIT.key: limit + 1, **_clock_params(session, filt, now, policy)}
    key = before if before is not None else after
    if key is not None:
        params[_KEY_PRIORITY.key], params[_KEY_CREATED.key], params[_KEY_ID.key] = key
    rows = _rows(session, stmt, params)
    more = len(rows) > limit
    rows = rows[:limit]
    if now is not None and policy is not None:
        rows = _with_overdue(rows, now, policy)
    if before is not None:
        rows.reverse()
        return TicketPage(tuple(rows), has_before=more, has_after=True)
    return TicketPage(tuple(rows), has_before=after is not None, has_after=more)


# A list's statements (its pages, its count) are built once per (database kind, agent,
# filter, what) and then run with the page's key and size and the overdue cutoff as
# parameters: building one (the filter, the search compiled, SQLAlchemy's cache key of a
# new statement) cost more than running it.
_STATEMENTS: dict = {}
_STATEMENTS_MAX = 256
_statements_lock = threading.Lock()


def _statement(session: Session, actor: AgentRef, filt: TicketFilter, what: str, fuzzy: bool, build):
    """``build()``, or what it built before for the same list; ``what``: "first", "after",
    "before" (a page) or "count"."""
    if fuzzy:  # its words are the nearest ones the database holds now: built each time
        return build()
    cache_key = (session.get_bind().dialect.name, actor, filt, what)
    stmt = _STATEMENTS.get(cache_key)
    if stmt is None:
        stmt = build()
        with _statements_lock:
            if len(_STATEMENTS) >= _STATEMENTS_MAX:
                del _STATEMENTS[next(iter(_STATEMENTS))]  # the oldest
            _STATEMENTS[cache_key] = stmt
    return stmt


def _build_page_statement(session, actor, filt, direction: str, *, fuzzy: bool):
    """The first page (``direction`` "first"), the one after or before the key."""
    mode = _mode(filt)
    where, sources = _where_parts(session, actor, filt, fuzzy=fuzzy)
    if direction == "before":
        where.append(_before(mode))
    elif direction == "after":
        where.append(_after(mode))
    order = _list_order(mode, reverse=direction == "before")
    if not sources:
        return _BASE_SELECT.where(*where).order_by(*order).limit(_PAGE_LIMIT)
    # Each source read newest first with every other condition, a page's worth; the page
    # is the newest of those (docs/rules.md#ticket-search).
    branches = []
    for src in sources:
        own = src.selected_columns[0]  # the id as the source reads it (its index's order)
        sub = src.where(*where).order_by(own.asc() if direction == "before" else own.desc())
        branches.append(select(sub.limit(_PAGE_LIMIT).subquery().c.id))
    ids = union_all(*branches).subquery()
    return _BASE_SELECT.where(Ticket.id.in_(select(ids.c.id))).order_by(*order).limit(_PAGE_LIMIT)


def page_around(
    session: Session,
    actor: AgentRef,
    filt: TicketFilter,
    *,
    start: PageKey | None,
    limit: int = 100,
    now: dt.datetime | None = None,
    policy: Policy | None = None,
) -> TicketPage:
    """Re-read the page that starts at ``start`` (inclusive), for refreshes."""
    extra = {"now": now, "policy": policy}
    if start is None:
        return list_page(session, actor, filt, limit=limit, **extra)
    priority, created_at, ticket_id = start
    # The key just before ``start`` in the list's order, so ``start`` itself is included.
    step = -1 if _mode(filt) == "oldest" else 1
    page = list_page(session, actor, filt, after=(priority, created_at, ticket_id + step), limit=limit, **extra)
    if not page.rows:
        return list_page(session, actor, filt, limit=limit, **extra)
    return page


def count(session: Session, actor: AgentRef, filt: TicketFilter, *, now: dt.datetime | None = None,
          policy: Policy | None = None) -> int:
    """How many tickets ``filt`` lists (``now``/``policy``: the clock and policy of the
    computed flag "overdue"; by default the wall clock and the stored policy)."""
    params = _clock_params(session, filt, now, policy)
    n = _count(session, actor, filt, params)
    if n == 0 and _fuzzy_may_help(filt):
        n = _count(session, actor, filt, params, fuzzy=True)
    return n


def _count(session: Session, actor: AgentRef, filt: TicketFilter, params: dict, *, fuzzy: bool = False) -> int:
    stmt = _statement(session, actor, filt, "count", fuzzy,
                      lambda: select(func.count()).select_from(Ticket).where(*_where(session, actor, filt, fuzzy=fuzzy)))
    return int(session.execute(stmt, params).scalar_one())


def _capped_count(session: Session, actor: AgentRef, filt: TicketFilter, params: dict, *,
                  fuzzy: bool = False) -> int:
    """How many tickets ``filt`` lists, counted up to ``_COUNT_LIMIT`` (then: at least that many)."""
    stmt = _statement(session, actor, filt, "count-capped", fuzzy,
                      lambda: _build_capped_count(session, actor, filt, fuzzy=fuzzy))
    return int(session.execute(stmt, params).scalar_one())


def _build_capped_count(session, actor, filt, *, fuzzy: bool):
    # Each source read with every other condition, at most the cap's worth: when none of them
    # reaches it, their union is complete.
    where, sources, id_sets = _where_parts(session, actor, filt, fuzzy=fuzzy, id_sets=True)
    if not sources:
        ids = select(Ticket.id).where(*where).limit(_COUNT_LIMIT).subquery()
        return select(func.count()).select_from(ids)
    branches = []
    for src, id_set in zip(sources, id_sets):
        if where and id_set is not src and _is_sqlite(session):
            # SQLite, the text source: the list's conditions read from their index, each
            # ticket checked against the text index's ids (``+ 0``, as in ``_where``), beats
            # looking up the ticket of every match ("passwort", 384 active tickets of 4,114
            # matches: 7.3 → 3.0 ms). A customer's tickets are few: read as they are.
            branch = select(Ticket.id).where(*where, (Ticket.id + literal_column("0")).in_(id_set))
        else:
            branch = src.where(*where)
        branches.append(select(branch.limit(_COUNT_LIMIT).subquery().c.id))
    found = union(*branches).subquery()
    return select(func.count()).select_from(select(found.c.id).limit(_COUNT_LIMIT).subquery())


# Grouped by (status, queue), the order of ix_ticket_status_queue: an index-only scan of the
# active tickets. Grouped by queue alone, SQLite walks ix_ticket_inbox instead (every
# ticket, resolved ones too) to save the sort.
_ACTIVE_PER_STATUS_QUEUE = (
    select(Ticket.status, Ticket.queue, func.count())
    .where(Ticket.status.in_(ACTIVE_STATUSES))
    .group_by(Ticket.status, Ticket.queue)
)


def sidebar_counts(session: Session, actor: AgentRef) -> SidebarCounts:
    per_queue: dict[str, int] = {}
    for _status, queue, n in session.execute(_ACTIVE_PER_STATUS_QUEUE):
        per_queue[queue] = per_queue.get(queue, 0) + int(n)
    queues = {q.value: per_queue.get(q.value, 0) for q in Queue}
    views = {
        "mine": count(session, actor, TicketFilter(queue=None, view="mine")),
        "unassigned": count(session, actor, TicketFilter(queue=None, view="unassigned")),
        "flagged": count(session, actor, TicketFilter(queue=None, view="flagged")),
        # The agent's extension requests, decided ones too: the number the list shows
        # (docs/rules.md#ticket-triage; the list keeps decided requests in view).
        REQUESTS_VIEW: count(session, actor, TicketFilter(queue=None, view=REQUESTS_VIEW)),
    }
    return SidebarCounts(queues=queues, views=views)


def change_token(session: Session) -> ChangeToken:
    """Two index lookups: the newest change and the newest ticket/event."""
    last_update = session.execute(select(func.max(Ticket.updated_at))).scalar_one()
    last_id = session.execute(select(func.max(Ticket.id))).scalar_one()
    last_event = session.execute(select(func.max(TicketEvent.id))).scalar_one()
    if last_update is not None and last_update.tzinfo is None:
        last_update = last_update.replace(tzinfo=dt.timezone.utc)
    return ChangeToken(last_update, last_id, last_event)


def open_for_customer(session: Session, customer_id: uuid.UUID, *, limit: int) -> tuple[TicketRow, ...]:
    """A customer's not-resolved tickets in inbox order (most urgent, then newest)."""
    stmt = (
        _BASE_SELECT
        .where(Ticket.customer_id == customer_id, Ticket.status.in_(ACTIVE_STATUSES))
        .order_by(Ticket.priority.desc(), Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return tuple(_rows(session, stmt))


def get_row(session: Session, ticket_id: int) -> TicketRow:
    rows = _rows(session, _BASE_SELECT.where(Ticket.id == ticket_id))
    if not rows:
        raise NotFound(f"Ticket {ticket_id} gibt es nicht.")
    return rows[0]


def find_by_number(session: Session, number: int) -> TicketRow:
    rows = _rows(session, _BASE_SELECT.where(Ticket.number == number))
    if not rows:
        raise NotFound(f"Ticket #{number} gibt es nicht.")
    return rows[0]


# --------------------------------------------------------------------------- writing


def open_ticket(
    session: Session,
    actor: AgentRef,
    *,
    queue: str,
    subject: str,
    now: dt.datetime,
    body: str = "",
    kind: str = TicketKind.GENERAL,
    priority: int = Priority.NORMAL,
    customer_id: uuid.UUID | None = None,
    flags: tuple[str, ...] = (),
    order_id: int | None = None,
    extension_request_id: int | None = None,
    task_id: int | None = None,
    assignee_id: int | None = None,
) -> TicketRow:
    ticket_id = corerows.open_ticket(
        corerows.conn_of(session), actor, queue=queue, subject=subject, now=now, body=body, kind=kind,
        priority=priority, customer_id=customer_id, flags=flags, order_id=order_id,
        extension_request_id=extension_request_id, task_id=task_id, assignee_id=assignee_id,
    )
    return get_row(session, ticket_id)


def _describe_conflict(session: Session, seen: TicketRow, current: TicketRow) -> str:
    """'#1042 wurde inzwischen von lena geändert: Bearbeiter – → lena, Status neu → offen.'"""
    changes = []
    if seen.assignee_login != current.assignee_login:
        changes.append(f"Bearbeiter {seen.assignee_login or '–'} → {current.assignee_login or '–'}")
    if seen.status != current.status:
        changes.append(
            f"Status {texts.STATUS[TicketStatus(seen.status)]} → {texts.STATUS[TicketStatus(current.status)]}"
        )
    if seen.priority != current.priority:
        changes.append(
            f"Priorität {texts.PRIORITY[Priority(seen.priority)]} → {texts.PRIORITY[Priority(current.priority)]}"
        )
    if seen.flags != current.flags:
        changes.append("Markierungen geändert")
    if seen.subject != current.subject:
        changes.append("Betreff geändert")
    last = session.execute(
        select(Agent.login)
        .join(TicketEvent, TicketEvent.agent_id == Agent.id)
        .where(TicketEvent.ticket_id == current.id)
        .order_by(TicketEvent.id.desc())
        .limit(1)
    ).scalar()
    who = f" von {last}" if last else ""
    what = ": " + ", ".join(changes) if changes else ""
    return f"#{current.number} wurde inzwischen{who} geändert{what}."


def _require_queue(actor: AgentRef, row: TicketRow) -> None:
    if not may_work_queue(actor, row.queue):
        raise PermissionDenied(
            f"{actor.login} darf die Queue {texts.QUEUE[Queue(row.queue)]} nicht bearbeiten (#{row.number})."
        )


def _apply(
    session: Session,
    actor: AgentRef,
    seen: TicketRow,
    values: dict,
    *,
    action: str,
    events: list[TicketEvent],
    now: dt.datetime,
    extra_where: tuple = (),
) -> TicketRow:
    """The one conditional update every ticket change goes through."""
    if not bump(session, Ticket, seen.id, seen.version, *extra_where, **values, updated_at=now):
        current = get_row(session, seen.id)
        raise Conflict(_describe_conflict(session, seen, current), current)
    for event in events:
        event.ticket_id = seen.id
        event.agent_id = actor.id
        event.created_at = now
        session.add(event)
    old = {k: getattr(seen, k if k != "assignee_id" else "assignee_login", None) for k in values}
    audit.record(session, actor, action, "ticket", seen.number, old=old, new=values, now=now)
    return get_row(session, seen.id)


def claim(session: Session, actor: AgentRef, seen: TicketRow, *, now: dt.datetime) -> TicketRow:
    _require_queue(actor, seen)
    if seen.assignee_login == actor.login:
        raise InvalidInput(f"#{seen.number} ist dir schon zugewiesen.")
    if seen.assignee_login:
        raise Conflict(
            f"#{seen.number} ist schon {seen.assignee_login} zugewiesen; mit A neu zuweisen.", seen
        )
    values = {"assignee_id": actor.id}
    events = [{"kind": EventKind.CLAIM, "old": "", "new": actor.login}]
    if seen.status == TicketStatus.NEW:
        values["status"] = TicketStatus.OPEN
        events.append({"kind": EventKind.STATUS, "old": seen.status, "new": TicketStatus.OPEN})
    # The hot path of the desk (two agents racing for the same ticket), so it is kept to
    # three statements inside the write lock: the conditional UPDATE that reads the new
    # state back (RETURNING), the events in one executemany, and the audit entry (flushed
    # at commit). The same guarantees as _apply: version check, one winner, Conflict
    # naming who changed what.
    stmt = _CLAIM_OPEN if "status" in values else _CLAIM
    params = {"ticket_id": seen.id, "seen_version": seen.version, "assignee": actor.id, "now": now}
    # Plain Core on the session's connection: no ORM bookkeeping (identity-map sync).
    conn = session.connection()
    returned = conn.execute(stmt, params).first()
    if returned is None:
        current = get_row(session, seen.id)
        raise Conflict(_describe_conflict(session, seen, current), current)
    conn.execute(
        _INSERT_EVENTS,
        [{"ticket_id": seen.id, "agent_id": actor.id, "text": "", "created_at": now, **e} for e in events],
    )
    old = {"assignee_id": seen.assignee_login}
    if "status" in values:
        old["status"] = seen.status
    audit.record(session, actor, "ticket.claim", "ticket", seen.number, old=old, new=values, now=now)
    # The version matched, so every other ticket column is as ``seen`` read it; the customer
    # name comes with ``seen`` too (it is not part of the ticket and cannot change a claim).
    return dataclasses.replace(
        seen,
        status=returned.status,
        assignee_login=actor.login,
        flags=tuple(returned.flags.split()),
        updated_at=returned.updated_at,
        version=returned.version,
    )


def _claim_update(*, opens: bool):
    """Built once (building the statement costs more than running it): take the ticket if
    it is still unassigned and as seen; ``opens``: a new ticket becomes open."""
    values = {
        "assignee_id": bindparam("assignee"),
        "version": Ticket.version + 1,
        "updated_at": bindparam("now", type_=UTCDateTime()),
    }
    if opens:
        values["status"] = literal_column(f"'{TicketStatus.OPEN.value}'")
    return (
        update(Ticket)
        .where(
            Ticket.id == bindparam("ticket_id"),
            Ticket.version == bindparam("seen_version"),
            Ticket.assignee_id.is_(None),
        )
        .values(**values)
        .returning(Ticket.status, Ticket.flags, Ticket.updated_at, Ticket.version)
    )


_CLAIM = _claim_update(opens=False)
_CLAIM_OPEN = _claim_update(opens=True)
_INSERT_EVENTS = insert(TicketEvent.__table__)


def assign(
    session: Session, actor: AgentRef, seen: TicketRow, *, assignee_login: str | None, now: dt.datetime
) -> TicketRow:
    """Give the ticket to ``assignee_login`` (None: nobody)."""
    _require_queue(actor, seen)
    target_id = None
    if assignee_login:
        target = session.execute(select(Agent).where(Agent.login == assignee_login)).scalar()
        if target is None or assignee_login == "system":
            raise InvalidInput(f"Unbekannter Agent '{assignee_login}'.")
        if not target.active:
            raise InvalidInput(f"{assignee_login} ist deaktiviert und kann keine Tickets bekommen.")
        if not may_work_queue(to_ref(target), seen.queue):
            raise InvalidInput(
                f"{assignee_login} kann die Queue {texts.QUEUE[Queue(seen.queue)]} nicht bearbeiten."
            )
        target_id = target.id
    if (assignee_login or "") == seen.assignee_login:
        raise InvalidInput(f"#{seen.number} ist bereits {assignee_login or 'niemandem'} zugewiesen.")
    values = {"assignee_id": target_id}
    events = [TicketEvent(kind=EventKind.ASSIGN, old=seen.assignee_login, new=assignee_login or "")]
    if target_id is not None and seen.status == TicketStatus.NEW:
        values["status"] = TicketStatus.OPEN
        events.append(TicketEvent(kind=EventKind.STATUS, old=seen.status, new=TicketStatus.OPEN))
    return _apply(session, actor, seen, values, action="ticket.assign", events=events, now=now)


def set_status(
    session: Session, actor: AgentRef, seen: TicketRow, *, status: str, now: dt.datetime
) -> TicketRow:
    _require_queue(actor, seen)
    try:
        status = TicketStatus(status)
    except ValueError:
        raise InvalidInput(f"Unbekannter Status '{status}'.") from None
    if status == seen.status:
        raise InvalidInput(f"#{seen.number} ist bereits {texts.STATUS[status]}.")
    events = [TicketEvent(kind=EventKind.STATUS, old=seen.status, new=status)]
    return _apply(session, actor, seen, {"status": status}, action="ticket.status", events=events, now=now)


def set_priority(
    session: Session, actor: AgentRef, seen: TicketRow, *, priority: int, now: dt.datetime
) -> TicketRow:
    """Change the ticket's priority (version-checked, audited; docs/rules.md#ticket-triage)."""
    _require_queue(actor, seen)
    try:
        priority = Priority(int(priority))
    except (TypeError, ValueError):
        raise InvalidInput(f"Unbekannte Priorität '{priority}'.") from None
    if priority == seen.priority:
        raise InvalidInput(f"#{seen.number} hat bereits die Priorität {texts.PRIORITY[priority]}.")
    words = f"Priorität {texts.PRIORITY[Priority(seen.priority)]} → {texts.PRIORITY[priority]}"
    event = TicketEvent(kind=EventKind.PRIORITY, old=str(seen.priority), new=str(int(priority)), text=words)
    return _apply(
        session, actor, seen, {"priority": int(priority)}, action="ticket.priority", events=[event], now=now
    )


# Tickets that carry a decision belong to the queue whose roles decide it (held orders:
# contract processing; extension requests: the admin channel): they are not moved.
_MOVABLE_KINDS = (TicketKind.GENERAL,)


def move_to_queue(
    session: Session, actor: AgentRef, seen: TicketRow, *, queue: str, now: dt.datetime
) -> TicketRow:
    """Move the ticket to another queue (docs/rules.md#ticket-triage).

    The agent must be allowed to work the ticket's current queue; the target may be one
    the agent does not work (handing over is the point). An assignee who may not work the
    target queue is taken off the ticket in the same change.
    """
    _require_queue(actor, seen)
    try:
        target = Queue(queue)
    except ValueError:
        raise InvalidInput(f"Unbekannte Queue '{queue}'.") from None
    if target == seen.queue:
        raise InvalidInput(f"#{seen.number} ist bereits in der Queue {texts.QUEUE[target]}.")
    if seen.kind not in _MOVABLE_KINDS:
        raise InvalidInput(
            f"#{seen.number} ({texts.KIND[TicketKind(seen.kind)]}) gehört in die Queue "
            f"{texts.QUEUE[Queue(seen.queue)]} und wird nicht verschoben."
        )
    values: dict = {"queue": target.value}
    words = f"Queue {texts.QUEUE[Queue(seen.queue)]} → {texts.QUEUE[target]}"
    events = [TicketEvent(kind=EventKind.QUEUE, old=seen.queue, new=target.value, text=words)]
    if seen.assignee_login:
        assignee = session.execute(select(Agent).where(Agent.login == seen.assignee_login)).scalar()
        if assignee is None or not may_work_queue(to_ref(assignee), target):
            values["assignee_id"] = None
            events.append(TicketEvent(kind=EventKind.ASSIGN, old=seen.assignee_login, new=""))
    return _apply(session, actor, seen, values, action="ticket.queue", events=events, now=now)


def toggle_flag(session: Session, actor: AgentRef, seen: TicketRow, *, flag: str, now: dt.datetime) -> TicketRow:
    if flag not in FLAGS:
        raise InvalidInput(f"Unbekanntes Kennzeichen '{flag}'.")
    _require_queue(actor, seen)
    flags = list(seen.flags)
    if flag in flags:
        flags.remove(flag)
        change = ("", flag)
    else:
        flags.append(flag)
        change = (flag, "")
    event = TicketEvent(kind=EventKind.FLAG, old=change[1], new=change[0])
    return _apply(session, actor, seen, {"flags": " ".join(flags)}, action="ticket.flag", events=[event], now=now)


def flagged_of_customer(session: Session, customer_id: uuid.UUID, flag: str) -> list[tuple[int, int | None]]:
    """(ticket id, task id) of the customer's tickets that carry ``flag``."""
    rows = session.execute(
        select(Ticket.id, Ticket.task_id).where(Ticket.customer_id == customer_id, _flag_clause(flag))
    ).all()
    return [(ticket_id, task_id) for ticket_id, task_id in rows]


def drop_flag(session: Session, actor: AgentRef, ticket_id: int, *, flag: str, now: dt.datetime) -> TicketRow:
    """Take ``flag`` off a ticket because a decision elsewhere settled it (that decision
    checked its own permission: no queue check here). A flag change in the history."""
    seen = get_row(session, ticket_id)
    if flag not in seen.flags:
        return seen
    flags = [f for f in seen.flags if f != flag]
    event = TicketEvent(kind=EventKind.FLAG, old=flag, new="")
    return _apply(session, actor, seen, {"flags": " ".join(flags)}, action="ticket.flag", events=[event], now=now)


def add_note(session: Session, actor: AgentRef, ticket_id: int, *, text_: str, now: dt.datetime) -> TicketRow:
    """An internal note. Notes never conflict: they append to the history."""
    body = text_.strip()
    if not body:
        raise InvalidInput("Eine leere Notiz wird nicht gespeichert.")
    if len(body) > 10_000:
        raise InvalidInput("Die Notiz ist zu lang (höchstens 10.000 Zeichen).")
    row = get_row(session, ticket_id)
    if actor.is_system:
        raise PermissionDenied("Der System-Agent schreibt keine Notizen.")
    session.add(TicketEvent(ticket_id=ticket_id, agent_id=actor.id, kind=EventKind.NOTE, text=body, created_at=now))
    session.execute(update(Ticket).where(Ticket.id == ticket_id).values(updated_at=now))
    audit.record(session, actor, "ticket.note", "ticket", row.number, new=body, now=now)
    return get_row(session, ticket_id)


def resolve_with_note(session: Session, actor: AgentRef, ticket_id: int | None, *, note: str, now: dt.datetime) -> None:
    """Close a ticket a decision elsewhere settled (an order, an extension request): a note
    saying what was decided, then status resolved (both in the ticket's history).
    No ticket (``None``): nothing to do."""
    if ticket_id is None:
        return
    add_note(session, actor, ticket_id, text_=note, now=now)
    row = get_row(session, ticket_id)
    if row.status != TicketStatus.RESOLVED:
        set_status(session, actor, row, status=TicketStatus.RESOLVED, now=now)


# --------------------------------------------------------------------------- many at once


def bulk(
    session: Session,
    actor: AgentRef,
    seen_rows: list[TicketRow],
    action: str,
    *,
    now: dt.datetime,
    status: str | None = None,
    assignee_login: str | None = None,
    priority: int | None = None,
    queue: str | None = None,
) -> BulkResult:
    """Apply one action to every marked ticket in one transaction.

    A ticket someone else changed meanwhile (or one the agent may not touch) is left
    as it is and reported; the others change.
    """
    done: list[int] = []
    refused: list[str] = []
    for seen in seen_rows:
        try:
            if action == "claim":
                claim(session, actor, seen, now=now)
            elif action == "assign":
                assign(session, actor, seen, assignee_login=assignee_login, now=now)
            elif action == "status":
                set_status(session, actor, seen, status=status, now=now)
            elif action == "priority":
                set_priority(session, actor, seen, priority=priority, now=now)
            elif action == "queue":
                move_to_queue(session, actor, seen, queue=queue, now=now)
            else:
                raise InvalidInput(f"Unbekannte Aktion '{action}'.")
            done.append(seen.number)
        except (Conflict, PermissionDenied, InvalidInput) as exc:
            refused.append(exc.message)
    return BulkResult(tuple(done), tuple(refused))


__all__ = [
    "ACTIVE_STATUSES",
    "ALL_STATUSES",
    "BulkResult",
    "ChangeToken",
    "REQUESTS_VIEW",
    "SidebarCounts",
    "TicketFilter",
    "add_note",
    "assign",
    "bulk",
    "change_token",
    "claim",
    "count",
    "find_by_number",
    "get_row",
    "list_page",
    "oldest_first",
    "open_ticket",
    "page_around",
    "resolve_with_note",
    "count_and_notes",
    "search_notes",
    "move_to_queue",
    "set_priority",
    "set_status",
    "sidebar_counts",
    "toggle_flag",
]
