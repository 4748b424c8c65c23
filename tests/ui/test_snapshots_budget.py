"""SVG snapshots of the budget screens: the radar and the card with its budget sparkline.

Update after an intended change with
``python3 tasks.py test tests/test_snapshots_budget.py --snapshot-update`` and look at the
SVGs before committing them.
"""

from __future__ import annotations

import dataclasses

from deskapp.app import DeskApp
from deskapp.settings import Policy

from tests.support.deskdata import NOW
from tests.support.deskdata import MORING_ID
from tests.ui.test_budget_ui import build_budget_desk
from tests.support.schema import migrated_sqlite_engine

SIZE = (120, 40)


def _desk_app(tmp_path) -> DeskApp:
    engine = migrated_sqlite_engine(tmp_path / "snap.sqlite3")
    data = build_budget_desk(engine, NOW)
    policy = dataclasses.replace(Policy(), inbox_page_size=20)
    return DeskApp(engine=engine, agent=data["people"]["tom"], policy=policy, clock=lambda: NOW, poll=False)


async def _settle(pilot) -> None:
    for _ in range(4):
        await pilot.pause()
        while pilot.app.workers:
            await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_radar_snapshot(snap_compare, tmp_path):
    async def open_radar(pilot):
        await _settle(pilot)
        await pilot.press("R")
        await _settle(pilot)
        await pilot.press("3")  # 180 days: all three customers
        await _settle(pilot)

    assert snap_compare(_desk_app(tmp_path), terminal_size=SIZE, run_before=open_radar)


def test_card_with_budget_sparkline_snapshot(snap_compare, tmp_path):
    async def open_card(pilot):
        await _settle(pilot)
        pilot.app.open_customer(MORING_ID)
        await _settle(pilot)

    assert snap_compare(_desk_app(tmp_path), terminal_size=SIZE, run_before=open_card)
