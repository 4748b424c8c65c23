"""Search and the ``/`` filter language on SQLite and PostgreSQL (docs/rules.md#ticket-search,
docs/rules.md#ticket-jump, docs/rules.md#filter-language)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from deskapp.services import customers, tickets
from deskapp.services.tickets import TicketFilter
from models.engine import read_session, write_session
from models.enums import Priority, Queue, TicketStatus


@pytest.fixture
def desk(engine, people, now):
    tom, kai = people["tom"], people["kai"]
    with write_session(engine) as s:
        moring = customers.create_customer(s, tom, name="Ivo Möring", now=now, credit_limit=Decimal("500"))
        other = customers.create_customer(s, tom, name="Conny Schuster", now=now, credit_limit=Decimal("500"))
        t = {
            "mail": tickets.open_ticket(s, tom, queue=Queue.SUPPORT, subject="Postfach voll", body="Speicher",
                                        customer_id=moring.id, now=now),
            "ssl": tickets.open_ticket(s, tom, queue=Queue.TECHNICAL, subject="SSL-Zertifikat läuft bald ab",
                                       body="Ablauf am Freitag", customer_id=moring.id, priority=Priority.HIGH,
                                       now=now),
            "upload": tickets.open_ticket(s, tom, queue=Queue.SUPPORT, subject="Übertragung abgebrochen",
                                          body="", customer_id=other.id, now=now),
            "spam": tickets.open_ticket(s, tom, queue=Queue.SUPPORT, subject="Postfach Werbung", body="spam",
                                        customer_id=other.id, now=now),
        }
        t["closed"] = tickets.set_status(s, tom, t["spam"], status=TicketStatus.RESOLVED, now=now)
        t["ssl"] = tickets.claim(s, kai, t["ssl"], now=now)
    return t


def found(engine, actor, search, **kw):
    with read_session(engine) as s:
        page = tickets.list_page(s, actor, TicketFilter(search=search, **kw), limit=1000)
        assert tickets.count(s, actor, TicketFilter(search=search, **kw)) == len(page.rows)
        assert tickets.count_and_notes(s, actor, TicketFilter(search=search, **kw))[0] == len(page.rows)
        # Counted up to a cap (search_count_cap): exact below it, cap + 1 ("more than") above.
        for cap in (1, 1000):
            capped = tickets.count_and_notes(s, actor, TicketFilter(search=search, **kw), cap=cap)[0]
            assert capped == min(len(page.rows), cap + 1)
        return {r.number for r in page.rows}


def notes(engine, actor, search):
    with read_session(engine) as s:
        return tickets.search_notes(s, actor, TicketFilter(search=search))


def test_hash_number_is_exactly_that_ticket_in_any_queue_view_and_status(engine, people, desk):
    tom = people["tom"]
    closed = desk["closed"].number
    # From the Support queue, the "mine" view, with open statuses only: still found.
    assert found(engine, tom, f"#{closed}") == {closed}
    assert found(engine, tom, f"#{desk['ssl'].number}", queue=Queue.SUPPORT) == {desk["ssl"].number}
    assert found(engine, tom, f"#{closed}", view="mine") == {closed}
    assert found(engine, tom, "#99999") == set()


def test_search_is_global_umlaut_free_and_tolerates_typos(engine, people, desk):
    tom = people["tom"]
    assert found(engine, tom, "Ubertragung") == {desk["upload"].number}
    assert found(engine, tom, "zertifikat") == {desk["ssl"].number}  # in Technik, searched from Support
    assert found(engine, tom, "Postfch") == {desk["mail"].number}
    assert any("postfach" in n for n in notes(engine, tom, "Postfch"))
    assert found(engine, tom, "moring") == {desk["mail"].number, desk["ssl"].number}  # customer name, folded
    assert found(engine, tom, "Postfach") == {desk["mail"].number}  # the closed one stays out
    assert found(engine, tom, "Postfach status:alle") == {desk["mail"].number, desk["closed"].number}


def test_a_capped_count_counts_a_ticket_found_twice_once(engine, people, desk):
    """„moring“ is the customer's name of two tickets, one of them also says it in its text:
    the text and the name find it both, the title counts it once."""
    tom = people["tom"]
    with write_session(engine) as s:
        tickets.open_ticket(s, tom, queue=Queue.SUPPORT, subject="Rückruf Möring", body="",
                            customer_id=desk["mail"].customer_id, now=desk["mail"].created_at)
    with read_session(engine) as s:
        for cap in (2, 3, 1000):
            total, _ = tickets.count_and_notes(s, tom, TicketFilter(search="moring"), cap=cap)
            assert total == min(3, cap + 1)
        # Without a search the list is counted in full, whatever the cap.
        assert tickets.count_and_notes(s, tom, TicketFilter(), cap=1)[0] == tickets.count(s, tom, TicketFilter())


def test_fields_negation_and_regex(engine, people, desk):
    tom = people["tom"]
    assert found(engine, tom, "kunde:moring status:!erledigt /ssl.*ablauf/ prio:hoch queue:technik agent:kai") == {
        desk["ssl"].number
    }
    assert found(engine, tom, "kunde:moring -zertifikat") == {desk["mail"].number}
    assert found(engine, tom, "queue:support status:alle !werbung") == {desk["mail"].number, desk["upload"].number}
    assert found(engine, tom, "/^postfach (voll|werbung)$/ status:alle") == set()  # subject + text: not anchored alone
    assert found(engine, tom, "/postfach.*(voll|werbung)/ status:alle") == {desk["mail"].number, desk["closed"].number}
    assert found(engine, tom, "agent:-") == {desk["mail"].number, desk["upload"].number}
    assert found(engine, tom, "agent:!kai queue:technik") == set()
    assert found(engine, tom, "prio:!hoch kunde:moring") == {desk["mail"].number}


def test_bad_parts_are_told_and_the_rest_applies(engine, people, desk):
    tom = people["tom"]
    assert found(engine, tom, "/[ab/ kunde:moring") == {desk["mail"].number, desk["ssl"].number}
    [note] = notes(engine, tom, "/[ab/ kunde:moring")
    assert note.startswith("Ungültiger regulärer Ausdruck")
