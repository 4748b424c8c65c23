"""The warm-up imports modules in a thread after the first frame; a database worker
started meanwhile (a search typed right after the start) must not import into the same
modules at the same time: CPython's import-deadlock avoidance then hands one thread a
partly initialised module ("cannot import name 'AdaptedConnection' from partially
initialized module 'sqlalchemy.engine'", seen on a walk)."""

from __future__ import annotations

import asyncio
import sys
import threading

import screens.app
from tests.support.ui import make_app, settle

IMPORTING = threading.Event()  # set by the slow module below while it is being imported

SLOW_MODULE = """
import time
from tests.ui.test_warm_up_ui import IMPORTING
IMPORTING.set()
time.sleep(0.4)
IMPORTING.clear()
"""


async def test_a_database_worker_waits_for_the_module_the_warm_up_imports(desk, tmp_path, monkeypatch):
    engine, data = desk
    (tmp_path / "desk_slow_warm_module.py").write_text(SLOW_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(screens.app, "WARM_UP", ("desk_slow_warm_module", *screens.app.WARM_UP))
    sys.modules.pop("desk_slow_warm_module", None)
    app = make_app(engine, data["people"]["tom"])
    seen: list[bool] = []
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):  # until the warm-up is inside the slow import
            if IMPORTING.is_set():
                break
            await asyncio.sleep(0.01)
        assert IMPORTING.is_set()
        reader = threading.Thread(target=lambda: app.read(lambda session: seen.append(IMPORTING.is_set())))
        reader.start()
        await asyncio.get_running_loop().run_in_executor(None, reader.join, 10)
        await settle(pilot)
    assert seen == [False]  # the read ran after the import, not inside it
