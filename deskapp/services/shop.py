"""Hour packages bought in the shop (docs/rules.md#setup-packages).

They arrive like orders, as the ``system`` agent, with the shop's booking reference; the
same reference twice books once (the shop may retry). The booking itself is
``budget.book_package``; this module makes it idempotent.

Why it is race-free: the customer row is locked first (``FOR UPDATE`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite), so a second booking of the same reference waits and then
finds the first one. Two bookings of one reference for *different* customers meet at the
unique index instead: the loser's insert fails inside a savepoint and it reports the
winner's package.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.tables import Customer, HourPackage

from ..formatting import date_de, hours_label, money, today_berlin
from ..rules.textcheck import control_problem
from ..settings import Policy
from . import budget
from .errors import Conflict, InvalidInput
from .customers import lock_customer
from .budget import PackageView
from .readmodels import AgentRef, CustomerHit

MAX_REF = 64
MSG_REF = "Die Shop-Referenz fehlt oder ist zu lang (1 bis 64 Zeichen, ohne Leerzeichen)."
MSG_REF_CONTROL = "Die Shop-Referenz {problem}."
MSG_REF_OTHER = (
    "Die Shop-Referenz {ref} ist schon gebucht – für Kunde {number}, {hours} für {price}, gekauft "
    "{purchased} (Paket {package}) – mit anderen Angaben als jetzt. Nichts geändert."
)


@dataclass(frozen=True)
class ShopBooking:
    """The package behind a shop reference; ``created`` is False when it was booked before."""

    created: bool
    shop_ref: str
    customer: CustomerHit
    package: PackageView


def validate_ref(raw: str) -> str:
    ref = (raw or "").strip()
    if not ref or len(ref) > MAX_REF or any(ch.isspace() for ch in ref):
        raise InvalidInput(MSG_REF)
    problem = control_problem(ref)
    if problem:
        raise InvalidInput(MSG_REF_CONTROL.format(problem=problem))
    return ref


def book_shop_package(
    session: Session,
    actor: AgentRef,
    *,
    customer_id: uuid.UUID,
    minutes: int,
    price: Decimal,
    purchased_on: dt.date,
    shop_ref: str,
    now: dt.datetime,
    policy: Policy,
    label: str = "",
) -> ShopBooking:
    """Book the package once per ``shop_ref``; a repeat with the same facts changes nothing,
    a repeat with other facts is a ``Conflict``."""
    ref = validate_ref(shop_ref)
    customer = lock_customer(session, customer_id)
    existing = _by_ref(session, ref)
    if existing is None:
        try:
            with session.begin_nested():
                view = budget.book_package(
                    session, actor, customer_id=customer.id, minutes=minutes, price=price,
                    purchased_on=purchased_on, now=now, policy=policy, label=label, shop_ref=ref,
                )
            return ShopBooking(created=True, shop_ref=ref, customer=_hit(customer), package=view)
        except IntegrityError:
            existing = _by_ref(session, ref)
            if existing is None:
                raise
    same = (
        existing.customer_id == customer.id and existing.minutes == minutes
        and existing.price == Decimal(price) and existing.purchased_on == purchased_on
    )
    if not same:
        owner = session.get(Customer, existing.customer_id)
        raise Conflict(MSG_REF_OTHER.format(
            ref=ref, number=owner.number, hours=hours_label(existing.minutes), price=money(existing.price),
            purchased=date_de(existing.purchased_on), package=existing.id,
        ))
    view = budget.package_view(existing, budget.load_budget(session, customer.id, today_berlin(now)))
    return ShopBooking(created=False, shop_ref=ref, customer=_hit(customer), package=view)


def _by_ref(session: Session, ref: str) -> HourPackage | None:
    return session.execute(select(HourPackage).where(HourPackage.shop_ref == ref)).scalar_one_or_none()


def _hit(c: Customer) -> CustomerHit:
    return CustomerHit(id=c.id, number=c.number, name=c.name, email=c.email)
