"""The customer card (Visitenkarte, docs/rules.md#customer-card).

One read: master data, credit limit against exposure, the hour budget, the booking
history, open tickets and tasks (with the workaround flag), recent orders, the message
log and the customer file. Every list is bounded; the card carries the full counts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session

from models.enums import TaskStatus
from models.tables import (
    Agent,
    Customer,
    CustomerFileEntry,
    HourPackage,
    MessageLogEntry,
    Order,
    Task,
    Ticket,
)

from ..formatting import today_berlin
from ..settings import Policy
from . import budget as budget_service
from . import orders, tickets
from .budget import BudgetPoint, PackageView, TaskView
from .errors import NotFound
from .journal import LogEntryView
from .orders import OrderView
from .readmodels import TicketRow

CARD_LIST_LIMIT = 50  # open tickets, open tasks, message log, customer file
CARD_ORDER_LIMIT = 20


@dataclass(frozen=True)
class BudgetSummary:
    valid_minutes: int
    blocked_minutes: int
    expired_minutes: int
    next_expiry: dt.date | None
    days_left: int | None
    booked_minutes: int = 0
    used_minutes: int = 0


@dataclass(frozen=True)
class CustomerCard:
    id: uuid.UUID
    number: str
    name: str
    email: str
    phone: str
    created_at: dt.datetime
    credit_limit: Decimal
    exposure: Decimal
    headroom: Decimal
    budget: BudgetSummary
    packages: tuple[PackageView, ...]
    orders: tuple[OrderView, ...]
    open_tickets: tuple[TicketRow, ...]
    tasks: tuple[TaskView, ...]
    message_log: tuple[LogEntryView, ...]
    customer_file: tuple[LogEntryView, ...]
    flags: tuple[str, ...] = field(default=())  # repeat_case | over_limit | budget_warn | budget_critical
    # The lists above are bounded; these are the full counts behind them.
    open_tickets_total: int = 0
    tasks_total: int = 0
    orders_total: int = 0
    message_log_total: int = 0
    customer_file_total: int = 0
    # Tasks created in the repeat-case window whose deadline sat on a budget expiry.
    workaround_count: int = 0
    as_of: dt.datetime | None = None
    # The budget over the last months, oldest first (services.budget.budget_history).
    budget_trend: tuple[BudgetPoint, ...] = ()


def _as_uuid(customer_id: uuid.UUID | str) -> uuid.UUID:
    if isinstance(customer_id, uuid.UUID):
        return customer_id
    try:
        return uuid.UUID(str(customer_id).strip())
    except ValueError:
        raise NotFound(f"Kunde '{customer_id}' gibt es nicht.") from None


def _count(session: Session, *where) -> int:
    return int(session.execute(select(func.count()).where(*where)).scalar_one())


def customer_card(
    session: Session,
    customer_id: uuid.UUID | str,
    *,
    now: dt.datetime,
    policy: Policy,
    limit: int = CARD_LIST_LIMIT,
    order_limit: int = CARD_ORDER_LIMIT,
) -> CustomerCard:
    cid = _as_uuid(customer_id)
    customer = session.get(Customer, cid)
    if customer is None:
        raise NotFound(f"Kunde {cid} gibt es nicht.")
    today = today_berlin(now)

    # Credit: exposure against the limit.
    exposure = orders.exposure(session, cid)
    headroom = customer.credit_limit - exposure

    # Hour budget and the booking history (newest purchase first).
    budget = budget_service.load_budget(session, cid, today)
    package_rows = session.execute(
        select(HourPackage)
        .where(HourPackage.customer_id == cid)
        .order_by(HourPackage.purchased_on.desc(), HourPackage.id.desc())
    ).scalars()
    packages = tuple(budget_service.package_view(p, budget) for p in package_rows)
    summary = BudgetSummary(
        valid_minutes=budget.valid,
        blocked_minutes=budget.blocked,
        expired_minutes=budget.expired,
        next_expiry=budget.next_expiry,
        days_left=budget.days_left,
        booked_minutes=budget.booked,
        used_minutes=budget.used,
    )

    # Open tasks, earliest deadline first (no deadline last), with the workaround flag.
    # The flag checks the current expiries; the repeat case also those extensions replaced.
    expiries = budget_service.current_expiry_dates(session, cid)
    open_task = (Task.customer_id == cid, Task.status == TaskStatus.OPEN)
    task_rows = session.execute(
        select(Task)
        .where(*open_task)
        .order_by(Task.deadline.is_(None), Task.deadline, Task.id)
        .limit(limit)
    ).scalars()
    tasks = [budget_service.task_view(session, t, policy, expiries=expiries) for t in task_rows]
    repeats = budget_service.workaround_count(
        session, cid, now=now, policy=policy, expiries=budget_service.expiry_dates(session, cid, current=expiries)
    )

    # Open tickets in inbox order (most urgent, then newest).
    open_tickets = tickets.open_for_customer(session, cid, limit=limit)
    open_ticket = (Ticket.customer_id == cid, Ticket.status.in_(tickets.ACTIVE_STATUSES))

    order_rows = session.execute(
        select(Order)
        .where(Order.customer_id == cid)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(order_limit)
    ).scalars()
    recent_orders = tuple(orders.order_view(o) for o in order_rows)

    messages = tuple(
        LogEntryView(created_at=m.created_at, title=m.subject, text=m.body)
        for m in session.execute(
            select(MessageLogEntry)
            .where(MessageLogEntry.customer_id == cid)
            .order_by(MessageLogEntry.created_at.desc(), MessageLogEntry.id.desc())
            .limit(limit)
        ).scalars()
    )
    file_entries = tuple(
        LogEntryView(created_at=r.created_at, title="", text=r.text, author=r.login)
        for r in session.execute(
            select(
                CustomerFileEntry.created_at,
                CustomerFileEntry.text,
                func.coalesce(Agent.login, "").label("login"),
            )
            .outerjoin(Agent, Agent.id == CustomerFileEntry.agent_id)
            .where(CustomerFileEntry.customer_id == cid)
            .order_by(CustomerFileEntry.created_at.desc(), CustomerFileEntry.id.desc())
            .limit(limit)
        )
    )

    flags = []
    if repeats >= policy.repeat_case_min_count:
        flags.append("repeat_case")
    if headroom < 0:
        flags.append("over_limit")
    if packages:
        level, _ = budget_service.budget_warning(summary.valid_minutes, policy)
        if level:
            flags.append(f"budget_{level}")

    return CustomerCard(
        id=customer.id,
        number=customer.number,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        created_at=customer.created_at,
        credit_limit=customer.credit_limit,
        exposure=exposure,
        headroom=headroom,
        budget=summary,
        packages=packages,
        orders=recent_orders,
        open_tickets=open_tickets,
        tasks=tuple(tasks),
        message_log=messages,
        customer_file=file_entries,
        flags=tuple(flags),
        open_tickets_total=_count(session, *open_ticket) if len(open_tickets) >= limit else len(open_tickets),
        tasks_total=_count(session, *open_task) if len(tasks) >= limit else len(tasks),
        orders_total=(
            _count(session, Order.customer_id == cid) if len(recent_orders) >= order_limit else len(recent_orders)
        ),
        message_log_total=(
            _count(session, MessageLogEntry.customer_id == cid) if len(messages) >= limit else len(messages)
        ),
        customer_file_total=(
            _count(session, CustomerFileEntry.customer_id == cid) if len(file_entries) >= limit else len(file_entries)
        ),
        workaround_count=repeats,
        as_of=now,
        budget_trend=budget_service.budget_history(session, cid, today=today, months=policy.budget_trend_months),
    )


__all__ = ["CARD_LIST_LIMIT", "CARD_ORDER_LIMIT", "BudgetSummary", "CustomerCard", "customer_card"]
