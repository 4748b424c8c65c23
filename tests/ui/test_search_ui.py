"""Search, #N, filter reset, the : command line and saved views in the inbox (Pilot).

docs/rules.md#ticket-jump, #ticket-search, #filter-language, #saved-views.
"""

from __future__ import annotations

from sqlalchemy import select

from deskapp.services import tickets, views
from models.engine import read_session, write_session
from models.enums import Priority, Queue, TicketStatus
from models.tables import AuditLog
from screens.inbox import InboxScreen
from tests.support.deskdata import NOW
from tests.support.ui import burst, make_app, notes, settle


def inbox(app) -> InboxScreen:
    assert isinstance(app.screen, InboxScreen), app.screen
    return app.screen


def title(app) -> str:
    return str(inbox(app).query_one("#list-title").render())


def numbers(app) -> list[int]:
    return [r.number for r in inbox(app).page.rows]


def current(app):
    return inbox(app)._current_row()


def closed_ticket(engine, people):
    with write_session(engine) as s:
        row = tickets.open_ticket(s, people["tom"], queue=Queue.SUPPORT, subject="Microsoft 365 Lizenz", now=NOW)
        return tickets.set_status(s, people["tom"], row, status=TicketStatus.RESOLVED, now=NOW)


async def test_hash_number_lands_on_exactly_that_ticket_in_any_queue_and_status(desk):
    engine, data = desk
    closed = closed_ticket(engine, data["people"])
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("3")  # from Technik, a closed Support ticket
        await settle(pilot)
        await pilot.press("slash", *f"#{closed.number}", "enter")
        await settle(pilot)
        assert numbers(app) == [closed.number]
        assert current(app).number == closed.number
        # As the card does it (enter on a ticket there): the same ticket, cursor on it.
        await pilot.press("escape")
        await settle(pilot)
        inbox(app).show_ticket(closed.id)
        await settle(pilot)
        assert numbers(app) == [closed.number] and current(app).number == closed.number
        await pilot.press("F")  # the key acts on that ticket, not on another one
        await settle(pilot)
        with read_session(engine) as s:
            assert "flagged" in tickets.get_row(s, closed.id).flags


async def test_search_is_global_shown_in_the_title_and_reset_with_one_key(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"Vorgang in technical", "enter")  # a Technik ticket, from Support
        await settle(pilot)
        assert len(numbers(app)) == 1
        assert "Suche: „Vorgang in technical“ (alle Queues)" in title(app) and "Esc: zurücksetzen" in title(app)
        await pilot.press("ctrl+t")  # only the queue shown (Support): none of them
        await settle(pilot)
        assert numbers(app) == []
        await pilot.press("ctrl+t", "escape")
        await settle(pilot)
        assert "Suche" not in title(app) and "von 45" in title(app)
        await pilot.press("ctrl+d")  # closed ones too: the title says so, esc takes it back
        await settle(pilot)
        assert "Status: neu, offen, wartend, erledigt" in title(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "Status" not in title(app)
        # A queue switch leaves the search; the f filter stays and the title says so.
        await pilot.press("slash", *"Postfch", "enter")
        await settle(pilot)
        assert "postfach" in title(app)  # the typo was repaired, and it says how
        assert inbox(app).page.rows and all("Postfach" in r.subject for r in inbox(app).page.rows)
        await pilot.press("3")
        await settle(pilot)
        assert "Suche" not in title(app) and "Technik" in title(app)


async def test_a_search_that_finds_many_is_counted_up_to_the_cap(desk):
    """docs/rules.md#ticket-search: beyond ``search_count_cap`` the title says "mehr als";
    below it, and for a list that is no search, it gives the number."""
    engine, data = desk
    app = make_app(engine, data["people"]["tom"], search_count_cap=3)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"Vorgang", "enter")
        await settle(pilot)
        assert len(numbers(app)) > 3
        assert f"1–{len(numbers(app))} von mehr als 3" in title(app)
        await pilot.press("slash", "ctrl+u", *"Vorgang in technical", "enter")
        await settle(pilot)
        assert "1–1 von 1" in title(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "von 45" in title(app)  # the queue itself: counted in full


async def test_a_search_whose_count_fails_shows_its_rows_and_title(desk, monkeypatch):
    """The list's frame waits for the count of its title; a count that fails does not leave
    the title of the list before above the new rows."""
    engine, data = desk
    count_and_notes = tickets.count_and_notes

    def failing(session, actor, filt, **kw):
        if filt.search:
            raise RuntimeError("Zählung kaputt")
        return count_and_notes(session, actor, filt, **kw)

    monkeypatch.setattr(tickets, "count_and_notes", failing)
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"Vorgang in technical", "enter")
        await settle(pilot)
        assert len(numbers(app)) == 1
        assert "Suche: „Vorgang in technical“" in title(app) and "1–1 von …" in title(app)


