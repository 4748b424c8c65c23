"""Real-time orders against the credit limit (DOMAIN.md, "Credit limit for real-time orders").

An order within the limit is executed at once through the registry; one over the limit
is held with a process number and lands in contract processing; a registry failure
opens a technical ticket. The customer row is locked for the whole check, so two
orders of one customer cannot both squeeze under the limit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, type_coerce, update
from sqlmodel import Session

from models.enums import OrderStatus, Priority, Queue, Role, TicketKind
from models.tables import Customer, Order
from models.types import CENT, Money

from .. import texts
from ..formatting import datetime_de, money, today_berlin
from ..settings import Policy
from . import audit, counters, journal, tickets
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .readmodels import AgentRef, CustomerHit, OrderView
from .registry import Registry, RegistryError

# Executed-but-unsettled orders and held orders count against the limit.
EXPOSURE_STATUSES = (OrderStatus.EXECUTED, OrderStatus.HELD)
# A technical bound (the cents must fit a BIGINT), not a policy number.
MAX_AMOUNT = Decimal("9999999.99")
MAX_ITEM = 255
CONSPICUOUS_FLAG = "conspicuous"
SETTLE_ROLES = frozenset({Role.CONTRACT, Role.ADMIN, Role.SYSTEM})

# User-facing text (German).
MSG_AMOUNT = "Der Betrag muss ein positiver Euro-Betrag mit höchstens zwei Nachkommastellen sein."
MSG_AMOUNT_TOO_BIG = "Der Betrag ist zu groß."
MSG_ITEM = "Eine Bestellung braucht einen Artikel (höchstens 255 Zeichen)."
MSG_NO_CUSTOMER = "Kunde {customer_id} gibt es nicht."
MSG_NO_ORDER = "Bestellung {order_id} gibt es nicht."
MSG_NOT_SETTLEABLE = "Nur ausgeführte Bestellungen können abgerechnet werden (Bestellung {order_id} ist {status})."
MSG_SETTLE_DENIED = "{login} darf Bestellungen nicht als abgerechnet markieren."
MSG_ORDER_CHANGED = "Bestellung {order_id} wurde inzwischen geändert; bitte neu laden."

NOTICE_EXECUTED = "Bestellung {item} über {amount} ausgeführt."
NOTICE_HELD = (
    "Bestellung {item} über {amount} angehalten: Das Kreditlimit von {limit} wäre überschritten. "
    "Vorgangsnummer {process}. Die Vertragsbearbeitung prüft den Vorgang; der Kunde muss nichts tun."
)
NOTICE_FAILED = "Bestellung {item} nicht ausgeführt: {error} Technik-Ticket #{ticket}."

HELD_SUBJECT = "Bestellung angehalten: {item} ({process}) – {customer}"
HELD_BODY = """Echtzeitbestellung über dem Kreditlimit angehalten.

Vorgangsnummer: {process}
Kunde: {customer} ({number}): {customer_id}
Bestellung: {item}
Betrag: {amount}
Kreditlimit: {limit}
Bisheriges Obligo: {exposure}
Obligo mit dieser Bestellung: {exposure_after}
Überschreitung: {over}
Eingegangen: {placed}

{conspicuous}"""
HELD_CONSPICUOUS = "Auffällig – bitte Rücksprache mit dem Kunden halten:\n{reasons}"
HELD_PLAIN = "Nicht auffällig – freigeben oder ablehnen, keine Rücksprache nötig."
REASON_OVER = "- Überschreitung um {over}, mehr als {percent} % des Limits ({threshold})"
REASON_BURST = "- {count} Echtzeitbestellungen innerhalb von {minutes} Minuten (mehr als {limit})"
REASON_YOUNG = "- Neukunde seit {days} Tagen (jünger als {limit} Tage)"

FAILED_SUBJECT = "Vergabestelle: {item} für {customer} nicht ausgeführt"
FAILED_BODY = """Die Echtzeitbestellung konnte nicht ausgeführt werden.

Kunde: {customer} ({number}): {customer_id}
Bestellung: {item}
Betrag: {amount}
Eingegangen: {placed}
Fehler der Vergabestelle: {error}

Die Bestellung belastet das Kreditlimit nicht."""

CUSTOMER_HELD_SUBJECT = "Ihre Bestellung {item} – Vorgangsnummer {process}"
CUSTOMER_HELD_BODY = """Guten Tag {customer},

Ihre Bestellung „{item}“ über {amount} überschreitet Ihr Kreditlimit für Echtzeitbestellungen
({limit}). Wir führen sie deshalb nicht sofort aus: Unsere Vertragsbearbeitung prüft den
Vorgang und meldet sich, sobald er entschieden ist. Sie müssen nichts weiter tun.

Ihre Vorgangsnummer: {process}

