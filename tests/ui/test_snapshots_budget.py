"""SVG snapshots of the budget screens: the radar and the card with its budget sparkline.

Update after an intended change with
``python3 tasks.py test tests/ui/test_snapshots_budget.py --snapshot-update`` and look at the
SVGs before committing them.
"""

from __future__ import annotations

from screens.app import DeskApp
from tests.support.deskdata import MORING_ID, NOW, build_budget_desk
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import make_app, settle

SIZE = (120, 40)


def _desk_app(tmp_path) -> DeskApp:
    engine = migrated_sqlite_engine(tmp_path / "snap.sqlite3")
    data = build_budget_desk(engine, NOW)
    return make_app(engine, data["people"]["tom"])


def test_radar_snapshot(snap_compare, tmp_path):
    async def open_radar(pilot):
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        await pilot.press("3")  # 180 days: all three customers
        await settle(pilot)

    assert snap_compare(_desk_app(tmp_path), terminal_size=SIZE, run_before=open_radar)


def test_card_with_budget_sparkline_snapshot(snap_compare, tmp_path):
    async def open_card(pilot):
        await settle(pilot)
        pilot.app.open_customer(MORING_ID)
        await settle(pilot)

    assert snap_compare(_desk_app(tmp_path), terminal_size=SIZE, run_before=open_card)
