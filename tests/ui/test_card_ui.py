"""The customer card and the customer search, driven from the keyboard (SQLite).

The inbox is replaced by a bare screen so these tests do not move with it: the card
and the search are reached through the app's own ``ctrl+u`` and ``open_customer``.
"""

from __future__ import annotations

import uuid

import pytest
from textual.widgets import DataTable, Input

from screens.app import DeskApp
from models.engine import write_session
from screens.card import CardScreen
from screens.customer_search import CustomerSearchScreen
from tests.support.carddata import EMPTY, IVO, ivo_desk
from tests.support.deskdata import NOW
from tests.support.ui import StubInbox, cells, make_app, replace_inbox, settle
from tests.support.ui import shown as text_of

SIZE = (120, 40)


@pytest.fixture(autouse=True)
def stub_inbox(monkeypatch):
    replace_inbox(monkeypatch)


@pytest.fixture
def ui_engine(tmp_path):
    desk = ivo_desk(tmp_path / "desk.sqlite3", NOW)
    yield desk
    desk.engine.dispose()


async def search_and_open(pilot, query: str) -> CardScreen:
    await pilot.press("ctrl+u")
    await settle(pilot)
    assert isinstance(pilot.app.screen, CustomerSearchScreen)
    await pilot.press(*query)
    await pilot.pause(0.3)  # the debounce
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CardScreen), f"still on {screen!r}"
    return screen


@pytest.mark.parametrize("query", ["Moring", "K-10042", str(IVO), "ivo mor"])
async def test_search_by_name_number_or_id_opens_the_card(ui_engine, query):
    async with make_app(ui_engine.engine, ui_engine.people["tom"]).run_test(size=SIZE) as pilot:
        card = await search_and_open(pilot, query)
        assert card.customer_id == IVO


async def test_card_shows_what_an_agent_checks(ui_engine):
    async with make_app(ui_engine.engine, ui_engine.people["tom"]).run_test(size=SIZE) as pilot:
        card = await search_and_open(pilot, "Moring")
        master = text_of(card, "#card-master")
        assert "Ivo Moring" in master and "K-10042" in master and str(IVO) in master
        credit = text_of(card, "#card-credit")
        assert "500,00 €" in credit and "420,50 €" in credit and "79,50 €" in credit
        budget = text_of(card, "#card-budget")
        assert "47:00 Std" in budget  # valid remaining
        assert "03:00 Std" in budget  # blocked
        assert "08:20 Std" in budget  # expired remaining
        assert "20.03.26" in budget and "noch 10 Tage" in budget
        alerts = text_of(card, "#card-alerts")
        assert "Deadline auf Budgetverfall" in alerts and "Wiederholungsfall" not in alerts

        packages = cells(card.query_one("#card-packages", DataTable))
        assert [row[1] for row in packages] == ["01.06.25", "20.03.24", "15.01.23"]
        assert packages[1][2:7] == ["40:00", "10:00", "02:00", "28:00", "20.03.26"]
        tickets = cells(card.query_one("#card-tickets", DataTable))
        assert [row[0] for row in tickets] == ["#1002", "#1003", "#1001"]
        tasks = cells(card.query_one("#card-tasks", DataTable))
        assert "Deadline auf Budgetverfall (20.03.26)" in tasks[0][4]
        assert tasks[1][4] == ""
        assert card.query_one("#card-tickets-section").border_title == "Offene Tickets (3)"


async def test_arrows_move_in_the_card_tables_and_escape_goes_back(ui_engine):
    async with make_app(ui_engine.engine, ui_engine.people["tom"]).run_test(size=SIZE) as pilot:
        card = await search_and_open(pilot, "K-10042")
        tickets = card.query_one("#card-tickets", DataTable)
        assert pilot.app.focused is tickets
        await pilot.press("down", "down")
        assert tickets.cursor_row == 2
        await pilot.press("tab")
        assert pilot.app.focused is card.query_one("#card-tasks", DataTable)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, StubInbox)


