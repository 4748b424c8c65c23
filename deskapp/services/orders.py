"""Real-time orders against the credit limit (DOMAIN.md, "Credit limit for real-time orders")."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select, type_coerce
from sqlmodel import Session

from models.enums import OrderStatus
from models.tables import Order
from models.types import Money

# Executed-but-unsettled orders and held orders count against the limit.
EXPOSURE_STATUSES = (OrderStatus.EXECUTED, OrderStatus.HELD)


def exposure(session: Session, customer_id: uuid.UUID) -> Decimal:
    # The sum runs over stored cents; ``type_coerce`` turns it back into Decimal EUR.
    total = type_coerce(func.coalesce(func.sum(Order.amount), 0), Money)
    return session.execute(
        select(total).where(Order.customer_id == customer_id, Order.status.in_(EXPOSURE_STATUSES))
    ).scalar_one()
