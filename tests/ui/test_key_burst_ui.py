"""A burst of keys (a held key, a paste into the desk) does not start one database read per
key: the ticket detail is loaded once per position the cursor settles on (issue 13).

Before, every row the cursor passed started an exclusive thread worker; a cancelled thread
worker stays registered until its thread ends, and each new one cancelled all of them again
— 10,000 keys froze the desk for half a minute.
"""

from __future__ import annotations

from textual import events
from textual.worker_manager import WorkerManager

from deskapp.services import ticket_detail
from tests.support.ui import make_app, settle

KEYS = 2000


async def test_thousands_of_cursor_keys_load_the_detail_a_few_times_and_end_right(desk, monkeypatch):
    engine, data = desk
    loads = []
    real = ticket_detail.detail

    def counted(session, ticket_id, **kwargs):
        loads.append(ticket_id)
        return real(session, ticket_id, **kwargs)

    monkeypatch.setattr(ticket_detail, "detail", counted)
    started = []  # the detail workers the burst starts (each cancelled one lingered and was cancelled again)
    add_worker = WorkerManager.add_worker

    def counting_add_worker(self, worker, **kwargs):
        if worker.group == "detail":
            started.append(worker)
        return add_worker(self, worker, **kwargs)

    monkeypatch.setattr(WorkerManager, "add_worker", counting_add_worker)
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        loads.clear()
        started.clear()
        for key in ["j", "k"] * (KEYS // 2) + ["j"] * 3:  # back and forth, then three rows down
            app.post_message(events.Key(key, key))  # as fast as a terminal delivers a paste
        await settle(pilot, quiet_rounds=6)
        row = screen._current_row()
        assert screen.page.rows.index(row) == 3
        assert screen.current is not None and screen.current.row.id == row.id  # the detail shown is the row's
        assert len(loads) < KEYS // 20, len(loads)  # a handful of reads, not one per key
        assert len(started) < KEYS // 20, len(started)  # and a handful of workers
        # The last reads were the row the cursor ended on (unless the read-ahead already had
        # it) and the rows around it, nothing the burst passed earlier.
        last = len(loads) - 1 - loads[::-1].index(row.id) if row.id in loads else -1
        around = {r.id for r in screen.page.rows[2:7]}
        assert set(loads[last + 1:]) <= around, (loads, around)
