"""Fixtures of the Pilot tests."""

from __future__ import annotations

import pytest

from tests.support.deskdata import NOW, build_small_desk
from tests.support.schema import migrated_sqlite_engine


@pytest.fixture
def desk(tmp_path):
    """(engine, data): the small desk on SQLite. Modules with another desk override it."""
    engine = migrated_sqlite_engine(tmp_path / "desk.sqlite3")
    data = build_small_desk(engine, NOW)
    yield engine, data
    engine.dispose()
