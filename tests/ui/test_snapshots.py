"""SVG snapshots of the main screens (pytest-textual-snapshot).

Update after an intended change with ``python3 tasks.py test tests/ui/test_snapshots.py --snapshot-update``
and look at the SVGs before committing them.
"""

from __future__ import annotations

from screens.app import DeskApp
from tests.support.deskdata import NOW, build_small_desk
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import make_app, settle


def _desk_app(tmp_path) -> DeskApp:
    engine = migrated_sqlite_engine(tmp_path / "snap.sqlite3")
    data = build_small_desk(engine, NOW)
    return make_app(engine, data["people"]["tom"])


def test_inbox_snapshot(snap_compare, tmp_path):
    assert snap_compare(_desk_app(tmp_path), terminal_size=(120, 40), run_before=settle)


def test_inbox_with_marks_and_claim_snapshot(snap_compare, tmp_path):
    async def act(pilot):
        await settle(pilot)
        await pilot.press("c", "j", "space", "space")
        await settle(pilot)

    assert snap_compare(_desk_app(tmp_path), terminal_size=(120, 40), run_before=act)