async def test_refresh_shows_new_data_and_keeps_the_cursor(ui_engine):
    engine, _ = ui_engine
    async with make_app(ui_engine.engine, ui_engine.people["tom"]).run_test(size=SIZE) as pilot:
        card = await search_and_open(pilot, "Moring")
        await pilot.press("down")
        from models.tables import CustomerFileEntry

        with write_session(engine) as s:
            s.add(CustomerFileEntry(customer_id=IVO, text="Neu notiert.", created_at=NOW))
        await pilot.press("r")
        await settle(pilot)
        file_rows = cells(card.query_one("#card-file", DataTable))
        assert file_rows[0][2] == "Neu notiert."
        assert card.query_one("#card-tickets", DataTable).cursor_row == 1


async def test_enter_on_a_ticket_returns_it(ui_engine):
    results = []
    async with make_app(ui_engine.engine, ui_engine.people["tom"]).run_test(size=SIZE) as pilot:
        pilot.app.push_screen(CardScreen(IVO), results.append)
        await settle(pilot)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, StubInbox)
    assert len(results) == 1 and isinstance(results[0], int)


async def test_search_arrows_choose_among_hits_and_no_hits_message(ui_engine):
    async with make_app(ui_engine.engine, ui_engine.people["tom"]).run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+u")
        await settle(pilot)
        search = pilot.app.screen
        await pilot.pause(0.3)
        await settle(pilot)
        table = search.query_one("#customer-hits", DataTable)
        assert [r[0] for r in cells(table)] == ["Anna Leer", "Ivo Moring"]  # empty query: all, by name
        assert text_of(search, "#hits-status") == "2 Treffer"
        await pilot.press("down")
        assert table.cursor_row == 1
        assert pilot.app.focused is search.query_one(Input)

        await pilot.press(*"zzz")
        await pilot.pause(0.3)
        await settle(pilot)
        assert text_of(search, "#hits-status") == "Keine Treffer"
        assert not table.display
        await pilot.press("enter")  # nothing to open: stays
        await pilot.pause()
        assert pilot.app.screen is search

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, StubInbox)


async def test_enter_right_after_typing_waits_for_the_results(ui_engine):
    async with make_app(ui_engine.engine, ui_engine.people["tom"]).run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+u")
        await settle(pilot)
        await pilot.press(*"Leer", "enter")  # no pause: the debounce has not fired yet
        await settle(pilot)
        assert isinstance(pilot.app.screen, CardScreen)
        assert pilot.app.screen.customer_id == EMPTY


async def test_unknown_customer_shows_an_error_and_escape_goes_back(ui_engine):
    async with make_app(ui_engine.engine, ui_engine.people["tom"]).run_test(size=SIZE) as pilot:
        pilot.app.open_customer(uuid.UUID("11111111-1111-4111-8111-111111111111"))
        await settle(pilot)
        card = pilot.app.screen
        assert "gibt es nicht" in text_of(card, "#card-error")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, StubInbox)


def test_card_snapshot(ui_engine, snap_compare):
    async def open_card(pilot):
        pilot.app.open_customer(IVO)
        await settle(pilot)

    assert snap_compare(make_app(ui_engine.engine, ui_engine.people["tom"]), terminal_size=SIZE, run_before=open_card)


async def test_repeat_case_and_warnings_are_marked_on_the_card(ui_engine):
    from deskapp.settings import Policy

    engine, people = ui_engine
    # Ivo set one deadline on an expiry; with "more than zero" as the policy he is a repeat case.
    app = DeskApp(engine=engine, agent=people["tom"], clock=lambda: NOW, poll=False,
                  policy=Policy(repeat_case_min_count=1, budget_warn_minutes=3000))
    async with app.run_test(size=SIZE) as pilot:
        app.open_customer(IVO)
        await settle(pilot)
        alerts = text_of(app.screen, "#card-alerts")
        assert "Wiederholungsfall" in alerts and "1× Deadline auf Budgetverfall in 12 Monaten" in alerts
        assert "Restbudget knapp" in alerts and "50:00 Std" in alerts
