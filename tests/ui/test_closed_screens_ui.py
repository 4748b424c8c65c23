"""A closed screen leaves no garbage behind: it is freed soon after it is gone, and what
came before a new screen is freed soon after it shows (issue 16, peak RSS). The garbage collector's own runs are off in these tests: a closed screen is a
web of cycles (parent and children, message queues, styles) that only a collection frees,
and the desk runs one after a screen is removed."""

from __future__ import annotations

import gc
import weakref

from screens.app import COLLECT_AFTER_CLOSE_SECONDS, COLLECT_AFTER_PUSH_SECONDS
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


class _Leftover:
    """Stands in for what a read left behind: an object in a reference cycle."""

    def __init__(self) -> None:
        self.me = self


async def test_garbage_from_before_a_new_screen_is_freed_once_it_shows(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        gc.disable()
        try:
            leftover = weakref.ref(_Leftover())
            assert leftover() is not None  # a cycle: reference counting alone does not free it
            await open_card(pilot)
            await pilot.pause(COLLECT_AFTER_PUSH_SECONDS + 0.2)
            await settle(pilot)
            assert leftover() is None
        finally:
            gc.enable()
