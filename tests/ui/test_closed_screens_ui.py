"""A closed screen leaves no garbage behind: it is freed soon after it is gone (issue 16,
peak RSS). The garbage collector's own runs are off in these tests: a closed screen is a
web of cycles (parent and children, message queues, styles) that only a collection frees,
and the desk runs one after a screen is removed."""

from __future__ import annotations

import gc
import weakref

from screens.app import COLLECT_AFTER_CLOSE_SECONDS
from screens.card import CardScreen
from screens.dialogs.extension import ExtensionForm
from screens.inbox import InboxScreen
from tests.support.ui import make_app, open_card, open_form, settle


async def _close(pilot) -> None:
    await pilot.press("escape")
    await settle(pilot)
    await pilot.pause(COLLECT_AFTER_CLOSE_SECONDS + 0.2)


async def test_the_closed_card_is_freed(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        card = weakref.ref(await open_card(pilot))
        gc.disable()
        try:
            await _close(pilot)
            assert isinstance(app.screen, InboxScreen)
            assert card() is None
        finally:
            gc.enable()


async def test_the_closed_extension_form_is_freed(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await open_card(pilot)
        form = weakref.ref(await open_form(pilot))
        assert isinstance(form(), ExtensionForm)
        gc.disable()
        try:
            await _close(pilot)
            assert isinstance(app.screen, CardScreen)
            assert form() is None
        finally:
            gc.enable()
