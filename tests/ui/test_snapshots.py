"""SVG snapshots of the main screens (pytest-textual-snapshot).

Update after an intended change with ``python3 tasks.py test tests/test_snapshots.py --snapshot-update``
and look at the SVGs before committing them.
"""

from __future__ import annotations

import dataclasses

from deskapp.app import DeskApp
from deskapp.settings import Policy

from tests.support.deskdata import NOW
from tests.support.deskdata import build_small_desk
from tests.support.schema import migrated_sqlite_engine


def _desk_app(tmp_path) -> DeskApp:
    engine = migrated_sqlite_engine(tmp_path / "snap.sqlite3")
    data = build_small_desk(engine, NOW)
    policy = dataclasses.replace(Policy(), inbox_page_size=20)
    return DeskApp(engine=engine, agent=data["people"]["tom"], policy=policy, clock=lambda: NOW, poll=False)


async def _settle(pilot) -> None:
    for _ in range(4):
        await pilot.pause()
        while pilot.app.workers:
            await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_inbox_snapshot(snap_compare, tmp_path):
    assert snap_compare(_desk_app(tmp_path), terminal_size=(120, 40), run_before=_settle)


def test_inbox_with_marks_and_claim_snapshot(snap_compare, tmp_path):
    async def act(pilot):
        await _settle(pilot)
        await pilot.press("c", "j", "space", "space")
        await _settle(pilot)

    assert snap_compare(_desk_app(tmp_path), terminal_size=(120, 40), run_before=act)
