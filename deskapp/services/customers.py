"""Customers: creation, lookup, search and the row lock that serialises a customer's
money (orders, hour packages, extension requests, reminders). The card itself lives in
``card.py``."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import func, insert, or_, select
from sqlmodel import Session

from models.tables import Customer, CustomerEmail

from . import audit, counters
from .errors import InvalidInput, NotFound
from .readmodels import AgentRef, CustomerHit

MSG_NO_CUSTOMER = "Kunde {customer_id} gibt es nicht."


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
