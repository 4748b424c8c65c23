"""Customers from the billing system: import (upsert by customer number) and export.

docs/rules.md#setup-customers: the UUID is kept when given and made when not; a
new customer gets the default credit limit unless the row sets one; a limit changed by
the import is recorded like any limit change, with the reason "Import". A file is
applied all-or-nothing: any invalid row and nothing is written (``ImportRejected`` lists
every one); ``skip_invalid`` applies the valid rows; ``dry_run`` only reports.

Reading and writing the file format is ``deskapp.rules.customer_file``. The writes are
SQLAlchemy Core bulk statements (one ``executemany`` per table), not ORM objects: 10,000
customers are a few hundred milliseconds (``python -m bench --only import``).

Concurrency: the customers a file names are read ``FOR UPDATE`` on PostgreSQL (SQLite:
``write_session`` holds the write lock), so an agent's edit in between is not lost; the
updates bump ``version`` so an open card notices. A customer number created by someone
else meanwhile meets the unique index: ``Conflict``, nothing written.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.enums import Role
from models.tables import AuditLog, CreditLimitChange, Customer, CustomerEmail

from ..rules import customer_file as cf
from ..settings import TIMEZONE, Policy
from . import audit, contacts, counters
from .errors import Conflict, InvalidInput, PermissionDenied
from .orders import validate_limit
from .readmodels import AgentRef

IMPORT_ROLES = frozenset({Role.CONTRACT, Role.ADMIN})
IMPORT_REASON = "Import"  # the credit-limit change's reason (docs/rules.md#setup-customers)
CHUNK = 500  # rows per IN (…) lookup
WRITE_CHUNK = 2_000  # rows per executemany while a progress bar is shown
# Numbers the desk hands out itself (customers.create_customer): K-10001, K-10002, …
_OWN_NUMBER = re.compile(r"^K-(\d+)$")
_OWN_NUMBER_BASE = 10000

# User-facing text (German).
MSG_DENIED = "{login} darf keine Kunden importieren (nur Vertragsbearbeitung und Admin)."
MSG_REJECTED = "Import abgelehnt: {invalid} von {rows} Zeilen ungültig – nichts geschrieben."
MSG_RACE = (
    "Kundennummer {number} wurde während des Imports anderswo angelegt; nichts geschrieben. "
    "Bitte den Import wiederholen."
)
R_ID_OTHER = "gehört zu Kunde {number}; die ID eines Kunden ändert sich nie"
R_ID_TAKEN = "ist schon die ID von Kunde {number}"
R_SINCE_FUTURE = "„{value}“ liegt in der Zukunft"

# ``json.dumps(..., ensure_ascii=False)`` without making a new encoder per call.
_to_json = json.JSONEncoder(ensure_ascii=False).encode

Progress = Callable[[str, int, int], None]  # (stage "check" | "write", done, total)


class ImportRejected(InvalidInput):
    """Invalid rows and no ``skip_invalid``: nothing was written; ``report`` lists them."""

    def __init__(self, report: "ImportReport"):
        super().__init__(MSG_REJECTED.format(invalid=len(report.invalid_lines), rows=report.rows))
        self.report = report


@dataclass(frozen=True)
class ImportReport:
    format: str
    rows: int
    created: tuple[str, ...]  # customer numbers
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    problems: tuple[cf.RowProblem, ...]
    limit_changes: int = 0
    ignored_columns: tuple[str, ...] = ()
    dry_run: bool = False
    applied: bool = False  # something was written

    @property
    def invalid_lines(self) -> tuple[int, ...]:
        return tuple(sorted({p.line for p in self.problems}))


@dataclass
class _Plan:
    inserts: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    email_rows: list[dict] = field(default_factory=list)
    email_replaced: list[uuid.UUID] = field(default_factory=list)
    limit_changes: list[dict] = field(default_factory=list)
    audit_rows: list[dict] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def require_import_role(actor: AgentRef) -> None:
    if actor.is_system or not (actor.roles & IMPORT_ROLES):
        raise PermissionDenied(MSG_DENIED.format(login=actor.login))


def read_file(data: bytes, fmt: str) -> cf.ParsedFile:
    """The parsed file, or ``InvalidInput`` with the German reason it is unusable."""
    try:
        return cf.parse(data, fmt)
    except cf.FileProblem as exc:
        raise InvalidInput(str(exc)) from None


def import_customers(
    session: Session,
    actor: AgentRef,
    *,
    data: bytes,
    fmt: str,
    now: dt.datetime,
    policy: Policy,
    dry_run: bool = False,
    skip_invalid: bool = False,
    source: str = "",
    progress: Progress | None = None,
) -> ImportReport:
    """Upsert the file's customers. Raises ``ImportRejected`` (invalid rows, not
    ``skip_invalid``, not ``dry_run``) or ``InvalidInput`` (unusable file) with nothing written."""
    require_import_role(actor)
    parsed = read_file(data, fmt)
    today = now.astimezone(ZoneInfo(TIMEZONE)).date()
    records, problems, existing = _check_against_desk(session, parsed, today, lock=not dry_run)
    emails = contacts.addresses_by_customer(session, [c.id for c in existing.values()])
    plan = _plan(records, existing, emails, actor=actor, now=now, policy=policy, progress=progress)
    report = ImportReport(
        format=parsed.format, rows=parsed.rows, created=tuple(plan.created), updated=tuple(plan.updated),
        unchanged=tuple(plan.unchanged), problems=tuple(sorted(problems, key=lambda p: p.line)),
        limit_changes=len(plan.limit_changes), ignored_columns=parsed.ignored_columns, dry_run=dry_run,
    )
    if dry_run:
        return report
    if report.problems and not skip_invalid:
        raise ImportRejected(report)
    if not (plan.inserts or plan.updates):
        return report
    plan.audit_rows.append(audit.entry(
        actor, "customer.import", "import", (source or parsed.format)[-64:],
        new={"created": len(plan.created), "updated": len(plan.updated), "unchanged": len(plan.unchanged),
             "skipped_lines": list(report.invalid_lines), "limit_changes": len(plan.limit_changes)},
        now=now,
    ))
    _write(session, plan, progress)
    return dataclasses.replace(report, applied=True)


def _check_against_desk(session: Session, parsed: cf.ParsedFile, today: dt.date, *, lock: bool):
    """The rules the file alone cannot check: limits in range, dates not in the future,
    ids that belong to the customer number (or to nobody yet)."""
    problems = list(parsed.problems)
    shown = {f: (h if parsed.format == "csv" else key) for f, h, key, _ in cf.FIELDS}
    existing = _existing(session, [r.number for r in parsed.records], lock=lock)
    given_ids = [r.id for r in parsed.records if r.id is not None]
    owners = _owners(session, given_ids)
    valid = []
    for rec in parsed.records:
        row = []
        if rec.credit_limit is not None:
            try:
                validate_limit(rec.credit_limit)
            except InvalidInput as exc:
                row.append(cf.RowProblem(rec.line, shown["credit_limit"], exc.message.rstrip(".")))
        if rec.customer_since is not None and rec.customer_since > today:
            row.append(cf.RowProblem(rec.line, shown["customer_since"], R_SINCE_FUTURE.format(
                value=rec.customer_since.strftime("%d.%m.%Y"))))
        if rec.id is not None:
            current = existing.get(rec.number)
            if current is not None and current.id != rec.id:
                row.append(cf.RowProblem(rec.line, shown["id"], R_ID_OTHER.format(number=rec.number)))
            elif current is None and rec.id in owners:
                row.append(cf.RowProblem(rec.line, shown["id"], R_ID_TAKEN.format(number=owners[rec.id])))
        if row:
            problems.extend(row)
        else:
            valid.append(rec)
    return valid, problems, existing


@dataclass(frozen=True)
class _Current:
    id: uuid.UUID
    number: str
    name: str
    email: str
    phone: str
    credit_limit: Decimal
    created_at: dt.datetime


def _existing(session: Session, numbers: Sequence[str], *, lock: bool) -> dict[str, _Current]:
    table = Customer.__table__
    cols = [table.c.id, table.c.number, table.c.name, table.c.email, table.c.phone, table.c.credit_limit,
            table.c.created_at]
    found: dict[str, _Current] = {}
    for i in range(0, len(numbers), CHUNK):
        stmt = select(*cols).where(table.c.number.in_(numbers[i:i + CHUNK]))
        if lock:
            stmt = stmt.with_for_update()
        for row in session.execute(stmt):
            found[row.number] = _Current(*row)
    return found


def _owners(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    table = Customer.__table__
    owners: dict[uuid.UUID, str] = {}
    for i in range(0, len(ids), CHUNK):
        for cid, number in session.execute(select(table.c.id, table.c.number).where(table.c.id.in_(ids[i:i + CHUNK]))):
            owners[cid] = number
    return owners


def berlin_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(ZoneInfo(TIMEZONE)).date()


@functools.lru_cache(maxsize=4096)
def berlin_midnight(day: dt.date) -> dt.datetime:
    local = dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(TIMEZONE))
    return local.astimezone(dt.timezone.utc)


def _plan(records, existing, emails, *, actor, now, policy, progress) -> _Plan:
    plan = _Plan()
    total = len(records)
    for n, rec in enumerate(records, 1):
        if progress and n % 1000 == 0:
            progress("check", n, total)
        current = existing.get(rec.number)
        if current is None:
            _plan_create(plan, rec, actor=actor, now=now, policy=policy)
        else:
            _plan_update(plan, rec, current, emails.get(current.id) or _legacy(current),
                         actor=actor, now=now)
    if progress:
        progress("check", total, total)
    return plan


def _legacy(current: _Current) -> list[str]:
    """A customer without contact rows (made before migration 0005 by a bulk loader)."""
    return [current.email] if current.email else []


def _plan_create(plan: _Plan, rec: cf.CustomerRecord, *, actor, now, policy) -> None:
    cid = rec.id or uuid.uuid4()
    limit = rec.credit_limit if rec.credit_limit is not None else policy.default_credit_limit
    plan.inserts.append({
        "id": cid, "number": rec.number, "name": rec.name, "email": rec.emails[0], "phone": rec.phone or "",
        "credit_limit": limit,
        "created_at": berlin_midnight(rec.customer_since) if rec.customer_since else now,
        "version": 1,
    })
    plan.email_rows.extend(contacts.email_rows(cid, rec.emails))
    # The audit text built directly (audit.entry's generic dump costs a third of the import).
    created = _to_json({"credit_limit": str(limit), "emails": list(rec.emails), "name": rec.name,
                        "number": rec.number, "source": IMPORT_REASON})
    plan.audit_rows.append(audit.entry(actor, "customer.create", "customer", cid, new=created, now=now))
    plan.created.append(rec.number)


def _plan_update(plan: _Plan, rec: cf.CustomerRecord, cur: _Current, cur_emails: list[str], *, actor, now) -> None:
    old: dict = {}
    new: dict = {}
    values = {"name": cur.name, "email": cur.email, "phone": cur.phone, "created_at": cur.created_at}

    def change(key: str, before, after, column: str | None = None, stored=None) -> None:
        if before != after:
            old[key], new[key] = before, after
            if column:
                values[column] = after if stored is None else stored

    change("name", cur.name, rec.name, "name")
    if list(rec.emails) != cur_emails:
        change("emails", cur_emails, list(rec.emails))
        values["email"] = rec.emails[0]
        plan.email_replaced.append(cur.id)
        plan.email_rows.extend(contacts.email_rows(cur.id, rec.emails))
    if rec.phone is not None:
        change("phone", cur.phone, rec.phone, "phone")
    if rec.customer_since is not None:
        change("customer_since", berlin_day(cur.created_at), rec.customer_since, "created_at",
               stored=berlin_midnight(rec.customer_since))
    limit_changed = rec.credit_limit is not None and rec.credit_limit != cur.credit_limit
    if not old and not limit_changed:
        plan.unchanged.append(rec.number)
        return
    limit = rec.credit_limit if limit_changed else cur.credit_limit
    plan.updates.append({"b_id": cur.id, **{f"b_{k}": v for k, v in values.items()}, "b_credit_limit": limit})
    if old:
        plan.audit_rows.append(audit.entry(
            actor, "customer.update", "customer", cur.id, old=old, new={**new, "source": IMPORT_REASON}, now=now,
        ))
    if limit_changed:
        # As services.orders.change_credit_limit records it, with the reason "Import".
        plan.limit_changes.append({
            "customer_id": cur.id, "old_limit": cur.credit_limit, "new_limit": rec.credit_limit,
            "reason": IMPORT_REASON, "agent_id": actor.id, "created_at": now,
        })
        plan.audit_rows.append(audit.entry(
            actor, "customer.credit_limit", "customer", cur.id, old={"credit_limit": cur.credit_limit},
            new={"credit_limit": rec.credit_limit, "reason": IMPORT_REASON}, now=now,
        ))
    plan.updated.append(rec.number)


def _write(session: Session, plan: _Plan, progress: Progress | None) -> None:
    conn = session.connection()
    table = Customer.__table__
    steps: list[tuple] = []
    if plan.inserts:
        steps.append((table, plan.inserts))
    if plan.updates:
        stmt = (
            update(table).where(table.c.id == bindparam("b_id"))
            .values(name=bindparam("b_name"), email=bindparam("b_email"), phone=bindparam("b_phone"),
                    credit_limit=bindparam("b_credit_limit"), created_at=bindparam("b_created_at"),
                    version=table.c.version + 1)
        )
        steps.append((stmt, plan.updates))
    if plan.email_replaced:
        emails = CustomerEmail.__table__
        for i in range(0, len(plan.email_replaced), CHUNK):
            conn.execute(delete(emails).where(emails.c.customer_id.in_(plan.email_replaced[i:i + CHUNK])))
    if plan.email_rows:
        steps.append((CustomerEmail.__table__, plan.email_rows))
    if plan.limit_changes:
        steps.append((CreditLimitChange.__table__, plan.limit_changes))
    steps.append((AuditLog.__table__, plan.audit_rows))
    total = sum(len(rows) for _, rows in steps)
    done = 0
    chunk = WRITE_CHUNK if progress else None
    try:
        for stmt, rows in steps:
            for i in range(0, len(rows), chunk or len(rows)):
                part = rows[i:i + chunk] if chunk else rows
                if isinstance(stmt, Table):
                    _insert_many(conn, stmt, part)
                else:
                    conn.execute(stmt, part)
                done += len(part)
                if progress:
                    progress("write", done, total)
    except IntegrityError:
        taken = _existing(session, [r["number"] for r in plan.inserts], lock=False) if plan.inserts else {}
        if taken:
            raise Conflict(MSG_RACE.format(number=next(iter(taken)))) from None
        raise
    own = [int(m.group(1)) - _OWN_NUMBER_BASE for n in plan.created if (m := _OWN_NUMBER.match(n))]
    if own and max(own) > 0:
        # The desk's own numbering (K-10001, …) continues after the imported ones.
        counters.bump_to_at_least(session, "customer", max(own))


def _insert_many(conn: Connection, table: Table, rows: list[dict]) -> None:
    """``conn.execute(insert(table), rows)`` without SQLAlchemy's per-row parameter work.

    The statement is compiled once for the connection's dialect and each column's bind
    processor (``Money`` → cents, ``UTCDateTime`` → naive UTC on SQLite, ``Uuid`` → hex on
    SQLite, …) is applied to the whole column at once, so the stored values are exactly
    what ``insert(table)`` stores, on SQLite and PostgreSQL alike; then one DBAPI
    ``executemany`` (errors still arrive as SQLAlchemy's ``IntegrityError``). Every row has
    the first row's keys.
    """
    keys = list(rows[0])
    dialect = conn.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    columns = {}
    for key in keys:
        values = [row[key] for row in rows]
        process = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            columns[key] = values
        elif len(distinct := set(values)) * 2 < len(values):
            # Repeated values (the import's one timestamp, customers since the same day):
            # each distinct one is converted once.
            done = {value: process(value) for value in distinct}
            columns[key] = [done[value] for value in values]
        else:
            columns[key] = list(map(process, values))
    if compiled.positional:
        params = list(zip(*(columns[name] for name in compiled.positiontup)))
    else:
        params = [dict(zip(keys, values)) for values in zip(*(columns[key] for key in keys))]
    conn.exec_driver_sql(compiled.string, params)


# --------------------------------------------------------------------------- export


def export_customers(session: Session, *, fmt: str) -> bytes:
    """Every customer in the import format, by customer number (a round trip is lossless)."""
    return cf.format_file(customer_records(session), fmt)


def customer_records(session: Session) -> list[cf.CustomerRecord]:
    table = Customer.__table__
    rows = session.execute(
        select(table.c.id, table.c.number, table.c.name, table.c.email, table.c.phone, table.c.credit_limit,
               table.c.created_at).order_by(table.c.number)
    ).all()
    emails = contacts.addresses_by_customer(session)
    return [
        cf.CustomerRecord(
            number=r.number, name=r.name, emails=tuple(emails.get(r.id) or ([r.email] if r.email else [])),
            phone=r.phone, credit_limit=r.credit_limit, customer_since=berlin_day(r.created_at), id=r.id,
        )
        for r in rows
    ]
