"""A customer's contact e-mail addresses (one or more; docs/rules.md#setup-customers).

The list lives in ``customer_email`` in the billing system's order; ``customer.email``
mirrors the first address for the readers that show one. Incoming mail is matched on the
lower-cased address (``customers_by_address``).
"""

from __future__ import annotations

import uuid
from typing import Iterable, Sequence

from sqlalchemy import delete, insert, select, update
from sqlmodel import Session

from models.tables import Customer, CustomerEmail

from ..rules.textcheck import email_key
from . import corerows
from .readmodels import CustomerHit


def email_rows(customer_id: uuid.UUID, addresses: Sequence[str]) -> list[dict]:
    """The ``customer_email`` rows for one customer's list, ready for a Core insert."""
    return [
        {"customer_id": customer_id, "position": i, "address": a, "address_key": email_key(a)}
        for i, a in enumerate(addresses)
    ]


def addresses_of(session: Session, customer_id: uuid.UUID) -> tuple[str, ...]:
    return corerows.addresses_of(corerows.conn_of(session), customer_id)


def addresses_by_customer(session: Session, customer_ids: Iterable[uuid.UUID] | None = None) -> dict[uuid.UUID, list[str]]:
    """Every listed customer's addresses in order (all customers for ``None``)."""
    stmt = select(CustomerEmail.customer_id, CustomerEmail.address).order_by(
        CustomerEmail.customer_id, CustomerEmail.position
    )
    found: dict[uuid.UUID, list[str]] = {}
    if customer_ids is None:
        chunks: list = [None]
    else:
        ids = list(customer_ids)
        chunks = [ids[i:i + 500] for i in range(0, len(ids), 500)]
    for chunk in chunks:
        query = stmt if chunk is None else stmt.where(CustomerEmail.customer_id.in_(chunk))
        for customer_id, address in session.execute(query):
            found.setdefault(customer_id, []).append(address)
    return found


def set_addresses(session: Session, customer_id: uuid.UUID, addresses: Sequence[str]) -> None:
    """Replace the customer's list (and the mirrored first address)."""
    session.execute(delete(CustomerEmail).where(CustomerEmail.customer_id == customer_id))
    rows = email_rows(customer_id, addresses)
    if rows:
        session.execute(insert(CustomerEmail), rows)
    session.execute(
        update(Customer).where(Customer.id == customer_id).values(email=addresses[0] if addresses else "")
        .execution_options(synchronize_session=False)
    )


def customers_by_address(session: Session, address: str) -> list[CustomerHit]:
    """The customers an incoming mail from ``address`` may belong to (case-insensitive)."""
    return corerows.customers_by_address(corerows.conn_of(session), address)
