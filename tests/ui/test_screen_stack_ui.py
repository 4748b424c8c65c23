"""Issue 15: after Strg+U from a card, esc goes back one level — never through old cards."""

from __future__ import annotations

from screens.card import CardScreen
from screens.customer_search import CustomerSearchScreen
from screens.inbox import InboxScreen
from tests.support.ui import make_app, open_card, settle


async def test_a_card_opened_from_a_card_takes_its_place(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await open_card(pilot)
        for _ in range(3):
            await pilot.press("ctrl+u")
            await settle(pilot)
            await pilot.press("ctrl+u")  # a second Strg+U does not stack another search
            await settle(pilot)
            assert isinstance(app.screen, CustomerSearchScreen)
            assert sum(isinstance(s, CustomerSearchScreen) for s in app.screen_stack) == 1
            await pilot.press(*"Moring")
            await pilot.pause(0.3)  # the debounce
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, CardScreen)
            assert sum(isinstance(s, CardScreen) for s in app.screen_stack) == 1
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
