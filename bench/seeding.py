"""``deskapp seed large`` wall time beside raw ``sqlite3`` ``executemany`` of the same rows.

The seed: the real command on a new SQLite file, timed from before the process starts to
its exit (interpreter start, migrations, row generation, bulk inserts, commit).

The reference, in this process: a database made by ``deskapp db upgrade`` (so the FTS5
table and its triggers index every ticket as in the seed) with the demo roster; the very
same rows made by ``seed.large``'s own generators (same seed, same ``now``); converted
once to what SQLAlchemy stores on SQLite (UUID hex, cents, naive UTC text — not timed);
then, timed: generating the rows plus one transaction of plain ``sqlite3``
``executemany`` for customers, packages and tickets, under the desk's PRAGMAs (WAL,
synchronous=NORMAL, foreign keys on). The insert part alone is reported beside it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
import time
from pathlib import Path

from .common import Results, Target, child_env, desk_argv, log, run_desk
from .datasets import adopt_large_seed


def time_seed(path: Path) -> float:
    import subprocess

    from .common import ROOT

    started = time.perf_counter()
    proc = subprocess.run(desk_argv("seed", "large", "--db", str(path)), cwd=ROOT, env=child_env(),
                          capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"deskapp seed large failed: {proc.stderr.strip()}")
    return took


def time_raw(path: Path) -> tuple[float, float, int]:
    """(generation + executemany seconds, executemany seconds, rows) on a fresh upgraded database."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from models.engine import make_engine, write_session
    from models.tables import Customer, HourPackage, Ticket
    from seed import large
    from seed.people import create_roster

    run_desk("db", "upgrade", "--db", str(path))
    engine = make_engine(path)
    try:
        with write_session(engine) as session:
            roster = create_roster(session)
    finally:
        engine.dispose()

    import random

    now = dt.datetime.now(dt.UTC)
    dialect = sqlite_dialect.dialect()

    def generate():
        rng = random.Random(1)
        customers = large._customers(rng, 10_000, 1, now)
        packages = large._packages(rng, customers, 3_000, now)
        tickets = large._tickets(rng, customers, roster, 100_000, 1, now)
        customers = [{k: v for k, v in row.items() if not k.startswith("_")} for row in customers]
        return customers, packages, tickets

    t = time.perf_counter()
    rows = generate()
    generation = time.perf_counter() - t

    statements = []
    for table, table_rows in zip((Customer.__table__, HourPackage.__table__, Ticket.__table__), rows, strict=True):
        columns = list(table_rows[0])
        procs = []
        for name in columns:
            type_ = table.c[name].type
            procs.append(type_.dialect_impl(dialect).bind_processor(dialect))
        params = [
            tuple(p(row[c]) if p else row[c] for c, p in zip(columns, procs, strict=True)) for row in table_rows
        ]
        sql = f'INSERT INTO {table.name} ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
        statements.append((sql, params))

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        t = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        for sql, params in statements:
            conn.executemany(sql, params)
        conn.execute("COMMIT")
        inserts = time.perf_counter() - t
        count = conn.execute("SELECT count(*) FROM ticket_fts").fetchone()[0]
    finally:
        conn.close()
    if count != 100_000:
        raise RuntimeError(f"raw inserts: the FTS index holds {count} tickets, not 100,000")
    return generation + inserts, inserts, sum(len(r) for r in rows)


def run_seed(results: Results, *, runs: int, keep_large: bool) -> None:
    wall = results.figure("seed.large", "deskapp seed large (wall, process start → exit)", "s",
                          target=Target("ratio", 2))
    raw = results.figure("seed.raw", "raw sqlite3: generate + executemany the same rows", "s")
    raw_inserts = results.figure("seed.raw_inserts", "raw sqlite3: executemany alone", "s")
    with tempfile.TemporaryDirectory(prefix="deskbench-") as tmp:
        for i in range(runs):
            log(f"seed large run {i + 1}/{runs}")
            seeded = Path(tmp) / f"seed{i}.sqlite3"
            wall.samples.append(time_seed(seeded))
            if keep_large and i == 0:
                adopt_large_seed(seeded)
            log(f"raw executemany run {i + 1}/{runs}")
            total, inserts, rows = time_raw(Path(tmp) / f"raw{i}.sqlite3")
            raw.samples.append(total)
            raw_inserts.samples.append(inserts)
            raw.extra["rows"] = rows
            for leftover in Path(tmp).glob(f"*{i}.sqlite3*"):
                leftover.unlink()
    wall.reference = raw.median
    wall.reference_label = raw.label
    wall.extra["ratio_to_inserts_alone"] = round(wall.median / raw_inserts.median, 2) if raw_inserts.samples else None
