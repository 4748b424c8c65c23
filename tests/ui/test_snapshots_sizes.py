"""SVG snapshots of the inbox, the card and the extension form at 80×24, 100×30 and 160×48
(issue 15: layouts that work from 80×24 up; docs/rules.md#narrow-terminals).

Update after an intended change with
``python3 tasks.py test tests/ui/test_snapshots_sizes.py --snapshot-update`` and look at the
SVGs before committing them.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select

from screens.app import DeskApp
from screens.dialogs.extension import ExtensionForm
from tests.support.deskdata import MORING_ID, NOW, add_budgets, build_small_desk
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import make_app, settle

SIZES = [(80, 24), (100, 30), (160, 48)]
IDS = ["80x24", "100x30", "160x48"]


def _app(tmp_path) -> DeskApp:
    engine = migrated_sqlite_engine(tmp_path / "snap.sqlite3")
    data = build_small_desk(engine, NOW)
    add_budgets(engine, data["people"])
    return make_app(engine, data["people"]["tom"])


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_inbox_at_size_snapshot(snap_compare, tmp_path, size):
    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_card_at_size_snapshot(snap_compare, tmp_path, size):
    async def open_card(pilot):
        await settle(pilot)
        pilot.app.open_customer(MORING_ID)
        await settle(pilot)
        await pilot.pause()  # the footer lays itself out for the card's keys
        await settle(pilot)
        # The top of the card (master data, credit, budget): focusing the ticket list scrolls
        # the body a varying amount on a small terminal.
        pilot.app.screen.query_one("#card-body").scroll_home(animate=False)
        await settle(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=open_card)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_extension_form_at_size_snapshot(snap_compare, tmp_path, size):
    async def fill(pilot):
        await settle(pilot)
        pilot.app.push_screen(ExtensionForm(customer_id=MORING_ID))
        await settle(pilot)
        form = pilot.app.screen
        form.query_one("#task", Select).value = form.draft.open_tasks[0].id
        form.query_one("#months", Input).focus()
        await pilot.press("ctrl+a", "ctrl+k", "2")
        form.query_one("#task", Select).focus()  # no blinking cursor in the picture
        await settle(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=fill)