async def test_command_line_with_completion_changes_priority_queue_and_assignee(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        target = current(app)
        await pilot.press("colon", *"pr")
        await settle(pilot)
        line = inbox(app).query_one("#commandline")
        await pilot.press("tab")  # :pr → :prio
        assert line.value == ":prio"
        await pilot.press("space", *"dr", "tab", "enter")  # dr → dringend
        await settle(pilot)
        with read_session(engine) as s:
            assert tickets.get_row(s, target.id).priority == Priority.URGENT
        await pilot.press("colon", *"assign le", "tab")
        await settle(pilot)
        assert line.value == ":assign lena"
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("colon", *"queue technik", "enter")
        await settle(pilot)
        with read_session(engine) as s:
            row = tickets.get_row(s, target.id)
            assert row.queue == Queue.TECHNICAL and row.assignee_login == "", app.shown_notices  # lena: no Technik
            actions = s.execute(select(AuditLog.action).where(AuditLog.entity_id == str(target.number))).scalars().all()
        assert {"ticket.priority", "ticket.assign", "ticket.queue"} <= set(actions)
        await pilot.press("colon", *"fliegen", "enter")
        await settle(pilot)
        assert any("Unbekannter Befehl „:fliegen“" in n.message for n in app.shown_notices)


async def test_saved_views_save_show_with_count_rename_delete(desk):
    engine, data = desk
    tom = data["people"]["tom"]
    app = make_app(engine, tom)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"kunde:moring prio:hoch", "enter")
        await settle(pilot)
        found = numbers(app)
        assert found
        await pilot.press("S", *"Moring dringend", "enter")
        await settle(pilot)
        sidebar = [str(o.prompt) for o in inbox(app).query_one("#saved-views").options]
        assert sidebar == [f"{'Moring dringend':<19}{len(found):>6}"]
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("colon", *"view Mor", "tab", "enter")
        await settle(pilot)
        assert "Ansicht „Moring dringend“" in title(app) and numbers(app) == found
        await pilot.press("colon", *"rename Wichtig", "enter")
        await settle(pilot)
        assert "Ansicht „Wichtig“" in title(app)
        await pilot.press("colon", *"delete Wichtig", "enter")
        await settle(pilot)
        assert "Support" in title(app)
    with read_session(engine) as s:
        assert views.list_views(s, tom) == ()
        actions = s.execute(select(AuditLog.action).where(AuditLog.entity == "saved_view")).scalars().all()
    assert actions == ["view.save", "view.rename", "view.delete"]


async def test_a_search_typed_at_once_behind_the_slash_lands_in_the_search_field(desk):
    """``/Postfch⏎`` in one burst (a fast typist, a paste): no letter reaches the list, where
    ``s``, ``c`` or ``h`` would act on the ticket under the cursor."""
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        burst(app, "/", *"Postfch", "enter")
        await settle(pilot)
        assert "postfach" in title(app)
        assert inbox(app).page.rows and all("Postfach" in r.subject for r in inbox(app).page.rows)
        assert not notes(app)  # no key acted on the list


async def test_a_command_typed_at_once_behind_the_colon_lands_in_the_command_line(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        burst(app, ":", *"prio hoch")
        await settle(pilot)
        assert inbox(app).query_one("#commandline").value == ":prio hoch"


async def test_a_slash_typed_in_the_search_field_is_text(desk):
    """``/ssl.*ablauf/`` (the filter's regex): only the first ``/`` opens the field."""
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        burst(app, "/", "/", *"ssl", "/")
        await settle(pilot)
        assert inbox(app).query_one("#search").value == "/ssl/"


async def test_the_screen_paints_again_when_the_search_cannot_be_read(desk, monkeypatch):
    """The search holds the screen's frames until its first page is shown (one frame for
    the key, ``views.hold_frames``); a failed read lets go of them at once: the notice and
    the next keys are seen."""
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)

        def broken(*args, **kwargs):
            raise RuntimeError("Verbindung verloren")

        monkeypatch.setattr(tickets, "page_around", broken)
        await pilot.press("slash", *"Postfach", "enter")
        await settle(pilot)
        assert any("Verbindung verloren" in n for n in notes(app))
        assert app._batch_count == 0  # Textual paints nothing while a batch is open
        monkeypatch.undo()
        await pilot.press("slash", *"Postfach", "enter")
        await settle(pilot)
        assert inbox(app).page.rows and all("Postfach" in r.subject for r in inbox(app).page.rows)
        assert app._batch_count == 0
