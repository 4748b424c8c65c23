"""``deskapp customers import`` of 10,000 customers beside raw ``sqlite3`` ``executemany``.

Both sides start from the same CSV file (as a German spreadsheet writes it: ``;``, BOM,
decimal comma, ``TT.MM.JJJJ``, two addresses per customer) and a fresh database made by
``deskapp db upgrade`` with the demo roster, and both end with the same rows committed:
10,000 customers, 20,000 contact addresses and one audit entry per customer.

* The import: ``services.customer_import.import_customers`` in this process (decode,
  parse, validate every field, look up the numbers, plan, SQLAlchemy Core bulk
  statements, commit) — timed from the file's bytes to the commit.
* The reference: what a hand-written loader does with no checking at all — ``csv.reader``
  over the decoded text, the few conversions SQLite needs (cents, UUID hex, timestamp
  text, the audit JSON), then one transaction of plain ``executemany`` per table under
  the desk's PRAGMAs (WAL, synchronous=NORMAL, foreign keys on). The insert part alone
  is reported beside it.

Target: the import ≤ 2× the reference.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from .common import Results, Target, log, run_desk

CUSTOMERS = 10_000


def make_file(count: int = CUSTOMERS) -> bytes:
    lines = ["Kundennummer;Name;E-Mail;Telefon;Kreditlimit;Kunde seit"]
    for i in range(count):
        limit = "" if i % 3 == 0 else f"{1 + i % 40}.{i % 10}00,00"
        day = f"{1 + i % 28:02d}.{1 + i % 12:02d}.{2010 + i % 15}"
        lines.append(
            f"K-{20000 + i};Bäckerei Nummer {i} GmbH & Co. KG;info@baeckerei{i}.de, Buchhaltung@Baeckerei{i}.de;"
            f"+49 30 {1000000 + i};{limit};{day}"
        )
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def _fresh(path: Path):
    from models.engine import make_engine, write_session
    from seed.people import create_roster

    run_desk("db", "upgrade", "--db", str(path))
    engine = make_engine(path)
    with write_session(engine) as session:
        roster = create_roster(session)
    return engine, roster


def time_import(path: Path, data: bytes) -> float:
    from deskapp.services.customer_import import import_customers
    from deskapp.settings import Policy
    from models.engine import write_session

    engine, roster = _fresh(path)
    try:
        now = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        with write_session(engine) as session:
            report = import_customers(session, roster["sara"], data=data, fmt="csv", now=now, policy=Policy())
        took = time.perf_counter() - started
    finally:
        engine.dispose()
    if len(report.created) != CUSTOMERS:
        raise RuntimeError(f"import created {len(report.created)} customers, not {CUSTOMERS}")
    return took


def time_raw(path: Path, data: bytes) -> tuple[float, float]:
    """(read + convert + executemany seconds, executemany seconds)."""
    engine, _ = _fresh(path)
    engine.dispose()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    started = time.perf_counter()
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text), delimiter=";")
    next(reader)
    customers, emails, audits = [], [], []
    for number, name, mails, phone, limit, since in reader:
        cid = uuid.uuid4().hex
        cents = int(limit.replace(".", "").replace(",", "")) if limit else 50000
        d, m, y = since.split(".")
        addresses = [a.strip() for a in mails.split(",")]
        customers.append((cid, number, name, addresses[0], phone, cents, f"{y}-{m}-{d} 00:00:00.000000", 1))
        emails.extend((cid, pos, a, a.lower()) for pos, a in enumerate(addresses))
        audits.append((now, "sara", "customer.create", "customer", cid, "",
                       json.dumps({"number": number, "name": name, "credit_limit": str(cents / 100)})))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        inserts_started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO customer (id, number, name, email, phone, credit_limit, created_at, version) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", customers)
        conn.executemany("INSERT INTO customer_email (customer_id, position, address, address_key) "
                         "VALUES (?, ?, ?, ?)", emails)
        conn.executemany("INSERT INTO audit_log (at, agent_login, action, entity, entity_id, old, new) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", audits)
        conn.execute("COMMIT")
        finished = time.perf_counter()
    finally:
        conn.close()
    return finished - started, finished - inserts_started


def run_import(results: Results, *, runs: int) -> None:
    imp = results.figure("import.customers", f"customers import, {CUSTOMERS:,} rows (in process)", "s",
                         target=Target("ratio", 2))
    raw = results.figure("import.raw", "raw sqlite3: csv.reader + convert + executemany", "s")
    raw_inserts = results.figure("import.raw_inserts", "raw sqlite3: executemany alone", "s")
    data = make_file()
    with tempfile.TemporaryDirectory(prefix="deskbench-import-") as tmp:
        for i in range(runs):
            log(f"customers import run {i + 1}/{runs}")
            imp.samples.append(time_import(Path(tmp) / f"imp{i}.sqlite3", data))
            log(f"raw executemany run {i + 1}/{runs}")
            total, inserts = time_raw(Path(tmp) / f"raw{i}.sqlite3", data)
            raw.samples.append(total)
            raw_inserts.samples.append(inserts)
            for leftover in Path(tmp).glob(f"*{i}.sqlite3*"):
                leftover.unlink()
    imp.reference = raw.median
    imp.reference_label = raw.label
    imp.extra["rows"] = {"customers": CUSTOMERS, "contact_addresses": 2 * CUSTOMERS, "audit": CUSTOMERS}
    imp.extra["ratio_to_inserts_alone"] = round(imp.median / raw_inserts.median, 2) if raw_inserts.samples else None
