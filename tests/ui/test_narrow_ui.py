"""Issue 15, narrow terminals: the inbox from 80×24 up (docs/rules.md#narrow-terminals)."""

from __future__ import annotations

import pytest

from screens.inbox.table import column_widths
from tests.support.ui import make_app, settle


def footer_text(app) -> str:
    return " ".join(str(k.render()) for k in app.screen.query("FooterKey"))


def test_columns_share_the_width_and_the_subject_gets_the_rest():
    wide = column_widths(160 - 28)
    assert wide["customer"] >= 28  # "Müller Elektrotechnik GmbH" whole when there is room
    assert wide["subject"] >= 40
    narrow = column_widths(80)
    assert narrow["subject"] >= 20 and "number" in narrow and "flags" in narrow
    assert sum(w + 2 for w in narrow.values()) <= 80 - 3  # no horizontal scrollbar


@pytest.mark.parametrize("size, sidebar", [((80, 24), False), ((100, 30), False), ((160, 48), True)])
async def test_sidebar_folds_away_below_120_columns_and_b_brings_it_back(desk, size, sidebar):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.query_one("#sidebar").display is sidebar
        table = screen.query_one("#tickets")
        assert table.virtual_size.width <= table.size.width  # the subject is not behind a scrollbar
        assert "? Hilfe" in footer_text(app) and "Strg+P Befehle" in footer_text(app)
        footer = screen.query_one("Footer")
        assert footer.virtual_size.width <= size[0]  # the footer is not cut off
        await pilot.press("b")
        await settle(pilot)
        assert screen.query_one("#sidebar").display is (not sidebar)
        await pilot.press("b")
        await settle(pilot)
        assert screen.query_one("#sidebar").display is sidebar


async def test_resizing_lays_the_columns_out_again_and_keeps_the_cursor(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("j", "j")
        row = app.screen._current_row()
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert app.screen.query_one("#sidebar").display is False
        assert app.screen._current_row().id == row.id
        assert "age" not in app.screen.query_one("#tickets")._widths