Mit freundlichen Grüßen
Ihr Support-Team"""


@dataclass(frozen=True)
class OrderResult:
    order_id: int
    status: str  # executed | held | failed
    process_number: str | None
    ticket_number: int | None
    customer: CustomerHit
    item: str
    amount: Decimal
    limit: Decimal
    exposure: Decimal  # after this order
    headroom: Decimal  # limit - exposure after this order (negative when held)
    conspicuous_reasons: tuple[str, ...]
    notice: str  # German, for whoever placed the order

    @property
    def conspicuous(self) -> bool:
        return bool(self.conspicuous_reasons)


def exposure(session: Session, customer_id: uuid.UUID) -> Decimal:
    # The sum runs over stored cents; ``type_coerce`` turns it back into Decimal EUR.
    total = type_coerce(func.coalesce(func.sum(Order.amount), 0), Money)
    return session.execute(
        select(total).where(Order.customer_id == customer_id, Order.status.in_(EXPOSURE_STATUSES))
    ).scalar_one()


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


def validate_amount(amount) -> Decimal:
    """A positive, finite EUR amount with at most two decimals, else ``InvalidInput``."""
    if isinstance(amount, (bool, float)):
        raise InvalidInput(MSG_AMOUNT)
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip().replace(",", "."))
    except (ArithmeticError, ValueError, TypeError):
        raise InvalidInput(MSG_AMOUNT) from None
    if not value.is_finite() or value <= 0 or value != value.quantize(CENT):
        raise InvalidInput(MSG_AMOUNT)
    if value > MAX_AMOUNT:
        raise InvalidInput(MSG_AMOUNT_TOO_BIG)
    return value.quantize(CENT)


def conspicuous_reasons(
    session: Session, customer: Customer, *, over: Decimal, limit: Decimal, now: dt.datetime, policy: Policy
) -> tuple[str, ...]:
    """Why a held order is conspicuous (DOMAIN.md); empty when it is not.

    Call after the order is flushed: it counts among the recent orders.
    """
    reasons = []
    threshold = (limit * policy.conspicuous_over_limit_percent / 100).quantize(CENT)
    if over > threshold:
        reasons.append(
            REASON_OVER.format(
                over=money(over), percent=policy.conspicuous_over_limit_percent, threshold=money(threshold)
            )
        )
    since = now - dt.timedelta(minutes=policy.conspicuous_orders_window_minutes)
    recent = session.execute(
        select(func.count()).select_from(Order).where(
            Order.customer_id == customer.id, Order.created_at > since, Order.created_at <= now
        )
    ).scalar_one()
    if recent > policy.conspicuous_orders_count:
        reasons.append(
            REASON_BURST.format(
                count=recent,
                minutes=policy.conspicuous_orders_window_minutes,
                limit=policy.conspicuous_orders_count,
            )
        )
    age = now - customer.created_at
    if age < dt.timedelta(days=policy.conspicuous_customer_age_days):
        reasons.append(REASON_YOUNG.format(days=age.days, limit=policy.conspicuous_customer_age_days))
    return tuple(reasons)


def place_order(
    session: Session,
    actor: AgentRef,
    *,
    customer_id: uuid.UUID,
    item: str,
    amount: Decimal,
    now: dt.datetime,
    policy: Policy,
    registry: Registry,
) -> OrderResult:
    """Execute, hold or fail a real-time order (see the module docstring)."""
    amount = validate_amount(amount)
    item = (item or "").strip()
    if not item or len(item) > MAX_ITEM:
        raise InvalidInput(MSG_ITEM)
    customer = lock_customer(session, customer_id)
    limit = customer.credit_limit
    before = exposure(session, customer_id)
    hit = CustomerHit(id=customer.id, number=customer.number, name=customer.name, email=customer.email)
    order = Order(
        customer_id=customer_id, item=item, amount=amount, status=OrderStatus.HELD,
        placed_by_id=actor.id, created_at=now,
    )
    facts = dict(
        customer=customer.name, number=customer.number, customer_id=customer.id, item=item,
        amount=money(amount), limit=money(limit), placed=datetime_de(now),
    )
    if before + amount <= limit:
        try:
            registry.register(item, customer.number)
        except RegistryError as exc:
            return _fail(session, actor, order, hit, facts, str(exc), limit=limit, before=before, now=now)
        order.status = OrderStatus.EXECUTED
        order.decided_at = now
        session.add(order)
        session.flush()
        _audit(session, actor, order, now)
        after = before + amount
        return OrderResult(
            order_id=order.id, status=order.status, process_number=None, ticket_number=None, customer=hit,
            item=item, amount=amount, limit=limit, exposure=after, headroom=limit - after,
            conspicuous_reasons=(), notice=NOTICE_EXECUTED.format(**facts),
        )
    return _hold(session, actor, order, customer, hit, facts, limit=limit, before=before, now=now, policy=policy)


def _audit(session: Session, actor: AgentRef, order: Order, now: dt.datetime) -> None:
    audit.record(
        session, actor, "order.place", "order", order.id,
        new={
            "customer_id": order.customer_id, "item": order.item, "amount": order.amount,
            "status": order.status, "process_number": order.process_number, "error": order.error,
        },
        now=now,
    )


def _fail(session, actor, order, hit, facts, error, *, limit, before, now) -> OrderResult:
    order.status = OrderStatus.FAILED
    order.error = error
    order.decided_at = now
    session.add(order)
    session.flush()
    _audit(session, actor, order, now)
    ticket = tickets.open_ticket(
        session, actor,
        queue=Queue.TECHNICAL,
        kind=TicketKind.REGISTRY_FAILURE,
        priority=Priority.HIGH,
        subject=FAILED_SUBJECT.format(**facts),
        body=FAILED_BODY.format(error=error, **facts),
        customer_id=order.customer_id,
        order_id=order.id,
        now=now,
    )
    return OrderResult(
        order_id=order.id, status=order.status, process_number=None, ticket_number=ticket.number,
        customer=hit, item=order.item, amount=order.amount, limit=limit, exposure=before,
        headroom=limit - before, conspicuous_reasons=(),
        notice=NOTICE_FAILED.format(error=error, ticket=ticket.number, **facts),
    )


def _hold(session, actor, order, customer, hit, facts, *, limit, before, now, policy) -> OrderResult:
    year = today_berlin(now).year
    process = f"VG-{year}-{counters.next_value(session, f'process-{year}'):06d}"
    order.process_number = process
    session.add(order)
    session.flush()
    _audit(session, actor, order, now)
    after = before + order.amount
    over = after - limit
    reasons = conspicuous_reasons(session, customer, over=over, limit=limit, now=now, policy=policy)
    verdict = HELD_CONSPICUOUS.format(reasons="\n".join(reasons)) if reasons else HELD_PLAIN
    ticket = tickets.open_ticket(
        session, actor,
        queue=Queue.CONTRACT,
        kind=TicketKind.HELD_ORDER,
        priority=Priority.HIGH if reasons else Priority.NORMAL,
        subject=HELD_SUBJECT.format(process=process, **facts),
        body=HELD_BODY.format(
            process=process, exposure=money(before), exposure_after=money(after), over=money(over),
            conspicuous=verdict, **facts,
        ),
        customer_id=customer.id,
        order_id=order.id,
        flags=(CONSPICUOUS_FLAG,) if reasons else (),
        now=now,
    )
    journal.log_message(
        session,
        customer_id=customer.id,
        kind="order_held",
        subject=CUSTOMER_HELD_SUBJECT.format(process=process, **facts),
        body=CUSTOMER_HELD_BODY.format(process=process, **facts),
        now=now,
        actor=actor,
    )
    return OrderResult(
        order_id=order.id, status=order.status, process_number=process, ticket_number=ticket.number,
        customer=hit, item=order.item, amount=order.amount, limit=limit, exposure=after,
        headroom=limit - after, conspicuous_reasons=reasons,
        notice=NOTICE_HELD.format(process=process, **facts),
    )


def settle_order(session: Session, actor: AgentRef, *, order_id: int, now: dt.datetime) -> OrderView:
    """An executed order was invoiced and paid: its amount no longer counts against the limit."""
    if not (actor.roles & SETTLE_ROLES):
        raise PermissionDenied(MSG_SETTLE_DENIED.format(login=actor.login))
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(MSG_NO_ORDER.format(order_id=order_id))
    if order.status != OrderStatus.EXECUTED:
        raise InvalidInput(
            MSG_NOT_SETTLEABLE.format(order_id=order_id, status=texts.ORDER_STATUS[OrderStatus(order.status)])
        )
    result = session.execute(
        update(Order)
        .where(Order.id == order_id, Order.version == order.version, Order.status == OrderStatus.EXECUTED)
        .values(status=OrderStatus.SETTLED, settled_at=now, version=Order.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(MSG_ORDER_CHANGED.format(order_id=order_id))
    session.refresh(order)
    audit.record(
        session, actor, "order.settle", "order", order_id,
        old={"status": OrderStatus.EXECUTED}, new={"status": OrderStatus.SETTLED}, now=now,
    )
    return order_view(order)


def order_view(order: Order) -> OrderView:
    return OrderView(
        id=order.id,
        item=order.item,
        amount=order.amount,
        status=order.status,
        process_number=order.process_number,
        created_at=order.created_at,
    )


__all__ = [
    "EXPOSURE_STATUSES",
    "OrderResult",
    "conspicuous_reasons",
    "exposure",
    "lock_customer",
    "order_view",
    "place_order",
    "settle_order",
    "validate_amount",
]
