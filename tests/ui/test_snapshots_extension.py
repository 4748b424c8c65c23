"""SVG snapshots of the filled extension form (pytest-textual-snapshot).

The form is shown over a bare screen (the inbox is stubbed, as in test_card_ui), so the
picture changes only with the form. Update after an intended change with
``python3 tasks.py test tests/ui/test_snapshots_extension.py --snapshot-update`` and read the
SVG before committing it.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select

from screens.app import DeskApp
from screens.dialogs.extension import ExtensionForm
from tests.support.deskdata import CONNY_ID, MORING_ID, NOW, add_budgets, build_small_desk
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import make_app, replace_inbox, settle

SIZE = (120, 40)


@pytest.fixture(autouse=True)
def stub_inbox(monkeypatch):
    replace_inbox(monkeypatch)


def _app(tmp_path) -> DeskApp:
    engine = migrated_sqlite_engine(tmp_path / "snap.sqlite3")
    data = build_small_desk(engine, NOW)
    add_budgets(engine, data["people"])
    return make_app(engine, data["people"]["tom"])


def test_extension_form_filled_snapshot(snap_compare, tmp_path):
    """Ivo Moring, 2 months, the shop relaunch task: the preview as it would be posted."""

    async def fill(pilot):
        await settle(pilot)
        pilot.app.push_screen(ExtensionForm(customer_id=MORING_ID))
        await settle(pilot)
        form = pilot.app.screen
        assert isinstance(form, ExtensionForm)
        form.query_one("#task", Select).value = form.draft.open_tasks[0].id
        form.query_one("#months", Input).focus()
        await pilot.press("ctrl+a", "ctrl+k", "2")
        form.query_one("#task", Select).focus()  # no blinking cursor in the picture
        await settle(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=SIZE, run_before=fill)


def test_extension_form_rebooking_snapshot(snap_compare, tmp_path):
    """Conny Schuster, under 20 h and expired: the rebooking recorded on the spot."""

    async def fill(pilot):
        await settle(pilot)
        pilot.app.push_screen(ExtensionForm(customer_id=CONNY_ID))
        await settle(pilot)
        form = pilot.app.screen
        assert isinstance(form, ExtensionForm)
        form.query_one("#rebooking", Select).value = "new"
        await pilot.pause()
        form.query_one("#hours", Input).focus()
        await pilot.press(*"20", "tab", *"1900,00")
        form.query_one("#rebooking", Select).focus()
        await settle(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=SIZE, run_before=fill)
