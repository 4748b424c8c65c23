"""Behaviour of ``deskapp.services.tickets`` on SQLite and PostgreSQL.

Listing (keyset paging, filters, views, search, counts, change token) and the triage
actions (claim, assign, status, flag, note, bulk) with their conflicts, permissions,
audit rows and refusals.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from deskapp.services import customers, ticket_detail, tickets
from deskapp.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from deskapp.services.tickets import ALL_STATUSES, TicketFilter
from models.engine import read_session, write_session
from models.enums import EventKind, Priority, Queue, TicketStatus
from models.tables import AuditLog, Counter, Ticket, TicketEvent

MINUTE = dt.timedelta(minutes=1)
EVERYTHING = TicketFilter(queue=None, statuses=ALL_STATUSES)


# --------------------------------------------------------------------------- helpers


def open_ticket(engine, actor, *, at, queue=Queue.SUPPORT, subject="Anfrage", **kw):
    with write_session(engine) as s:
        return tickets.open_ticket(s, actor, queue=queue, subject=subject, now=at, **kw)


def make_customer(engine, actor, name, now):
    with write_session(engine) as s:
        return customers.create_customer(s, actor, name=name, now=now, credit_limit=Decimal("500.00"))


def row(engine, ticket_id):
    with read_session(engine) as s:
        return tickets.get_row(s, ticket_id)


def page(engine, actor, filt=EVERYTHING, **kw):
    with read_session(engine) as s:
        return tickets.list_page(s, actor, filt, **kw)


def ids(engine, actor, filt):
    """Every id the filter selects, in list order (one big page)."""
    return [r.id for r in page(engine, actor, filt, limit=10_000).rows]


def audit_rows(engine, action=None):
    with read_session(engine) as s:
        stmt = select(*AuditLog.__table__.c).order_by(AuditLog.id)
        if action:
            stmt = stmt.where(AuditLog.action == action)
        return s.execute(stmt).all()


def snapshot(engine):
    """Everything a refused action must leave alone."""
    with read_session(engine) as s:
        tickets_state = s.execute(
            select(
                Ticket.id, Ticket.version, Ticket.status, Ticket.assignee_id, Ticket.flags, Ticket.updated_at
            ).order_by(Ticket.id)
        ).all()
        return (
            tickets_state,
            s.execute(select(func.count()).select_from(TicketEvent)).scalar_one(),
            s.execute(select(func.count()).select_from(AuditLog)).scalar_one(),
            s.execute(select(Counter.name, Counter.value).order_by(Counter.name)).all(),
        )


def events(engine, ticket_id):
    with read_session(engine) as s:
        return ticket_detail.detail(s, ticket_id).events


def list_order(rows):
    return sorted(rows, key=lambda r: (r.priority, r.created_at, r.id), reverse=True)


# --------------------------------------------------------------------------- keyset paging


@pytest.fixture
def many(engine, people, now):
    """45 support tickets: four priorities, created_at ties in threes (id breaks them)."""
    made = []
    for i in range(45):
        prio = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)[i % 4]
        made.append(
            open_ticket(engine, people["tom"], at=now - (i // 3) * MINUTE, priority=prio, subject=f"T{i}")
        )
    return made


def test_pages_forward_cover_everything_once_in_inbox_order(engine, people, many):
    expected = [r.id for r in list_order(many)]
    seen, pages, after = [], [], None
    while True:
        p = page(engine, people["tom"], TicketFilter(), after=after, limit=7)
        pages.append(p)
        seen.extend(r.id for r in p.rows)
        if not p.has_after:
            break
        after = p.rows[-1].key
    assert seen == expected
    assert len(seen) == len(set(seen)) == 45
    assert [len(p.rows) for p in pages] == [7] * 6 + [3]
    assert pages[0].has_before is False
    assert all(p.has_before for p in pages[1:])
    assert all(p.has_after for p in pages[:-1])


def test_pages_backward_give_the_same_pages(engine, people, many):
    forward, after = [], None
    while True:
        p = page(engine, people["tom"], TicketFilter(), after=after, limit=7)
        forward.append([r.id for r in p.rows])
        if not p.has_after:
            break
        after = p.rows[-1].key
    backward = []
    current = page(engine, people["tom"], TicketFilter(), after=after, limit=7)  # the last page
    backward.append([r.id for r in current.rows])
    while current.has_before:
        current = page(engine, people["tom"], TicketFilter(), before=current.rows[0].key, limit=7)
        backward.append([r.id for r in current.rows])
        assert current.has_after is True
    assert backward[::-1] == forward


def test_page_around_rereads_the_page_from_its_first_row(engine, people, many):
    first = page(engine, people["tom"], TicketFilter(), limit=10)
    second = page(engine, people["tom"], TicketFilter(), after=first.rows[-1].key, limit=10)
    with read_session(engine) as s:
        again = tickets.page_around(s, people["tom"], TicketFilter(), start=second.rows[0].key, limit=10)
        top = tickets.page_around(s, people["tom"], TicketFilter(), start=None, limit=10)
    assert [r.id for r in again.rows] == [r.id for r in second.rows]
    assert [r.id for r in top.rows] == [r.id for r in first.rows]


def test_paging_with_a_filter_skips_nothing(engine, people, many, now):
    with write_session(engine) as s:
        for r in many[::4]:
            tickets.set_status(s, people["tom"], r, status=TicketStatus.RESOLVED, now=now)
    filt = TicketFilter(statuses=(TicketStatus.RESOLVED,))
    expected = [r.id for r in list_order(many[::4])]
    seen, after = [], None
    while True:
        p = page(engine, people["tom"], filt, after=after, limit=4)
        seen.extend(r.id for r in p.rows)
        if not p.has_after:
            break
        after = p.rows[-1].key
    assert seen == expected
    # The default (active) inbox no longer shows them.
    assert set(ids(engine, people["tom"], TicketFilter())).isdisjoint(expected)


def test_deep_pages_match_the_full_ordering(engine, people, now):
    from seed.large import build_large

    build_large(engine, now=now, seed=7, customers=40, tickets=1_500)
    with read_session(engine) as s:
        everything = (
            s.execute(
                select(Ticket.id).order_by(Ticket.priority.desc(), Ticket.created_at.desc(), Ticket.id.desc())
            )
            .scalars()
            .all()
        )
    seen, after, pages = [], None, 0
    while True:
        p = page(engine, people["tom"], EVERYTHING, after=after, limit=50)
        pages += 1
        seen.extend(r.id for r in p.rows)
        if not p.has_after:
            break
        after = p.rows[-1].key
    assert pages == 30
    assert seen == list(everything)
    # Walking back from the deepest page lands on the same rows as walking forward.
    deepest = page(engine, people["tom"], EVERYTHING, after=(0, now, 0), limit=50)
    assert deepest.rows == ()
    p = page(engine, people["tom"], EVERYTHING, before=(0, now, 0), limit=50)
    assert [r.id for r in p.rows] == seen[-50:]
    p = page(engine, people["tom"], EVERYTHING, before=p.rows[0].key, limit=50)
    assert [r.id for r in p.rows] == seen[-100:-50]


# --------------------------------------------------------------------------- filters and views


@pytest.fixture
def board(engine, people, now):
    """A small inbox with one ticket per situation."""
    tom, lena, kai, sara = people["tom"], people["lena"], people["kai"], people["sara"]
    t = {}
    t["new"] = open_ticket(engine, tom, at=now - 9 * MINUTE, subject="Neu und offen")
    t["mine"] = open_ticket(engine, tom, at=now - 8 * MINUTE, subject="Von Tom", priority=Priority.HIGH)
    t["lenas"] = open_ticket(engine, tom, at=now - 7 * MINUTE, subject="Von Lena")
    t["done"] = open_ticket(engine, tom, at=now - 6 * MINUTE, subject="Erledigt")
    t["tech"] = open_ticket(
        engine, tom, at=now - 5 * MINUTE, subject="Server", queue=Queue.TECHNICAL, priority=Priority.URGENT
    )
    t["contract"] = open_ticket(engine, tom, at=now - 4 * MINUTE, subject="Limit", queue=Queue.CONTRACT)
    with write_session(engine) as s:
        t["mine"] = tickets.claim(s, tom, t["mine"], now=now)
        t["lenas"] = tickets.claim(s, lena, t["lenas"], now=now)
        t["lenas"] = tickets.set_status(s, lena, t["lenas"], status=TicketStatus.WAITING, now=now)
        t["done"] = tickets.set_status(s, tom, t["done"], status=TicketStatus.RESOLVED, now=now)
        t["tech"] = tickets.claim(s, kai, t["tech"], now=now)
        t["contract"] = tickets.toggle_flag(s, sara, t["contract"], flag="flagged", now=now)
        t["new"] = tickets.toggle_flag(s, tom, t["new"], flag="flagged", now=now)
    return t


def test_queue_filter_shows_active_tickets_of_that_queue(engine, people, board):
    tom = people["tom"]
    assert set(ids(engine, tom, TicketFilter())) == {board[k].id for k in ("new", "mine", "lenas")}
    assert ids(engine, tom, TicketFilter(queue=Queue.TECHNICAL)) == [board["tech"].id]
    assert ids(engine, tom, TicketFilter(queue=Queue.CONTRACT)) == [board["contract"].id]
    assert ids(engine, tom, TicketFilter(queue=Queue.ADMIN)) == []


def test_status_filter(engine, people, board):
    tom = people["tom"]
    assert ids(engine, tom, TicketFilter(statuses=(TicketStatus.RESOLVED,))) == [board["done"].id]
    assert ids(engine, tom, TicketFilter(statuses=(TicketStatus.WAITING,))) == [board["lenas"].id]
    assert set(ids(engine, tom, TicketFilter(statuses=ALL_STATUSES))) == {
        board[k].id for k in ("new", "mine", "lenas", "done")
    }
    assert set(ids(engine, tom, TicketFilter(statuses=(TicketStatus.NEW, TicketStatus.OPEN)))) == {
        board["new"].id,
        board["mine"].id,
    }


def test_priority_filter(engine, people, board):
    tom = people["tom"]
    assert ids(engine, tom, TicketFilter(priority=Priority.HIGH)) == [board["mine"].id]
    assert ids(engine, tom, TicketFilter(queue=None, priority=Priority.URGENT)) == [board["tech"].id]
    assert ids(engine, tom, TicketFilter(priority=Priority.LOW)) == []


def test_assignee_filter_by_login_and_dash_for_unassigned(engine, people, board):
    tom = people["tom"]
    assert ids(engine, tom, TicketFilter(assignee="tom")) == [board["mine"].id]
    assert ids(engine, tom, TicketFilter(assignee="lena")) == [board["lenas"].id]
    assert ids(engine, tom, TicketFilter(queue=None, assignee="kai")) == [board["tech"].id]
    assert ids(engine, tom, TicketFilter(assignee="-")) == [board["new"].id]
    assert set(ids(engine, tom, TicketFilter(queue=None, assignee="-"))) == {
        board["new"].id,
        board["contract"].id,
    }
    assert ids(engine, tom, TicketFilter(assignee="niemand-bekannt")) == []


def test_flag_filter(engine, people, board):
    tom = people["tom"]
    assert ids(engine, tom, TicketFilter(flag="flagged")) == [board["new"].id]
    assert set(ids(engine, tom, TicketFilter(queue=None, flag="flagged"))) == {
        board["new"].id,
        board["contract"].id,
    }
    assert ids(engine, tom, TicketFilter(queue=None, flag="conspicuous")) == []


def test_filters_combine(engine, people, board):
    tom = people["tom"]
    filt = TicketFilter(queue=None, statuses=ALL_STATUSES, assignee="-", flag="flagged")
    assert set(ids(engine, tom, filt)) == {board["new"].id, board["contract"].id}
    assert ids(engine, tom, TicketFilter(assignee="tom", priority=Priority.NORMAL)) == []


def test_views_cross_the_queues(engine, people, board):
    tom, kai = people["tom"], people["kai"]
    mine = TicketFilter(queue=Queue.SUPPORT, view="mine")  # the view wins over the queue
    assert ids(engine, tom, mine) == [board["mine"].id]
    assert ids(engine, kai, mine) == [board["tech"].id]
    assert set(ids(engine, tom, TicketFilter(queue=None, view="unassigned"))) == {
        board["new"].id,
        board["contract"].id,
    }
    assert set(ids(engine, tom, TicketFilter(queue=None, view="flagged"))) == {
        board["new"].id,
        board["contract"].id,
    }
    # A view still honours the status filter: resolved tickets are not "mine" by default.
    with write_session(engine) as s:
        tickets.set_status(s, tom, board["mine"], status=TicketStatus.RESOLVED, now=board["mine"].updated_at)
    assert ids(engine, tom, mine) == []
    assert ids(engine, tom, TicketFilter(queue=None, view="mine", statuses=ALL_STATUSES)) == [
        board["mine"].id
    ]


def test_count_matches_the_list(engine, people, board):
    tom = people["tom"]
    with read_session(engine) as s:
        for filt in (
            TicketFilter(),
            EVERYTHING,
            TicketFilter(queue=None, view="unassigned"),
            TicketFilter(assignee="-"),
            TicketFilter(statuses=(TicketStatus.RESOLVED,)),
        ):
            assert tickets.count(s, tom, filt) == len(ids(engine, tom, filt))


def test_sidebar_counts(engine, people, board):
    with read_session(engine) as s:
        counts = tickets.sidebar_counts(s, people["tom"])
        kais = tickets.sidebar_counts(s, people["kai"])
    assert counts.queues == {"support": 3, "contract": 1, "technical": 1, "admin": 0}
    assert counts.views == {"mine": 1, "unassigned": 2, "flagged": 2, "requests": 0}
    assert kais.views["mine"] == 1


def test_describe_names_the_narrowing_in_german():
    assert TicketFilter().describe() == ""
    text = TicketFilter(assignee="-", flag="flagged", search="Drucker", priority=Priority.HIGH).describe()
    assert "Bearbeiter: niemand" in text and "gemerkt" in text and "„Drucker“" in text and "hoch" in text


# --------------------------------------------------------------------------- search


@pytest.fixture
def searchable(engine, people, now):
    tom = people["tom"]
    mueller = make_customer(engine, tom, "Bäckerei Müller GmbH", now)
    oezdemir = make_customer(engine, tom, "Özdemir Consulting", now)
    t = {
        "printer": open_ticket(
            engine, tom, at=now, subject="Drucker streikt", body="Der Toner ist leer.", customer_id=mueller.id
        ),
        "upload": open_ticket(
            engine,
            tom,
            at=now,
            subject="Übertragung abgebrochen",
            body="Beim Hochladen bricht die Verbindung ab.",
            customer_id=oezdemir.id,
        ),
        "mail": open_ticket(
            engine,
            tom,
            at=now,
            subject="Postfach voll",
            body="Bitte Speicher erweitern.",
            customer_id=mueller.id,
        ),
        "other": open_ticket(engine, tom, at=now, subject="Rechnung unklar", body="Wer hat das bestellt?"),
    }
    return t, mueller, oezdemir


def found(engine, actor, query, **kw):
    return set(ids(engine, actor, TicketFilter(search=query, **kw)))


def test_search_by_ticket_number(engine, people, searchable):
    t, _, _ = searchable
    tom = people["tom"]
    n = t["upload"].number
    assert found(engine, tom, str(n)) == {t["upload"].id}
    assert found(engine, tom, f"#{n}") == {t["upload"].id}
    assert found(engine, tom, "#99999") == set()


def test_search_by_customer_name_any_case_and_umlauts(engine, people, searchable):
    t, _, _ = searchable
    tom = people["tom"]
    mueller_tickets = {t["printer"].id, t["mail"].id}
    assert found(engine, tom, "müller") == mueller_tickets
    assert found(engine, tom, "MÜLLER") == mueller_tickets
    assert found(engine, tom, "Bäckerei Müller") == mueller_tickets
    # Non-ASCII capitals fold on both backends (SQLite's own lower() would not).
    assert found(engine, tom, "özdemir") == {t["upload"].id}
    assert found(engine, tom, "Özdemir Consulting") == {t["upload"].id}


def test_search_by_customer_number_and_id(engine, people, searchable):
    t, mueller, oezdemir = searchable
    tom = people["tom"]
    assert found(engine, tom, mueller.number) == {t["printer"].id, t["mail"].id}
    assert found(engine, tom, oezdemir.number) == {t["upload"].id}
    assert found(engine, tom, str(oezdemir.id)) == {t["upload"].id}


def test_search_words_of_subject_and_body(engine, people, searchable):
    t, _, _ = searchable
    tom = people["tom"]
    assert found(engine, tom, "toner") == {t["printer"].id}  # body
    assert found(engine, tom, "Drucker") == {t["printer"].id}  # subject
    assert found(engine, tom, "druck") == {t["printer"].id}  # word prefix
    assert found(engine, tom, "drucker toner") == {t["printer"].id}  # all words, across fields
    assert found(engine, tom, "drucker verbindung") == set()
    assert found(engine, tom, "übertragung") == {t["upload"].id}
    assert found(engine, tom, "Verbindung") == {t["upload"].id}
    assert found(engine, tom, "kaffeemaschine") == set()


def test_search_respects_the_other_filters(engine, people, searchable, now):
    t, _, _ = searchable
    tom = people["tom"]
    tech = open_ticket(engine, tom, at=now, subject="Drucker im Serverraum", queue=Queue.TECHNICAL)
    # A search looks in every queue (docs/rules.md#ticket-search), or in the current one.
    assert found(engine, tom, "drucker") == {t["printer"].id, tech.id}
    assert found(engine, tom, "drucker", search_in_queue=True) == {t["printer"].id}
    with write_session(engine) as s:
        tickets.set_status(s, tom, t["printer"], status=TicketStatus.RESOLVED, now=now)
    assert found(engine, tom, "drucker", search_in_queue=True) == set()
    assert found(engine, tom, "drucker", search_in_queue=True, statuses=ALL_STATUSES) == {t["printer"].id}


def test_search_follows_changes_of_subject_and_body(engine, people, searchable, now):
    t, _, _ = searchable
    tom = people["tom"]
    with write_session(engine) as s:
        s.execute(
            update(Ticket)
            .where(Ticket.id == t["printer"].id)
            .values(subject="Monitor flackert", body="Das Bild zittert.", updated_at=now)
        )
    assert found(engine, tom, "toner") == set()
    assert found(engine, tom, "drucker") == set()
    assert found(engine, tom, "flackert") == {t["printer"].id}
    assert found(engine, tom, "zittert") == {t["printer"].id}
    # Changing only other columns keeps the index right, too.
    with write_session(engine) as s:
        tickets.claim(s, tom, row(engine, t["printer"].id), now=now)
    assert found(engine, tom, "flackert") == {t["printer"].id}


ODD_QUERIES = [
    "",
    "   ",
    "#",
    "_",
    "*",
    '"',
    "'",
    "AND",
    "OR",
    "NEAR(",
    "a:b",
    "!",
    "&",
    "|",
    "^",
    "²",
    "9" * 30,
]


def test_odd_search_input_never_fails(engine, people, searchable):
    for query in ODD_QUERIES:
        with read_session(engine) as s:
            listed = tickets.list_page(s, people["tom"], TicketFilter(search=query))
            assert tickets.count(s, people["tom"], TicketFilter(search=query)) == len(listed.rows), query


# --------------------------------------------------------------------------- change token


def test_change_token_moves_on_every_change(engine, people, now):
    tom, lena = people["tom"], people["lena"]

    def token():
        with read_session(engine) as s:
            return tickets.change_token(s)

    empty = token()
    t = open_ticket(engine, tom, at=now)
    after_new = token()
    assert after_new != empty
    assert token() == after_new  # reading changes nothing
    assert after_new.last_update.tzinfo is not None
    with write_session(engine) as s:
        tickets.claim(s, lena, t, now=now)  # same clock: the token must move anyway
    after_claim = token()
    assert after_claim != after_new
    with write_session(engine) as s:
        tickets.add_note(s, tom, t.id, text_="Kunde angerufen", now=now)
    after_note = token()
    assert after_note != after_claim
    open_ticket(engine, tom, at=now - dt.timedelta(days=1))  # older timestamp, still a change
    assert token() != after_note


# --------------------------------------------------------------------------- actions


def test_open_ticket_numbers_events_and_audit(engine, people, now):
    tom = people["tom"]
    a = open_ticket(engine, tom, at=now, subject="  Erstes  ")
    b = open_ticket(engine, tom, at=now, subject="Zweites", queue=Queue.TECHNICAL, priority=Priority.HIGH)
    assert (a.number, b.number) == (1, 2)
    assert (
        a.subject == "Erstes" and a.status == TicketStatus.NEW and a.assignee_login == "" and a.version == 1
    )
    assert a.created_at == now and a.created_at.tzinfo is not None
    assert [e.kind for e in events(engine, a.id)] == [EventKind.CREATED]
    rows = audit_rows(engine, "ticket.open")
    assert [(r.entity, r.entity_id, r.agent_login) for r in rows] == [
        ("ticket", "1", "tom"),
        ("ticket", "2", "tom"),
    ]
    assert json.loads(rows[1].new)["queue"] == "technical"


def test_claim(engine, people, now):
    t = open_ticket(engine, people["tom"], at=now)
    later = now + 5 * MINUTE
    with write_session(engine) as s:
        claimed = tickets.claim(s, people["lena"], t, now=later)
    assert claimed.assignee_login == "lena"
    assert claimed.status == TicketStatus.OPEN
    assert claimed.version == t.version + 1
    assert claimed.updated_at == later and claimed.created_at == now
    kinds = [(e.kind, e.agent_login, e.old, e.new) for e in events(engine, t.id)]
    assert kinds[1:] == [(EventKind.CLAIM, "lena", "", "lena"), (EventKind.STATUS, "lena", "new", "open")]
    [entry] = audit_rows(engine, "ticket.claim")
    assert (entry.agent_login, entry.entity_id, entry.at) == ("lena", str(t.number), later)
    assert json.loads(entry.new)["status"] == "open"


def test_claim_of_a_waiting_ticket_keeps_its_status(engine, people, now):
    t = open_ticket(engine, people["tom"], at=now)
    with write_session(engine) as s:
        t = tickets.set_status(s, people["tom"], t, status=TicketStatus.WAITING, now=now)
        t = tickets.claim(s, people["tom"], t, now=now)
    assert (t.status, t.assignee_login) == (TicketStatus.WAITING, "tom")


def test_claim_twice_is_refused(engine, people, now):
    t = open_ticket(engine, people["tom"], at=now)
    with write_session(engine) as s:
        t = tickets.claim(s, people["tom"], t, now=now)
    before = snapshot(engine)
    with pytest.raises(InvalidInput):
        with write_session(engine) as s:
            tickets.claim(s, people["tom"], t, now=now)
    with pytest.raises(Conflict) as exc:
        with write_session(engine) as s:
            tickets.claim(s, people["lena"], t, now=now)
    assert "tom" in exc.value.message
    assert snapshot(engine) == before


def test_assign_reassign_and_release(engine, people, now):
    tom = people["tom"]
    t = open_ticket(engine, tom, at=now)
    with write_session(engine) as s:
        t = tickets.assign(s, tom, t, assignee_login="lena", now=now)
        assert (t.assignee_login, t.status) == ("lena", TicketStatus.OPEN)
        t = tickets.assign(s, tom, t, assignee_login="rebekka", now=now)
        assert t.assignee_login == "rebekka"
        t = tickets.assign(s, tom, t, assignee_login=None, now=now)
        assert t.assignee_login == "" and t.status == TicketStatus.OPEN
    assigns = [(e.old, e.new) for e in events(engine, t.id) if e.kind == EventKind.ASSIGN]
    assert assigns == [("", "lena"), ("lena", "rebekka"), ("rebekka", "")]
    rows = audit_rows(engine, "ticket.assign")
    assert [json.loads(r.old)["assignee_id"] for r in rows] == ["", "lena", "rebekka"]
    assert len(rows) == 3 and all(r.agent_login == "tom" for r in rows)


@pytest.mark.parametrize("login", ["niemand", "system", "kai"])
def test_assign_to_someone_who_cannot_take_it_is_refused(engine, people, now, login):
    t = open_ticket(engine, people["tom"], at=now)
    before = snapshot(engine)
    with pytest.raises(InvalidInput):
        with write_session(engine) as s:
            tickets.assign(s, people["tom"], t, assignee_login=login, now=now)
    with pytest.raises(InvalidInput):  # already nobody's
        with write_session(engine) as s:
            tickets.assign(s, people["tom"], t, assignee_login=None, now=now)
    assert snapshot(engine) == before


def test_set_status(engine, people, now):
    tom = people["tom"]
    t = open_ticket(engine, tom, at=now)
    with write_session(engine) as s:
        for status in (TicketStatus.OPEN, TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.OPEN):
            t = tickets.set_status(s, tom, t, status=status, now=now)
            assert t.status == status
    statuses = [(e.old, e.new) for e in events(engine, t.id) if e.kind == EventKind.STATUS]
    assert statuses == [("new", "open"), ("open", "waiting"), ("waiting", "resolved"), ("resolved", "open")]
    rows = audit_rows(engine, "ticket.status")
    assert [(json.loads(r.old)["status"], json.loads(r.new)["status"]) for r in rows] == statuses
    assert t.version == 5


def test_toggle_flag(engine, people, now):
    tom = people["tom"]
    t = open_ticket(engine, tom, at=now, flags=("conspicuous",))
    with write_session(engine) as s:
        t = tickets.toggle_flag(s, tom, t, flag="flagged", now=now)
        assert t.flags == ("conspicuous", "flagged")
        t = tickets.toggle_flag(s, tom, t, flag="conspicuous", now=now)
        assert t.flags == ("flagged",)
        t = tickets.toggle_flag(s, tom, t, flag="flagged", now=now)
        assert t.flags == ()
    flag_events = [(e.old, e.new) for e in events(engine, t.id) if e.kind == EventKind.FLAG]
    assert flag_events == [("", "flagged"), ("conspicuous", ""), ("flagged", "")]
    assert len(audit_rows(engine, "ticket.flag")) == 3


@pytest.mark.parametrize("login", ["kai", "system"])
def test_toggle_flag_needs_the_queue_role(engine, people, now, login):
    t = open_ticket(engine, people["tom"], at=now)
    with pytest.raises(PermissionDenied):
        with write_session(engine) as s:
            tickets.toggle_flag(s, people[login], t, flag="flagged", now=now)
    assert audit_rows(engine, "ticket.flag") == []


def test_add_note_by_anyone_never_conflicts(engine, people, now):
    t = open_ticket(engine, people["tom"], at=now)
    later = now + MINUTE
    with write_session(engine) as s:
        after = tickets.add_note(s, people["kai"], t.id, text_="  Server neu gestartet.  ", now=later)
        tickets.add_note(s, people["isabel"], t.id, text_="Bitte beobachten.", now=later)
    assert after.version == t.version  # a note is no edit: a stale row stays good for a claim
    assert after.updated_at == later
    notes = [(e.agent_login, e.text) for e in events(engine, t.id) if e.kind == EventKind.NOTE]
    assert notes == [("kai", "Server neu gestartet."), ("isabel", "Bitte beobachten.")]
    assert [(r.agent_login, r.new) for r in audit_rows(engine, "ticket.note")] == notes
    with write_session(engine) as s:
        assert tickets.claim(s, people["tom"], t, now=later).assignee_login == "tom"


def test_detail_tells_the_story(engine, people, now):
    tom = people["tom"]
    c = make_customer(engine, tom, "Ivo Moring", now)
    t = open_ticket(engine, tom, at=now, subject="Budget", body="Bitte verlängern.", customer_id=c.id)
    with write_session(engine) as s:
        t = tickets.claim(s, tom, t, now=now + MINUTE)
        tickets.add_note(s, tom, t.id, text_="Rückruf vereinbart", now=now + 2 * MINUTE)
    with read_session(engine) as s:
        d = ticket_detail.detail(s, t.id)
        by_number = tickets.find_by_number(s, t.number)
    assert d.body == "Bitte verlängern." and d.customer_number == c.number
    assert d.row.customer_name == "Ivo Moring" and by_number.id == t.id
    assert [e.kind for e in d.events] == ["created", "claim", "status", "note"]


def test_unknown_ticket(engine, people):
    with read_session(engine) as s:
        with pytest.raises(NotFound):
            tickets.get_row(s, 12345)
        with pytest.raises(NotFound):
            tickets.find_by_number(s, 12345)
    with pytest.raises(NotFound):
        with write_session(engine) as s:
            tickets.add_note(s, people["tom"], 12345, text_="Hallo", now=dt.datetime.now(dt.timezone.utc))


# --------------------------------------------------------------------------- conflicts


def test_stale_claim_is_a_conflict_naming_who_and_what(engine, people, now):
    t = open_ticket(engine, people["tom"], at=now)
    seen_by_tom = row(engine, t.id)
    with write_session(engine) as s:
        tickets.claim(s, people["lena"], row(engine, t.id), now=now)
    before = snapshot(engine)
    with pytest.raises(Conflict) as exc:
        with write_session(engine) as s:
            tickets.claim(s, people["tom"], seen_by_tom, now=now + MINUTE)
    message = exc.value.message
    assert f"#{t.number}" in message and "von lena" in message
    assert "Bearbeiter – → lena" in message and "Status neu → offen" in message
    assert exc.value.current.assignee_login == "lena"
    assert exc.value.current.version == seen_by_tom.version + 1
    assert snapshot(engine) == before  # nothing of Tom's attempt was written
    assert row(engine, t.id).assignee_login == "lena"


def test_stale_status_change_is_a_conflict(engine, people, now):
    t = open_ticket(engine, people["tom"], at=now)
    with write_session(engine) as s:
        t = tickets.claim(s, people["tom"], t, now=now)
    with write_session(engine) as s:
        tickets.set_status(s, people["lena"], t, status=TicketStatus.WAITING, now=now)
    before = snapshot(engine)
    with pytest.raises(Conflict) as exc:
        with write_session(engine) as s:
            tickets.set_status(s, people["tom"], t, status=TicketStatus.RESOLVED, now=now)
    assert "von lena" in exc.value.message and "Status offen → wartend" in exc.value.message
    assert exc.value.current.status == TicketStatus.WAITING
    assert snapshot(engine) == before


@pytest.mark.parametrize("action", ["assign", "flag", "status"])
def test_every_edit_checks_the_seen_version(engine, people, now, action):
    tom, lena = people["tom"], people["lena"]
    t = open_ticket(engine, tom, at=now)
    with write_session(engine) as s:
        tickets.toggle_flag(s, lena, t, flag="flagged", now=now)
    before = snapshot(engine)
    with pytest.raises(Conflict) as exc:
        with write_session(engine) as s:
            if action == "assign":
                tickets.assign(s, tom, t, assignee_login="rebekka", now=now)
            elif action == "flag":
                tickets.toggle_flag(s, tom, t, flag="flagged", now=now)
            else:
                tickets.set_status(s, tom, t, status=TicketStatus.WAITING, now=now)
    assert "Markierungen geändert" in exc.value.message and "von lena" in exc.value.message
    assert exc.value.current.flags == ("flagged",)
    assert snapshot(engine) == before


def test_retry_with_the_current_row_succeeds(engine, people, now):
    t = open_ticket(engine, people["tom"], at=now)
    with write_session(engine) as s:
        tickets.set_status(s, people["lena"], row(engine, t.id), status=TicketStatus.WAITING, now=now)
    with pytest.raises(Conflict) as exc:
        with write_session(engine) as s:
            tickets.claim(s, people["tom"], t, now=now)
    with write_session(engine) as s:
        claimed = tickets.claim(s, people["tom"], exc.value.current, now=now)
    assert (claimed.assignee_login, claimed.status) == ("tom", TicketStatus.WAITING)


# --------------------------------------------------------------------------- permissions


def test_technician_may_not_claim_a_support_ticket(engine, people, now):
    t = open_ticket(engine, people["tom"], at=now)
    before = snapshot(engine)
    with pytest.raises(PermissionDenied) as exc:
        with write_session(engine) as s:
            tickets.claim(s, people["kai"], t, now=now)
    assert "kai" in exc.value.message and "Support" in exc.value.message
    for action in (
        lambda s: tickets.set_status(s, people["kai"], t, status=TicketStatus.OPEN, now=now),
        lambda s: tickets.assign(s, people["kai"], t, assignee_login="tom", now=now),
    ):
        with pytest.raises(PermissionDenied):
            with write_session(engine) as s:
                action(s)
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    "login, queue, allowed",
    [
        ("tom", Queue.SUPPORT, True),
        ("tom", Queue.TECHNICAL, False),
        ("tom", Queue.CONTRACT, False),
        ("sara", Queue.SUPPORT, True),
        ("sara", Queue.CONTRACT, True),
        ("kai", Queue.TECHNICAL, True),
        ("kai", Queue.ADMIN, False),
        ("rebekka", Queue.ADMIN, True),
        ("isabel", Queue.CONTRACT, True),  # admin
        ("system", Queue.SUPPORT, False),
    ],
)
def test_who_may_claim_which_queue(engine, people, now, login, queue, allowed):
    t = open_ticket(engine, people["tom"], at=now, queue=queue)
    if allowed:
        with write_session(engine) as s:
            assert tickets.claim(s, people[login], t, now=now).assignee_login == login
    else:
        with pytest.raises(PermissionDenied):
            with write_session(engine) as s:
                tickets.claim(s, people[login], t, now=now)
        assert row(engine, t.id).assignee_login == ""


def test_the_system_agent_writes_no_notes(engine, people, now):
    t = open_ticket(engine, people["tom"], at=now)
    before = snapshot(engine)
    with pytest.raises(PermissionDenied):
        with write_session(engine) as s:
            tickets.add_note(s, people["system"], t.id, text_="automatisch", now=now)
    assert snapshot(engine) == before


# --------------------------------------------------------------------------- bulk


def test_bulk_claim_reports_the_one_conflict_and_changes_the_rest(engine, people, now):
    tom, lena = people["tom"], people["lena"]
    marked = [open_ticket(engine, tom, at=now - i * MINUTE, subject=f"B{i}") for i in range(5)]
    with write_session(engine) as s:
        tickets.claim(s, lena, row(engine, marked[2].id), now=now)
    with write_session(engine) as s:
        result = tickets.bulk(s, tom, marked, "claim", now=now + MINUTE)
    assert result.done == tuple(m.number for i, m in enumerate(marked) if i != 2)
    assert len(result.refused) == 1 and f"#{marked[2].number}" in result.refused[0]
    assert "lena" in result.refused[0]
    assigned = [row(engine, m.id).assignee_login for m in marked]
    assert assigned == ["tom", "tom", "lena", "tom", "tom"]
    claims = audit_rows(engine, "ticket.claim")
    assert [(r.agent_login, r.entity_id) for r in claims] == [("lena", str(marked[2].number))] + [
        ("tom", str(m.number)) for i, m in enumerate(marked) if i != 2
    ]


def test_bulk_reports_tickets_the_agent_may_not_touch(engine, people, now):
    tom = people["tom"]
    support = open_ticket(engine, tom, at=now)
    tech = open_ticket(engine, tom, at=now, queue=Queue.TECHNICAL)
    with write_session(engine) as s:
        result = tickets.bulk(s, tom, [support, tech], "status", status=TicketStatus.WAITING, now=now)
    assert result.done == (support.number,)
    assert len(result.refused) == 1 and f"#{tech.number}" in result.refused[0]
    assert row(engine, support.id).status == TicketStatus.WAITING
    assert row(engine, tech.id).status == TicketStatus.NEW


def test_bulk_assign_and_bad_actions(engine, people, now):
    tom = people["tom"]
    marked = [open_ticket(engine, tom, at=now, subject=f"B{i}") for i in range(3)]
    with write_session(engine) as s:
        result = tickets.bulk(s, tom, marked, "assign", assignee_login="lena", now=now)
    assert result.done == tuple(m.number for m in marked) and result.refused == ()
    assert {row(engine, m.id).assignee_login for m in marked} == {"lena"}
    assert len(audit_rows(engine, "ticket.assign")) == 3
    fresh = [row(engine, m.id) for m in marked]
    before = snapshot(engine)
    with write_session(engine) as s:
        bad = tickets.bulk(s, tom, fresh, "explode", now=now)
        no_status = tickets.bulk(s, tom, fresh, "status", status="fertig", now=now)
    assert bad.done == () and len(bad.refused) == 3
    assert no_status.done == () and len(no_status.refused) == 3
    assert snapshot(engine) == before


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "kwargs",
    [
        {"subject": ""},
        {"subject": "   "},
        {"queue": "helpdesk"},
        {"kind": "spam"},
        {"priority": 9},
    ],
)
def test_open_ticket_refuses_bad_input_and_writes_nothing(engine, people, now, kwargs):
    before = snapshot(engine)
    with pytest.raises(InvalidInput):
        open_ticket(engine, people["tom"], at=now, **kwargs)
    assert snapshot(engine) == before
    # No number was used up: the next ticket is number 1.
    assert open_ticket(engine, people["tom"], at=now).number == 1


@pytest.mark.parametrize(
    "action",
    [
        lambda s, p, t, now: tickets.set_status(s, p["tom"], t, status="fertig", now=now),
        lambda s, p, t, now: tickets.set_status(s, p["tom"], t, status=TicketStatus.NEW, now=now),
        lambda s, p, t, now: tickets.toggle_flag(s, p["tom"], t, flag="wichtig", now=now),
        lambda s, p, t, now: tickets.add_note(s, p["tom"], t.id, text_="   ", now=now),
        lambda s, p, t, now: tickets.add_note(s, p["tom"], t.id, text_="x" * 10_001, now=now),
    ],
    ids=["unknown-status", "same-status", "unknown-flag", "empty-note", "long-note"],
)
def test_actions_refuse_bad_input_and_write_nothing(engine, people, now, action):
    t = open_ticket(engine, people["tom"], at=now)
    before = snapshot(engine)
    with pytest.raises(InvalidInput):
        with write_session(engine) as s:
            action(s, people, t, now)
    assert snapshot(engine) == before


def test_a_refusal_rolls_back_the_whole_transaction(engine, people, now):
    """A service change and a later refusal in the same transaction: neither lands."""
    t = open_ticket(engine, people["tom"], at=now)
    before = snapshot(engine)
    with pytest.raises(InvalidInput):
        with write_session(engine) as s:
            tickets.claim(s, people["tom"], t, now=now)
            tickets.add_note(s, people["tom"], t.id, text_="", now=now)
    assert snapshot(engine) == before


def test_overdue_filter_finds_held_orders_past_the_working_hours_and_pages(engine, people, now):
    """docs/rules.md#held-overdue: the filter "überfällig" lists exactly the held orders the
    list marks overdue, in SQL (so it pages and counts like every other filter)."""
    from deskapp.services import orders
    from deskapp.services.registry import SimulatedRegistry
    from deskapp.settings import Policy

    policy = Policy()  # 4 working hours, 8–18 Mon–Fri in Berlin; now is Tue 09:30 Berlin
    shop = people["system"]
    customer = make_customer(engine, people["isabel"], "Held GmbH", now - dt.timedelta(days=400))

    def hold(at):
        with write_session(engine) as s:
            return orders.place_order(s, shop, customer_id=customer.id, item="gross.de", amount=Decimal("900"),
                                      now=at, policy=policy, registry=SimulatedRegistry()).ticket_number

    yesterday_morning = hold(now - dt.timedelta(days=1))  # Mon 09:30: 10 working hours
    monday_1500 = hold(dt.datetime(2026, 3, 9, 14, 0, tzinfo=dt.timezone.utc))  # 3 + 1.5 h > 4 h
    monday_1600 = hold(dt.datetime(2026, 3, 9, 15, 0, tzinfo=dt.timezone.utc))  # 2 + 1.5 h: not yet
    just_now = hold(now - dt.timedelta(minutes=10))
    overdue = TicketFilter(queue=None, statuses=ALL_STATUSES, flag="overdue")

    listed = page(engine, people["sara"], overdue, now=now, policy=policy, limit=100).rows
    assert {r.number for r in listed} == {yesterday_morning, monday_1500}
    assert all("overdue" in r.flags for r in listed)
    # the same tickets the unfiltered list marks overdue
    everything = page(engine, people["sara"], EVERYTHING, now=now, policy=policy, limit=100).rows
    assert {r.number for r in everything if "overdue" in r.flags} == {yesterday_morning, monday_1500}
    assert monday_1600 not in {r.number for r in listed} and just_now not in {r.number for r in listed}
    with read_session(engine) as s:
        assert tickets.count(s, people["sara"], overdue, now=now, policy=policy) == 2
    # paged one by one (keyset), nothing skipped
    first = page(engine, people["sara"], overdue, now=now, policy=policy, limit=1)
    second = page(engine, people["sara"], overdue, now=now, policy=policy, limit=1, after=first.rows[0].key)
    assert {first.rows[0].number, second.rows[0].number} == {yesterday_morning, monday_1500}
    assert not second.has_after
    # an hour later the 16:00 order is overdue too
    later = now + dt.timedelta(hours=1)
    assert len(page(engine, people["sara"], overdue, now=later, policy=policy).rows) == 3
