"""Frozen read models the services return. The UI never sees a live ORM object."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from models.enums import Queue, Role


@dataclass(frozen=True)
class AgentRef:
    id: int
    login: str
    display_name: str
    roles: frozenset[str] = frozenset()

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_system(self) -> bool:
        return Role.SYSTEM in self.roles


# Which roles may work (claim, change, assign into) which queue. Admin may work all.
QUEUE_ROLES: dict[str, frozenset[str]] = {
    Queue.SUPPORT: frozenset({Role.SUPPORT, Role.CONTRACT}),
    Queue.CONTRACT: frozenset({Role.CONTRACT}),
    Queue.TECHNICAL: frozenset({Role.TECHNICIAN}),
    Queue.ADMIN: frozenset({Role.APPROVER, Role.DEPUTY}),
}


def may_work_queue(agent: AgentRef, queue: str) -> bool:
    if agent.is_system:
        return False
    return Role.ADMIN in agent.roles or bool(agent.roles & QUEUE_ROLES[Queue(queue)])


@dataclass(frozen=True)
class TicketRow:
    """One line of the inbox list."""

    id: int
    number: int
    queue: str
    kind: str
    status: str
    priority: int
    subject: str
    customer_id: uuid.UUID | None
    customer_name: str
    assignee_login: str
    flags: tuple[str, ...]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @property
    def key(self) -> tuple[int, dt.datetime, int]:
        return (self.priority, self.created_at, self.id)


@dataclass(frozen=True)
class TicketPage:
    rows: tuple[TicketRow, ...]
    has_before: bool
    has_after: bool


@dataclass(frozen=True)
class TicketEventView:
    kind: str
    agent_login: str
    text: str
    old: str
    new: str
    created_at: dt.datetime


@dataclass(frozen=True)
class TicketLink:
    """Something a ticket points at: an order, a process number, a request, a task."""

    kind: str  # order | extension_request | task
    label: str


@dataclass(frozen=True)
class TicketDetail:
    row: TicketRow
    body: str
    customer_number: str
    links: tuple[TicketLink, ...]
    events: tuple[TicketEventView, ...]
    # The order the ticket carries (held order, registry failure), as it stands now.
    order: HeldOrderView | None = None
    # The extension request an admin-channel ticket carries, as it stands now.
    extension: ExtensionView | None = None


@dataclass(frozen=True)
class BulkResult:
    done: tuple[int, ...]  # ticket numbers
    refused: tuple[str, ...]  # one German sentence per ticket not changed


@dataclass(frozen=True)
class SidebarCounts:
    queues: dict[str, int]
    views: dict[str, int]


@dataclass(frozen=True)
class CustomerHit:
    id: uuid.UUID
    number: str
    name: str
    email: str


@dataclass(frozen=True)
class PackageView:
    id: int
    label: str
    purchased_on: dt.date
    valid_until: dt.date
    booked_minutes: int
    used_minutes: int
    blocked_minutes: int
    remaining_minutes: int  # booked - used - blocked (unblocked remainder)
    expired: bool
    price: Decimal


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
class BudgetPoint:
    """One point of a customer's budget over time: the minutes left (blocked ones
    included) in the packages valid on ``day``."""

    day: dt.date
    minutes: int


@dataclass(frozen=True)
class TaskView:
    id: int
    title: str
    estimate_minutes: int
    deadline: dt.date | None
    status: str
    workaround: bool
    # The package expiry the deadline sits on (the workaround), if any.
    expiry_hit: dt.date | None = None
    version: int = 0  # for the optimistic check of update_task / delete_task
    logged_minutes: int = 0  # time logged on the task so far (filled by list_tasks)


@dataclass(frozen=True)
class OrderView:
    id: int
    item: str
    amount: Decimal
    status: str
    process_number: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class LogEntryView:
    created_at: dt.datetime
    title: str
    text: str
    author: str = ""


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


@dataclass(frozen=True)
class HeldOrderView:
    """An order as contract processing (or Technik) decides on it, as it stands now."""

    order_id: int
    process_number: str | None
    item: str
    amount: Decimal
    status: str  # OrderStatus
    customer_id: uuid.UUID
    customer_number: str
    customer_name: str
    credit_limit: Decimal
    exposure: Decimal  # the customer's current exposure (a held order counts in it)
    over_limit: Decimal  # how far this order puts / would put the customer over the limit (>= 0)
    reason_codes: tuple[str, ...]  # deskapp.rules.limits codes
    reasons: tuple[str, ...]  # the same in German sentences
    created_at: dt.datetime
    age: dt.timedelta
    age_label: str  # German, e.g. "3 Std"
    working_minutes: int  # age in working time (Mon–Fri office hours, Berlin)
    overdue: bool  # held and older than the policy's working hours
    error: str  # the registry's message of a failed order
    decided_by: str | None  # login of whoever released/rejected it
    decided_at: dt.datetime | None
    ticket_id: int | None = None  # the held-order ticket, if any
    ticket_number: int | None = None

    @property
    def conspicuous(self) -> bool:
        return bool(self.reason_codes)

    @property
    def is_held(self) -> bool:
        return self.status == "held"


@dataclass(frozen=True)
class CreditLimitChangeView:
    created_at: dt.datetime
    old_limit: Decimal
    new_limit: Decimal
    reason: str
    agent_login: str


@dataclass(frozen=True)
class ExtensionView:
    """An extension request as the admin channel (and its requester) sees it now."""

    request_id: int
    status: str  # ExtensionStatus: waiting | approved | rejected
    requested_by: str  # login
    addressee: str | None  # login; None while approver and deputy are both absent
    routing_note: str  # German, e.g. "an Rebekka (Vertretung, Isabel abwesend)"
    customer_id: uuid.UUID
    customer_name: str
    old_valid_until: dt.date
    proposal: dt.date  # proposed new validity while waiting; the applied one once approved
    months: int
    remaining_minutes: int
    rebooking_needed: bool
    message: str  # the admin-channel post
    reason: str  # why it was rejected ("" otherwise)
    decided_by: str | None  # login
    decided_at: dt.datetime | None
    may_decide: str | None  # None: the viewing agent may decide now; else the German reason why not
    package_ids: tuple[int, ...] = ()
    task_id: int | None = None
    ticket_id: int | None = None
    ticket_number: int | None = None
    created_at: dt.datetime | None = None

    @property
    def waiting(self) -> bool:
        return self.status == "waiting"


@dataclass(frozen=True)
class ExtensionRow:
    """One of the agent's own extension requests (the "my requests" list)."""

    request_id: int
    customer_name: str
    status: str  # waiting | approved | rejected
    created_at: dt.datetime
    proposal: dt.date  # the proposed validity (the applied one once approved)
    new_valid_until: dt.date | None  # the applied validity once approved, else None
    reason: str
    ticket_number: int | None
    addressee: str | None = None
    decided_by: str | None = None
