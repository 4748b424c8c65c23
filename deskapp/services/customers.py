"""Customers: creation, lookup, search, the master data an agent edits on the card, and
the row lock that serialises a customer's money (orders, hour packages, extension
requests, reminders). The card itself lives in ``card.py``; the import in
``customer_import.py``."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, or_, select
from sqlmodel import Session

from models.enums import Role
from models.tables import AuditLog, Customer, CustomerEmail

from ..formatting import date_de, today_berlin
from ..rules.textcheck import control_problem, email_key, email_problem
from ..settings import TIMEZONE
from . import audit, counters
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .readmodels import AgentRef, CustomerHit
from .versioning import bump

# Who edits master data on the card (docs/rules.md#setup-customers); as the import.
MASTER_ROLES = frozenset({Role.CONTRACT, Role.ADMIN})
MAX_NAME = 255
MAX_PHONE = 64
MAX_EMAILS = 20

_ADDRESS_SEPARATORS = re.compile(r"[,;\s]+")

MSG_NO_CUSTOMER = "Kunde {customer_id} gibt es nicht."
MSG_MASTER_DENIED = "{login} darf Stammdaten von Kunden nicht ändern (nur Vertragsbearbeitung und Admin)."
MSG_NAME = "Ein Kunde braucht einen Namen (höchstens 255 Zeichen)."
MSG_NAME_CONTROL = "Der Name {problem}."
MSG_PHONE_LONG = "Die Telefonnummer ist länger als 64 Zeichen."
MSG_PHONE_CONTROL = "Die Telefonnummer {problem}."
MSG_NO_EMAIL = "Ein Kunde braucht mindestens eine E-Mail-Adresse."
MSG_TOO_MANY_EMAILS = "Höchstens 20 E-Mail-Adressen je Kunde."
MSG_EMAIL = "{problem}."
MSG_EMAIL_TWICE = "„{value}“ steht zweimal in der Liste."
MSG_SINCE_FUTURE = "„Kunde seit“ kann nicht in der Zukunft liegen ({day})."
MSG_UNCHANGED = "Nichts geändert."
MSG_MASTER_CHANGED = "Kunde {number} wurde inzwischen von {who} geändert; die Daten sind neu geladen."


def create_customer(
    session: Session,
    actor: AgentRef,
    *,
    name: str,
    now: dt.datetime,
    credit_limit: Decimal,
    email: str = "",
    phone: str = "",
    customer_id: uuid.UUID | None = None,
    number: str | None = None,
    created_at: dt.datetime | None = None,
) -> CustomerHit:
    name = name.strip()
    if not name:
        raise InvalidInput("Ein Kunde braucht einen Namen.")
    if credit_limit < 0:
        raise InvalidInput("Das Kreditlimit kann nicht negativ sein.")
    if number is None:
        number = f"K-{10000 + counters.next_value(session, 'customer')}"
    customer = Customer(
        id=customer_id or uuid.uuid4(),
        number=number,
        name=name,
        email=email,
        phone=phone,
        credit_limit=credit_limit,
        created_at=created_at or now,
    )
    session.add(customer)
    session.flush()
    if email:  # the contact list (contacts.py) starts with the one address given here
        from . import contacts

        session.execute(insert(CustomerEmail), contacts.email_rows(customer.id, [email]))
    audit.record(
        session, actor, "customer.create", "customer", customer.id,
        new={"number": number, "name": name, "credit_limit": credit_limit}, now=now,
    )
    return to_hit(customer)


def lock_customer(session: Session, customer_id: uuid.UUID) -> Customer:
    """The customer row, locked until the transaction ends.

    ``FOR UPDATE`` on PostgreSQL; SQLite ignores it, where ``write_session`` already
    holds the database's write lock (``BEGIN IMMEDIATE``).
    """
    customer = session.execute(
        select(Customer).where(Customer.id == customer_id).with_for_update()
    ).scalar_one_or_none()
    if customer is None:
        raise NotFound(MSG_NO_CUSTOMER.format(customer_id=customer_id))
    return customer


def to_hit(c: Customer) -> CustomerHit:
    return CustomerHit(id=c.id, number=c.number, name=c.name, email=c.email)


def resolve(session: Session, ref: str) -> CustomerHit:
    """A customer by UUID or customer number (as the shop and the CLI name them)."""
    ref = ref.strip()
    customer = None
    try:
        customer = session.get(Customer, uuid.UUID(ref))
    except ValueError:
        customer = session.execute(select(Customer).where(Customer.number == ref)).scalar()
    if customer is None:
        raise NotFound(f"Kunde '{ref}' gibt es nicht.")
    return to_hit(customer)


def search(session: Session, query: str, *, limit: int = 50) -> list[CustomerHit]:
    """By name (any part), customer number (prefix) or id (full or prefix)."""
    query = query.strip()
    stmt = select(Customer)
    if query:
        like = f"%{query.lower()}%"
        clauses = [
            func.lower(Customer.name).like(like),
            func.lower(Customer.number).like(f"{query.lower()}%"),
            func.lower(Customer.email).like(like),
        ]
        try:
            clauses.append(Customer.id == uuid.UUID(query))
        except ValueError:
            pass
        stmt = stmt.where(or_(*clauses))
    rows = session.execute(stmt.order_by(Customer.name, Customer.number).limit(limit)).scalars()
    return [to_hit(c) for c in rows]


# -- master data (the card's ``E``) -----------------------------------------------------


@dataclass(frozen=True)
class CustomerMaster:
    """A customer's master data as the card's edit form shows it, with the version it read."""

    id: uuid.UUID
    number: str
    name: str
    emails: tuple[str, ...]
    phone: str
    customer_since: dt.date
    version: int


def master_data(session: Session, customer_id: uuid.UUID) -> CustomerMaster:
    from . import contacts

    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(MSG_NO_CUSTOMER.format(customer_id=customer_id))
    return _master(customer, contacts.addresses_of(session, customer.id))


def _master(customer: Customer, emails: Sequence[str]) -> CustomerMaster:
    emails = tuple(emails) or ((customer.email,) if customer.email else ())
    return CustomerMaster(
        id=customer.id, number=customer.number, name=customer.name, emails=emails, phone=customer.phone,
        customer_since=today_berlin(customer.created_at), version=customer.version,
    )


def split_addresses(raw: str) -> list[str]:
    """Addresses as typed: separated by commas, semicolons, spaces or line breaks."""
    return [a for a in _ADDRESS_SEPARATORS.split(raw or "") if a]


def update_master_data(
    session: Session,
    actor: AgentRef,
    *,
    customer_id: uuid.UUID,
    seen_version: int,
    name: str,
    emails: Sequence[str],
    phone: str,
    customer_since: dt.date,
    now: dt.datetime,
) -> CustomerMaster:
    """Change name, contact addresses, phone and "customer since" in one version-checked
    update (contract processing and admins); the audit entry holds what changed, old → new.

    Every refusal is an ``InvalidInput`` naming its field, before anything is written; a
    customer changed since ``seen_version`` was read is a ``Conflict`` naming who changed it.
    """
    from . import contacts

    if actor.is_system or not (actor.roles & MASTER_ROLES):
        raise PermissionDenied(MSG_MASTER_DENIED.format(login=actor.login))
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(MSG_NAME, field="name")
    if problem := control_problem(name):
        raise InvalidInput(MSG_NAME_CONTROL.format(problem=problem), field="name")
    phone = (phone or "").strip()
    if len(phone) > MAX_PHONE:
        raise InvalidInput(MSG_PHONE_LONG, field="phone")
    if problem := control_problem(phone):
        raise InvalidInput(MSG_PHONE_CONTROL.format(problem=problem), field="phone")
    addresses = _check_addresses(emails)
    if customer_since > today_berlin(now):
        raise InvalidInput(MSG_SINCE_FUTURE.format(day=date_de(customer_since)), field="customer_since")

    customer = lock_customer(session, customer_id)
    if customer.version != seen_version:
        raise Conflict(MSG_MASTER_CHANGED.format(number=customer.number, who=_last_editor(session, customer.id)),
                       current=master_data(session, customer.id))
    before = _master(customer, contacts.addresses_of(session, customer.id))
    old: dict = {}
    new: dict = {}
    values: dict = {}
    for key, was, wanted in (("name", before.name, name), ("phone", before.phone, phone)):
        if was != wanted:
            old[key], new[key], values[key] = was, wanted, wanted
    if list(before.emails) != addresses:
        old["emails"], new["emails"] = list(before.emails), addresses
    if before.customer_since != customer_since:
        old["customer_since"], new["customer_since"] = before.customer_since.isoformat(), customer_since.isoformat()
        local = dt.datetime(customer_since.year, customer_since.month, customer_since.day, tzinfo=ZoneInfo(TIMEZONE))
        values["created_at"] = local.astimezone(dt.timezone.utc)
    if not old:
        raise InvalidInput(MSG_UNCHANGED)
    if not bump(session, Customer, customer.id, seen_version, **values):
        raise Conflict(MSG_MASTER_CHANGED.format(number=customer.number, who=_last_editor(session, customer.id)))
    if "emails" in old:
        contacts.set_addresses(session, customer.id, addresses)
    audit.record(session, actor, "customer.update", "customer", customer.id, old=old, new=new, now=now)
    session.refresh(customer)
    return _master(customer, contacts.addresses_of(session, customer.id))


def _check_addresses(emails: Sequence[str]) -> list[str]:
    addresses = [a.strip() for a in emails if a and a.strip()]
    if not addresses:
        raise InvalidInput(MSG_NO_EMAIL, field="emails")
    if len(addresses) > MAX_EMAILS:
        raise InvalidInput(MSG_TOO_MANY_EMAILS, field="emails")
    seen: set[str] = set()
    for address in addresses:
        if problem := email_problem(address):
            raise InvalidInput(MSG_EMAIL.format(problem=problem), field="emails")
        if email_key(address) in seen:
            raise InvalidInput(MSG_EMAIL_TWICE.format(value=address), field="emails")
        seen.add(email_key(address))
    return addresses


def _last_editor(session: Session, customer_id: uuid.UUID) -> str:
    """Who changed the customer last (the audit log), for the conflict message."""
    login = session.execute(
        select(AuditLog.agent_login)
        .where(AuditLog.entity == "customer", AuditLog.entity_id == str(customer_id))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(1)
    ).scalar()
    return login or "jemand anderem"
