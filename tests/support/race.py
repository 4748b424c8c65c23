"""The multi-process race: start processes at one barrier, collect what each reports.

A racer is a module-level function (spawned processes import it by name) called as
``target(*args, barrier, results)``. It waits at ``barrier`` (or calls ``barrier.abort()``
when its setup failed, so the others do not wait for ever) and puts exactly one report
on ``results``. ``spawn`` gives every racer a fresh interpreter with its own engine, as
on agents' machines.
"""

from __future__ import annotations

import multiprocessing
from typing import Callable, Sequence

JOIN_TIMEOUT = 30  # seconds a process may take to end after its report


def race(target: Callable, args_each: Sequence[tuple], *, timeout: float = 180) -> list:
    """Run ``target`` once per argument tuple in its own process; return the reports
    (in the order they arrived) after every process ended cleanly."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(args_each))
    results = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, results)) for args in args_each]
    for p in procs:
        p.start()
    collected = [results.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join(JOIN_TIMEOUT)
        assert p.exitcode == 0
    return collected


def winners_by_id(reports: dict[str, list[tuple[int, str]]], ids: list[int]) -> dict[int, list[str]]:
    """Who won each id: the racers' reports ``{login: [(id, outcome), …]}`` with outcome
    ``"won"`` or another word; every racer must have reported every id, in order."""
    winners: dict[int, list[str]] = {i: [] for i in ids}
    for login, outs in reports.items():
        assert [i for i, _ in outs] == ids
        for i, what in outs:
            if what == "won":
                winners[i].append(login)
    return winners


def overlapping_writes(db_url: str, first: Callable, second: Callable, *, hold: float = 0.3) -> object:
    """Two engines on ``db_url``, two write transactions that really overlap.

    ``first(session)`` runs in a write transaction that stays open ``hold`` seconds after
    it did its work; ``second(session)`` starts in a thread at that moment and waits
    behind it (SQLite: for the write lock at BEGIN IMMEDIATE; PostgreSQL: for the row
    lock). Returns what the second got: ``"won"`` or the exception it raised.
    """
    import threading
    import time

    from models.engine import make_engine, write_session

    firsts, seconds = make_engine(db_url), make_engine(db_url)
    started = threading.Event()
    outcome: dict[str, object] = {}

    def run_second():
        started.wait(10)
        try:
            with write_session(seconds) as s:
                second(s)
            outcome["second"] = "won"
        except Exception as exc:  # the caller asserts on it (a Conflict; anything else shows)
            outcome["second"] = exc

    thread = threading.Thread(target=run_second)
    thread.start()
    try:
        with write_session(firsts) as s:
            first(s)
            started.set()
            time.sleep(hold)  # the second is now blocked behind this open transaction
        thread.join(30)
    finally:
        started.set()
        thread.join(30)
        firsts.dispose()
        seconds.dispose()
    return outcome.get("second")
