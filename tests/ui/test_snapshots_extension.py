"""SVG snapshots of the filled extension form (pytest-textual-snapshot).

The form is shown over a bare screen (the inbox is stubbed, as in test_card_ui), so the
picture changes only with the form. Update after an intended change with
``python3 tasks.py test tests/test_snapshots_extension.py --snapshot-update`` and read the
SVG before committing it.
"""

from __future__ import annotations

import dataclasses
import sys
import types

import pytest
from textual.screen import Screen
from textual.widgets import Input, Select

from deskapp.app import DeskApp
from deskapp.settings import Policy
from screens.extension_form import ExtensionForm

from tests.support.deskdata import NOW
from tests.support.deskdata import MORING_ID, build_small_desk
from tests.ui.test_extension_ui import CONNY_ID, add_budgets
from tests.support.schema import migrated_sqlite_engine

SIZE = (120, 40)


class BareScreen(Screen):
    """Stands in for the inbox below the form."""


@pytest.fixture(autouse=True)
def stub_inbox(monkeypatch):
    module = types.ModuleType("screens.inbox")
    module.InboxScreen = BareScreen
    monkeypatch.setitem(sys.modules, "screens.inbox", module)


def _app(tmp_path) -> DeskApp:
    engine = migrated_sqlite_engine(tmp_path / "snap.sqlite3")
    data = build_small_desk(engine, NOW)
    add_budgets(engine, data["people"])
    policy = dataclasses.replace(Policy(), inbox_page_size=20)
    return DeskApp(engine=engine, agent=data["people"]["tom"], policy=policy, clock=lambda: NOW, poll=False)


async def _settle(pilot) -> None:
    for _ in range(4):
        await pilot.pause()
        while pilot.app.workers:
            await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_extension_form_filled_snapshot(snap_compare, tmp_path):
    """Ivo Moring, 2 months, the shop relaunch task: the preview as it would be posted."""

    async def fill(pilot):
        await _settle(pilot)
        pilot.app.push_screen(ExtensionForm(customer_id=MORING_ID))
        await _settle(pilot)
        form = pilot.app.screen
        assert isinstance(form, ExtensionForm)
        form.query_one("#task", Select).value = form.draft.open_tasks[0].id
        form.query_one("#months", Input).focus()
        await pilot.press("ctrl+a", "ctrl+k", "2")
        form.query_one("#task", Select).focus()  # no blinking cursor in the picture
        await _settle(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=SIZE, run_before=fill)


def test_extension_form_rebooking_snapshot(snap_compare, tmp_path):
    """Conny Schuster, under 20 h and expired: the rebooking recorded on the spot."""

    async def fill(pilot):
        await _settle(pilot)
        pilot.app.push_screen(ExtensionForm(customer_id=CONNY_ID))
        await _settle(pilot)
        form = pilot.app.screen
        assert isinstance(form, ExtensionForm)
        form.query_one("#rebooking", Select).value = "new"
        await pilot.pause()
        form.query_one("#hours", Input).focus()
        await pilot.press(*"20", "tab", *"1900,00")
        form.query_one("#rebooking", Select).focus()
        await _settle(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=SIZE, run_before=fill)
