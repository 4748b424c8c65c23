"""Issue 15, smaller findings: the time dialog names the package it draws from; an already
expired package is booked only after a warning (docs/rules.md#budget-fifo)."""

from __future__ import annotations

from sqlalchemy import func, select

from models.engine import read_session
from models.tables import HourPackage
from screens.dialogs.book_package import BookPackageDialog
from screens.dialogs.log_time import LogTimeDialog
from tests.support.ui import open_card, settle
from tests.support.ui import shown_words as shown
from tests.ui.test_budget_ui import SIZE, desk, make_app, type_into  # noqa: F401 (desk: the fixture)


def packages(engine) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(HourPackage)).scalar_one()


async def test_the_time_dialog_says_which_package_it_draws_from(desk):
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=SIZE) as pilot:
        await open_card(pilot)
        await pilot.press("t")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, LogTimeDialog)
        figures = shown(dialog, "#figures")
        assert "Bucht von" in figures, figures
        await type_into(pilot, "#minutes", "1:00")
        assert "Bucht von" in shown(dialog, "#figures")
        assert "gültig bis" in shown(dialog, "#figures")


async def test_booking_an_expired_package_warns_and_needs_a_second_ctrl_s(desk):
    before = packages(desk.engine)
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=SIZE) as pilot:
        card = await open_card(pilot)
        await pilot.press("b")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, BookPackageDialog)
        await type_into(pilot, "#hours", "10")
        await type_into(pilot, "#purchased", "01.01.20")
        assert "schon verfallen" in shown(dialog, "#validity")
        await type_into(pilot, "#price", "950")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is dialog
        assert "schon verfallen" in shown(dialog, "#purchased-error")
        assert packages(desk.engine) == before
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is card
    assert packages(desk.engine) == before + 1
