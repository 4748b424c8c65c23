"""Opening the customer card from the inbox, and coming back (SQLite): the footer is
rebuilt only when its keys change, and the inbox does not poll below the card."""

from __future__ import annotations

import pytest

from screens.inbox import InboxScreen
from tests.support.deskdata import MORING_ID, NOW, build_budget_desk
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import make_app, open_card, settle

SIZE = (120, 40)


@pytest.fixture
def desk(tmp_path):
    """The small desk with hour budgets (Ivo Moring two packages, Conny Schuster one)."""
    engine = migrated_sqlite_engine(tmp_path / "desk.sqlite3")
    data = build_budget_desk(engine, NOW)
    yield engine, data
    engine.dispose()


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
