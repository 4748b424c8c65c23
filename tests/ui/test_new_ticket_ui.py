"""``N`` in the inbox: a ticket opened by hand, keyboard only (SQLite)."""

from __future__ import annotations

from sqlalchemy import func, select

from models.engine import read_session
from models.tables import AuditLog, Ticket
from screens.dialogs.new_ticket import NewTicketDialog
from screens.inbox import InboxScreen
from tests.support.deskdata import MORING_ID
from tests.support.ui import make_app, notes, settle, shown

SIZE = (120, 40)


def ticket_count(engine) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(Ticket)).scalar()


async def open_dialog(pilot) -> NewTicketDialog:
    await settle(pilot)
    await pilot.press("N")
    await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, NewTicketDialog), dialog
    return dialog


async def pick_customer(pilot, query: str) -> None:
    await pilot.press(*query)
    await pilot.pause(0.3)  # the debounce
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def test_n_opens_a_ticket_for_a_customer_and_the_inbox_stands_on_it(desk):
    engine, data = desk
    before = ticket_count(engine)
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")  # Technik: the dialog starts on the queue the inbox shows
        dialog = await open_dialog(pilot)
        assert dialog.query_one("#queue").value == "technical"
        await pick_customer(pilot, "Moring")
        assert dialog.chosen is not None and dialog.chosen.id == MORING_ID
        assert "Ivo Moring" in shown(dialog, "#customer-chosen")
        assert dialog.query_one("#priority").has_focus
        dialog.query_one("#priority").value = 3  # hoch
        dialog.query_one("#subject").focus()
        await pilot.press(*"Anruf: Webseite down")
        dialog.query_one("#text").focus()
        await pilot.press(*"Kunde ruft an", "enter", *"Seite weg")
        await pilot.press("ctrl+s")
        await settle(pilot)
        inbox = app.screen
        assert isinstance(inbox, InboxScreen)
        row = inbox._current_row()
        assert row.subject == "Anruf: Webseite down"
        assert row.queue == "technical" and inbox.source == "queue:technical"
        assert row.customer_id == MORING_ID and int(row.priority) == 3
        assert any(f"Ticket #{row.number} angelegt" in n for n in notes(app))
    assert ticket_count(engine) == before + 1
    with read_session(engine) as s:
        ticket = s.get(Ticket, row.id)
        assert ticket.body == "Kunde ruft an\nSeite weg"
        assert s.execute(select(AuditLog.agent_login).where(AuditLog.entity_id == str(row.id))).scalars().first() == "tom"


async def test_without_a_customer_in_the_support_queue(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["lena"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot)
        assert dialog.query_one("#queue").value == "support"
        dialog.query_one("#subject").focus()
        await pilot.press(*"Besuch am Empfang", "ctrl+s")
        await settle(pilot)
        row = app.screen._current_row()
        assert row.subject == "Besuch am Empfang" and row.customer_id is None


async def test_bad_input_is_said_in_german_under_its_field_and_nothing_is_written(desk):
    engine, data = desk
    before = ticket_count(engine)
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot)
        # No subject: the service refuses, the message goes under the subject.
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog
        assert "braucht einen Betreff" in shown(dialog, "#subject-error")
        # A control character in the subject.
        dialog.query_one("#subject").value = "Hallo\x1bWelt"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Steuerzeichen" in shown(dialog, "#subject-error")
        # A customer typed but not picked from the list.
        dialog.query_one("#subject").value = "Anruf"
        dialog.query_one("#customer").value = "niemand-gibt-es"
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "aus der Liste wählen" in shown(dialog, "#customer-error")
        assert "Keine Treffer" in str(dialog.query_one("#customer-hits").get_option_at_index(0).prompt)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
    assert ticket_count(engine) == before


async def test_palette_and_help_offer_n_and_the_system_agent_sees_it_greyed(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Neues Ticket" in titles
        await pilot.press("question_mark")
        await settle(pilot)
        help_text = str(app.screen.query_one("Static").render())
        assert "N              Neues Ticket" in help_text
        await pilot.press("escape")
    app = make_app(engine, data["people"]["system"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.check_action("new_ticket", ()) is None
        await pilot.press("N")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
