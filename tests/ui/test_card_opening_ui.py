"""Opening the customer card and its extension form from the inbox, and coming back (SQLite).

The card and the form are read before they are pushed (``screens.card.open_card``), so they
open filled; a second card never shows anything of the first; back in the inbox, a change
another desk made meanwhile shows, and nothing is read again when nothing changed.
"""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from deskapp.services import tickets
from models.engine import write_session
from screens.card import CardScreen
from screens.dialogs.extension import ExtensionForm
from screens.inbox import InboxScreen
from tests.support.deskdata import CONNY_ID, MORING_ID, NOW, build_budget_desk
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import cells, make_app, open_card, open_form, settle
from tests.support.ui import shown as text_of

SIZE = (120, 40)


@pytest.fixture
def desk(tmp_path):
    """The small desk with hour budgets (Ivo Moring two packages, Conny Schuster one)."""
    engine = migrated_sqlite_engine(tmp_path / "desk.sqlite3")
    data = build_budget_desk(engine, NOW)
    yield engine, data
    engine.dispose()


def state_after_mount(monkeypatch, screen_class, look):
    """What ``look(screen)`` says right after the screen's ``on_mount``: before its first frame."""
    seen = []
    original = screen_class.on_mount

    def on_mount(self):
        original(self)
        seen.append(look(self))

    monkeypatch.setattr(screen_class, "on_mount", on_mount)
    return seen


async def test_the_card_opens_with_its_data_and_no_loading_frame(desk, monkeypatch):
    engine, data = desk
    seen = state_after_mount(monkeypatch, CardScreen, lambda card: (
        card.query_one("#card-body").loading, card.query_one("#card-summary").display,
        card.card.name if card.card else None))
    async with make_app(engine, data["people"]["tom"]).run_test(size=SIZE) as pilot:
        card = await open_card(pilot, MORING_ID)
        assert seen == [(False, True, "Ivo Moring")]
        assert "Ivo Moring" in text_of(card, "#card-master")


async def test_a_second_card_shows_only_the_second_customer(desk):
    """u on Ivo Moring, esc, u on Conny Schuster: nothing of Ivo's card is left."""
    engine, data = desk
    async with make_app(engine, data["people"]["tom"]).run_test(size=SIZE) as pilot:
        ivo = await open_card(pilot, MORING_ID)
        assert "Ivo Moring" in text_of(ivo, "#card-master")
        assert len(cells(ivo.query_one("#card-packages", DataTable))) == 2
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, InboxScreen)

        conny = await open_card(pilot, CONNY_ID)
        assert conny.customer_id == CONNY_ID
        master = text_of(conny, "#card-master")
        assert "Conny Schuster" in master and "Ivo Moring" not in master
        assert str(MORING_ID) not in master
        assert conny.card is not None and conny.card.id == CONNY_ID
        packages = cells(conny.query_one("#card-packages", DataTable))
        assert len(packages) == 1 and packages[0][2] == "05:00"  # Conny's one package of 5 hours
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, InboxScreen)


async def test_a_card_is_not_pushed_over_a_screen_opened_meanwhile(desk):
    """u, then at once another screen: the card read in the background does not cover it."""
    engine, data = desk
    async with make_app(engine, data["people"]["tom"]).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        app.open_customer(MORING_ID)
        await pilot.press("question_mark")  # the help, before the card was read
        await settle(pilot)
        assert not any(isinstance(s, CardScreen) for s in app.screen_stack)


async def test_the_extension_form_opens_filled(desk, monkeypatch):
    engine, data = desk
    seen = state_after_mount(monkeypatch, ExtensionForm, lambda form: (
        form.query_one("#ext-loading").display, str(form.query_one("#ext-title").render())))
    async with make_app(engine, data["people"]["tom"]).run_test(size=SIZE) as pilot:
        await open_card(pilot, MORING_ID)
        form = await open_form(pilot)
        assert seen == [(False, "Budgetverlängerung für Ivo Moring (K-10001)")]
        assert pilot.app.focused is form.query_one("#months")
        assert "Neu gültig bis" in text_of(form, "#proposal")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, CardScreen)


async def test_back_from_the_card_shows_a_change_made_elsewhere_meanwhile(desk):
    engine, data = desk
    tom, lena = data["people"]["tom"], data["people"]["lena"]
    app = make_app(engine, tom)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        inbox = app.screen
        assert isinstance(inbox, InboxScreen)
        first = inbox.page.rows[0]
        await open_card(pilot, MORING_ID)
        with write_session(engine) as s:
            tickets.claim(s, lena, first, now=NOW)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is inbox
        assert {r.id: r for r in inbox.page.rows}[first.id].assignee_login == "lena"


async def test_back_from_the_card_reads_nothing_again_when_nothing_changed(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        inbox = app.screen
        reloads = []
        original = inbox.reload
        inbox.reload = lambda **kw: (reloads.append(kw), original(**kw))[1]
        await open_card(pilot, MORING_ID)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is inbox
        assert reloads == []


async def test_the_footer_is_rebuilt_only_when_its_keys_change(desk, monkeypatch):
    """Opening the card rebuilds its footer for the card's keys; going back to the inbox,
    whose keys are the same as before, rebuilds nothing (each rebuild lays the screen out)."""
    from screens.footer import DeskFooter

    rebuilt = []
    original = DeskFooter.recompose

    async def recompose(self):
        rebuilt.append(type(self.screen).__name__)
        return await original(self)

    monkeypatch.setattr(DeskFooter, "recompose", recompose)
    engine, data = desk
    async with make_app(engine, data["people"]["tom"]).run_test(size=SIZE) as pilot:
        await settle(pilot)
        rebuilt.clear()
        card = await open_card(pilot, MORING_ID)
        assert 1 <= rebuilt.count("CardScreen") <= 2
        keys = {str(k.render()) for k in card.query("FooterKey")}
        assert any("Verlängern" in k for k in keys) and any("Zurück" in k for k in keys)
        rebuilt.clear()
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, InboxScreen)
        assert rebuilt == []
        assert any("Filter" in str(k.render()) for k in pilot.app.screen.query("FooterKey"))


async def test_the_inbox_does_not_poll_below_the_card(desk):
    """The 2-second poll only while the inbox is on top: below the card each poll repainted
    the whole card (Textual counts the screen below the top one as current)."""
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        inbox = app.screen
        polls = []
        original = inbox._poll
        inbox._poll = lambda: (polls.append(1), original())[1]
        inbox.check_for_changes()
        assert polls == [1]
        await open_card(pilot, MORING_ID)
        inbox.check_for_changes()
        await settle(pilot)
        assert polls == [1]
        await pilot.press("escape")  # back on the inbox: it catches up at once
        await settle(pilot)
        assert polls == [1, 1]
