"""The inbox as an agent uses it: by keyboard, through Textual's Pilot."""

from __future__ import annotations

from sqlalchemy import select

from deskapp.services import tickets
from models.engine import read_session, write_session
from models.tables import AuditLog, Ticket
from screens.inbox import InboxScreen
from tests.support.deskdata import NOW
from tests.support.ui import make_app, settle

PAGE = 20


def inbox(app) -> InboxScreen:
    screen = app.screen
    assert isinstance(screen, InboxScreen), screen
    return screen


def visible_numbers(app) -> list[int]:
    return [r.number for r in inbox(app).page.rows]


def current(app):
    return inbox(app)._current_row()


def title(app) -> str:
    return str(inbox(app).query_one("#list-title").render())


def detail_text(app) -> str:
    return inbox(app).query_one("#detail").text  # its whole text (Tab into the pane scrolls it)


async def test_inbox_opens_on_support_queue_with_first_page_and_counts(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = inbox(app)
        assert len(screen.page.rows) == PAGE
        assert "Support" in title(app) and "1–20 von 45" in title(app)
        # Urgent-first: the high-priority tickets lead the list.
        priorities = [r.priority for r in screen.page.rows]
        assert priorities == sorted(priorities, reverse=True)
        sidebar = [str(o.prompt) for o in screen.query_one("#sources").options]
        counts = {s.split()[0]: s.split()[-1] for s in sidebar}
        assert counts["Support"] == "45"
        assert counts["Vertragsbearbeitung"] == "1"
        assert counts["Nicht"] == "48"  # every ticket is unassigned so far
        assert current(app).subject in detail_text(app)


async def test_moving_with_j_k_and_across_pages(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        first = current(app)
        await pilot.press("j", "j")
        await settle(pilot)
        third = current(app)
        assert third.number == inbox(app).page.rows[2].number
        assert third.subject in detail_text(app)
        await pilot.press("k")
        await settle(pilot)
        assert current(app).number == inbox(app).page.rows[1].number
        # Walk past the end of the page: the next page is fetched from the database.
        for _ in range(PAGE - 1):
            await pilot.press("down")
            await settle(pilot)
        assert "21–40 von 45" in title(app)
        assert current(app).number == inbox(app).page.rows[0].number
        assert first.number not in visible_numbers(app)
        await pilot.press("up")
        await settle(pilot)
        assert "1–20 von 45" in title(app)
        assert current(app).number == inbox(app).page.rows[-1].number


async def test_search_by_customer_and_clear_with_escape(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press(*"Moring")
        await pilot.press("enter")
        await settle(pilot)
        rows = inbox(app).page.rows
        assert rows and all(r.customer_name == "Ivo Moring" for r in rows)
        assert "Suche" in title(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "Suche" not in title(app)
        assert "von 45" in title(app)


async def test_search_words_of_the_body(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"Vorgang 17", "enter")
        await settle(pilot)
        assert [r.subject for r in inbox(app).page.rows] == [
            s for s in [r.subject for r in inbox(app).page.rows] if "(17)" in s
        ]
        assert len(inbox(app).page.rows) == 1


async def test_filter_by_priority(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        from textual.widgets import Select

        dialog = app.screen
        dialog.query_one("#priority", Select).value = 3
        await pilot.press("ctrl+s")
        await settle(pilot)
        rows = inbox(app).page.rows
        assert rows and all(r.priority == 3 for r in rows)
        assert "Priorität: hoch" in title(app)
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "Priorität" not in title(app)


async def test_claim_shows_me_as_assignee_and_moves_to_mine(desk):
    engine, data = desk
    tom = data["people"]["tom"]
    app = make_app(engine, tom)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        target = current(app)
        await pilot.press("c")
        await settle(pilot)
        row = next(r for r in inbox(app).page.rows if r.id == target.id)
        assert row.assignee_login == "tom" and row.status == "open"
        await pilot.press("5")  # the "Meine" view
        await settle(pilot)
        assert visible_numbers(app) == [target.number]


async def test_claim_race_tells_who_was_first_and_shows_new_state(desk):
    engine, data = desk
    tom, lena = data["people"]["tom"], data["people"]["lena"]
    app = make_app(engine, tom)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        target = current(app)
        # Lena, at another desk, claims the same ticket first.
        with write_session(engine) as s:
            tickets.claim(s, lena, target, now=NOW)
        await pilot.press("c")
        await settle(pilot)
        messages = [n.message for n in app.shown_notices]
        assert any("lena" in m and f"#{target.number}" in m for m in messages), messages
        row = next(r for r in inbox(app).page.rows if r.id == target.id)
        assert row.assignee_login == "lena"
    with read_session(engine) as s:
        ticket = s.get(Ticket, target.id)
        assert ticket.assignee_id == lena.id


async def test_bulk_status_change_on_marked_tickets(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        first, second = inbox(app).page.rows[0], inbox(app).page.rows[1]
        await pilot.press("space", "space")
        await settle(pilot)
        assert "2 markiert" in title(app)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("down", "down", "down", "enter")  # neu, offen, wartend, erledigt
        await settle(pilot)
        numbers = visible_numbers(app)
        assert first.number not in numbers and second.number not in numbers
        assert "von 43" in title(app)
        assert "markiert" not in title(app)
    with read_session(engine) as s:
        statuses = s.execute(
            select(Ticket.status).where(Ticket.id.in_([first.id, second.id]))
        ).scalars().all()
        assert statuses == ["resolved", "resolved"]
        audited = s.execute(select(AuditLog).where(AuditLog.action == "ticket.status")).scalars().all()
        assert len(audited) == 2


async def test_note_is_added_to_history(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"Kunde zurückrufen")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Notiz: Kunde zurückrufen" in detail_text(app)


async def test_empty_note_is_refused_in_the_dialog(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "leere Notiz" in str(app.screen.query_one("#error").render())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)


async def test_technician_cannot_claim_support_ticket(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["kai"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        target = current(app)
        await pilot.press("c")
        await settle(pilot)
        assert any("kai darf" in n.message for n in app.shown_notices)
    with read_session(engine) as s:
        assert s.get(Ticket, target.id).assignee_id is None


async def test_inbox_follows_changes_by_others_without_refresh(desk):
    engine, data = desk
    tom, lena = data["people"]["tom"], data["people"]["lena"]
    app = make_app(engine, tom, poll=True, inbox_poll_seconds=0.3)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("j", "j")
        await settle(pilot)
        here = current(app)
        other = inbox(app).page.rows[0]
        with write_session(engine) as s:
            tickets.claim(s, lena, other, now=NOW)
        for _ in range(30):
            await pilot.pause(0.1)
            rows = {r.id: r for r in inbox(app).page.rows}
            if rows[other.id].assignee_login == "lena":
                break
        await settle(pilot)
        assert {r.id: r for r in inbox(app).page.rows}[other.id].assignee_login == "lena"
        assert current(app).id == here.id  # the cursor stayed where the agent was


async def test_help_lists_the_keys(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        text = str(app.screen.query_one("Static").render())
        for words in ("Übernehmen", "Zuweisen", "Suchen", "Filter", "Markieren", "Kunde suchen"):
            assert words in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)


async def test_queue_switch_by_number_key(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert "Vertragsbearbeitung" in title(app)
        assert [r.queue for r in inbox(app).page.rows] == ["contract"]


async def test_closing_a_ticket_keeps_the_cursor_in_place(desk):
    """C closes the ticket; it leaves the list and the cursor lands on the next one
    (as in mutt), not on the top of the page."""
    engine, data = desk
    tom = data["people"]["tom"]
    app = make_app(engine, tom)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in range(3):
            await pilot.press("j")
        await settle(pilot)
        before = visible_numbers(app)
        closed = current(app)
        assert closed.number == before[3]
        await pilot.press("C")
        await settle(pilot)
        assert closed.number not in visible_numbers(app)
        assert current(app).number == before[4]
        assert inbox(app).current.row.number == before[4]  # the detail follows


async def test_cursor_moves_do_not_rebuild_the_footer(desk):
    """The footer is rebuilt only when the ticket-dependent keys change (a rebuild per
    cursor move repaints the screen and leaks the old footer keys in Textual)."""
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = inbox(app)
        calls = []
        original = screen.refresh_bindings
        screen.refresh_bindings = lambda: (calls.append(1), original())[1]
        for _ in range(8):
            await pilot.press("j")
        await settle(pilot)
        assert len(calls) <= 1  # ordinary support tickets all offer the same keys


async def test_six_digit_ticket_numbers_fit_their_column(desk):
    """At 100,000 tickets the number column cut "#100001" to "#10000" (walk on the large seed)."""
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = inbox(app).query_one("#tickets")
        assert table.columns["number"].width >= len("#100001")
