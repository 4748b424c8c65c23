"""Hour budgets in the database (docs/rules.md#budget).

Loading a customer's budget state, booking hour packages, tasks that block budget, and
time logging that draws from the package expiring first. The arithmetic itself is in
``deskapp.rules.budget``; this module reads and writes rows around it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlmodel import Session

from models.enums import Role, TaskStatus
from models.tables import ExtensionRequest, HourPackage, Task, Ticket, TimeEntry
from models.types import CENT

from ..formatting import BERLIN, hours_label, to_berlin, today_berlin
from ..rules import budget as rules
from ..settings import Policy
from . import audit
from .customers import lock_customer
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .readmodels import AgentRef
from .versioning import bump

# Who may book a package (a rebooking is recorded by support or contract processing).
BOOKING_ROLES = frozenset({Role.SUPPORT, Role.CONTRACT, Role.ADMIN})
MAX_TITLE = 255
MAX_NOTE = 255
MAX_LABEL = 128
TASK_LIST_LIMIT = 200  # the task screen of one customer

# User-facing text (German).
MSG_SYSTEM = "Der System-Agent bucht keine Stunden und legt keine Aufgaben an."
MSG_NOT_BOOKING = "{login} darf keine Stundenpakete buchen (nur Support, Vertragsbearbeitung, Admin)."
MSG_MINUTES = "Die Minuten müssen eine ganze Zahl größer als 0 sein."
MSG_ESTIMATE = "Die Schätzung muss eine ganze Zahl von Minuten (0 oder mehr) sein."
MSG_PRICE = "Der Preis muss ein Betrag in Euro mit höchstens zwei Nachkommastellen und nicht negativ sein."
MSG_PURCHASE_DAY = "Das Kaufdatum muss ein Tag sein, der nicht in der Zukunft liegt."
MSG_DEADLINE = "Die Deadline muss ein Tag ab heute sein."
MSG_TITLE = "Eine Aufgabe braucht einen Titel (höchstens 255 Zeichen)."
MSG_LABEL = "Die Bezeichnung des Pakets ist zu lang (höchstens 128 Zeichen)."
MSG_NOTE = "Die Notiz zur Zeitbuchung ist zu lang (höchstens 255 Zeichen)."
MSG_TASK_MISSING = "Aufgabe {task_id} gibt es nicht."
MSG_TASK_DONE = "Aufgabe {task_id} ist schon erledigt."
MSG_TASK_OTHER = "Aufgabe {task_id} gehört zu einem anderen Kunden."
MSG_TICKET_MISSING = "Ticket {ticket_id} gibt es nicht."
MSG_TICKET_OTHER = "Ticket #{number} gehört zu einem anderen Kunden."
MSG_TASK_CHANGED = "Aufgabe {task_id} wurde inzwischen geändert; bitte neu laden."
MSG_TASK_DELETED = "Aufgabe {task_id} ist gelöscht."
MSG_TASK_NOT_OPEN = "Aufgabe {task_id} ist erledigt und kann nicht mehr geändert werden."
MSG_OVER_BUDGET = (
    "Nicht genug Budget: verfügbar sind {available}, gebucht werden sollen {wanted}. "
    "Der Kunde muss nachbuchen oder das Budget verlängern lassen."
)
MSG_WARN = "Achtung: gültiges Restbudget nur noch {remaining} (unter {threshold})."
MSG_CRITICAL = "Kritisch: gültiges Restbudget nur noch {remaining} (unter {threshold})."
DEFAULT_LABEL = "Stundenpaket {hours}"


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
class TimeBudget:
    """What the time-logging dialog shows while the agent types."""

    customer_id: uuid.UUID
    valid_minutes: int  # the valid unblocked remainder, as the card shows it
    available_minutes: int  # what a booking may draw: the valid remainder plus the task's own block
    # The packages a booking draws from, in drawing order (the one expiring first first):
    # (label, valid until, unblocked remainder) — docs/rules.md#budget-fifo.
    draws_from: tuple[tuple[str, dt.date, int], ...] = ()


@dataclass(frozen=True)
class TimeLogged:
    """The result of logging time: where it went and what is left."""

    customer_id: uuid.UUID
    minutes: int
    bookings: tuple[tuple[int | None, int], ...]  # (package id or None, minutes)
    valid_after: int  # valid unblocked remainder after the booking
    level: str  # "" | "warn" | "critical"
    warning: str  # German, "" if none


# --------------------------------------------------------------------------- reading


def load_budget(session: Session, customer_id: uuid.UUID, today: dt.date) -> rules.Budget:
    """The customer's budget on ``today``.

    An open task blocks what is left of its estimate: time already logged on the task
    has consumed part of the block, so it is not counted twice.
    """
    return _compute(session, customer_id, today)


def _minutes_by(session: Session, key, customer_id: uuid.UUID) -> dict:
    """The customer's logged minutes summed per ``key`` (package or task), where it is set."""
    return dict(
        session.execute(
            select(key, func.sum(TimeEntry.minutes))
            .where(TimeEntry.customer_id == customer_id, key.is_not(None))
            .group_by(key)
        ).all()
    )


def _compute(
    session: Session, customer_id: uuid.UUID, today: dt.date, *, release_task_id: int | None = None
) -> rules.Budget:
    used = _minutes_by(session, TimeEntry.package_id, customer_id)
    packages = [
        rules.PackageState(
            id=p.id,
            booked=p.minutes,
            used=int(used.get(p.id, 0)),
            purchased_on=p.purchased_on,
            valid_until=p.valid_until,
        )
        for p in session.execute(select(HourPackage).where(HourPackage.customer_id == customer_id)).scalars()
    ]
    logged_on_task = _minutes_by(session, TimeEntry.task_id, customer_id)
    tasks = [
        rules.OpenTask(
            id=t.id,
            estimate=max(0, t.estimate_minutes - int(logged_on_task.get(t.id, 0))),
            deadline=t.deadline,
        )
        for t in session.execute(
            select(Task).where(Task.customer_id == customer_id, Task.status == TaskStatus.OPEN)
        ).scalars()
        if t.id != release_task_id
    ]
    return rules.compute(packages, tasks, today)


def current_expiry_dates(session: Session, customer_id: uuid.UUID) -> list[dt.date]:
    """The packages' validity ends as they stand now — after an approved extension its new
    date, not the old one. A task's workaround flag is checked against these
    (docs/rules.md#budget-workaround): the extension a deadline asked for is granted."""
    return sorted(set(session.execute(
        select(HourPackage.valid_until).where(HourPackage.customer_id == customer_id)
    ).scalars()))


def expiry_dates(
    session: Session, customer_id: uuid.UUID, *, current: list[dt.date] | None = None
) -> list[dt.date]:
    """Every budget expiry the customer has had: the packages' current validity ends, plus
    the old ones of extension requests. The repeat case counts against these
    (docs/rules.md#budget-repeat-case): a deadline set on the old expiry stays a use of the
    workaround after the extension it bought was granted. ``current``: the current ones,
    when the caller has read them already."""
    if current is None:
        current = current_expiry_dates(session, customer_id)
    before_extension = session.execute(
        select(ExtensionRequest.old_valid_until).where(ExtensionRequest.customer_id == customer_id)
    ).scalars()
    return sorted(set(current) | set(before_extension))


def workaround_expiry(
    session: Session,
    customer_id: uuid.UUID,
    deadline: dt.date | None,
    policy: Policy,
    *,
    expiries: list[dt.date] | None = None,
) -> dt.date | None:
    """The expiry date a task deadline sits on (the workaround, docs/rules.md#budget-workaround), or None.

    ``expiries`` defaults to the current ones (``current_expiry_dates``)."""
    if deadline is None:
        return None
    if expiries is None:
        expiries = current_expiry_dates(session, customer_id)
    return rules.deadline_on_expiry(deadline, expiries, policy.workaround_window_days)


def workaround_count(
    session: Session,
    customer_id: uuid.UUID,
    *,
    now: dt.datetime,
    policy: Policy,
    expiries: list[dt.date] | None = None,
) -> int:
    """Tasks (open or done) created within the repeat-case window whose deadline sits on
    or within ``workaround_window_days`` before a budget expiry."""
    if expiries is None:
        expiries = expiry_dates(session, customer_id)
    if not expiries:
        return 0
    since = to_berlin(now).subtract(months=policy.repeat_case_window_months)
    since_utc = dt.datetime.fromtimestamp(since.timestamp(), dt.timezone.utc)
    deadlines = session.execute(
        select(Task.deadline).where(
            Task.customer_id == customer_id,
            Task.deadline.is_not(None),
            Task.created_at >= since_utc,
            Task.status != TaskStatus.DELETED,  # an agent's mistake, not the customer's doing
        )
    ).scalars()
    return sum(
        1
        for deadline in deadlines
        if rules.deadline_on_expiry(deadline, expiries, policy.workaround_window_days) is not None
    )


def package_view(package: HourPackage, budget: rules.Budget) -> PackageView:
    state = next(p for p in budget.packages if p.id == package.id)
    return PackageView(
        id=package.id,
        label=package.label,
        purchased_on=package.purchased_on,
        valid_until=package.valid_until,
        booked_minutes=state.booked,
        used_minutes=state.used,
        blocked_minutes=state.blocked,
        remaining_minutes=state.remaining,
        expired=state.expired,
        price=package.price,
    )


def task_view(
    session: Session,
    task: Task,
    policy: Policy,
    *,
    expiries: list[dt.date] | None = None,
    logged_minutes: int = 0,
) -> TaskView:
    hit = workaround_expiry(session, task.customer_id, task.deadline, policy, expiries=expiries)
    return TaskView(
        id=task.id,
        title=task.title,
        estimate_minutes=task.estimate_minutes,
        deadline=task.deadline,
        status=task.status,
        workaround=hit is not None,
        expiry_hit=hit,
        version=task.version,
        logged_minutes=logged_minutes,
    )


def list_tasks(
    session: Session,
    customer_id: uuid.UUID,
    *,
    policy: Policy,
    include_done: bool = True,
    limit: int = TASK_LIST_LIMIT,
) -> tuple[TaskView, ...]:
    """The customer's tasks: open ones first (earliest deadline first, none last), then
    the done ones, newest first. Deleted tasks are not listed."""
    statuses = [TaskStatus.OPEN, TaskStatus.DONE] if include_done else [TaskStatus.OPEN]
    is_open = case((Task.status == TaskStatus.OPEN, 0), else_=1)
    rows = list(
        session.execute(
            select(Task)
            .where(Task.customer_id == customer_id, Task.status.in_(statuses))
            .order_by(
                is_open,
                case((Task.status == TaskStatus.OPEN, Task.deadline.is_(None)), else_=False),
                case((Task.status == TaskStatus.OPEN, Task.deadline), else_=None),
                case((Task.status == TaskStatus.OPEN, Task.id), else_=-Task.id),
            )
            .limit(limit)
        ).scalars()
    )
    if not rows:
        return ()
    logged = dict(
        session.execute(
            select(TimeEntry.task_id, func.sum(TimeEntry.minutes))
            .where(TimeEntry.task_id.in_([t.id for t in rows]))
            .group_by(TimeEntry.task_id)
        ).all()
    )
    expiries = current_expiry_dates(session, customer_id)
    return tuple(
        task_view(session, t, policy, expiries=expiries, logged_minutes=int(logged.get(t.id, 0))) for t in rows
    )


def time_budget(
    session: Session, customer_id: uuid.UUID, *, today: dt.date, task_id: int | None = None
) -> TimeBudget:
    """The valid remainder, and what ``log_time`` may draw for this customer (and task)."""
    valid = _compute(session, customer_id, today).valid
    computed = _compute(session, customer_id, today, release_task_id=task_id)
    available = valid if task_id is None else computed.valid
    drawable = [p for p in computed.packages if not p.expired and p.remaining > 0]
    labels = dict(
        session.execute(
            select(HourPackage.id, HourPackage.label).where(HourPackage.id.in_([p.id for p in drawable]))
        ).all()
    ) if drawable else {}
    draws_from = tuple((labels.get(p.id) or f"Paket {p.id}", p.valid_until, p.remaining) for p in drawable)
    return TimeBudget(customer_id=customer_id, valid_minutes=valid, available_minutes=available,
                      draws_from=draws_from)


def _day_end_utc(day: dt.date) -> dt.datetime:
    """The first moment after ``day`` in Berlin, as UTC."""
    import pendulum

    start = pendulum.datetime(day.year, day.month, day.day, tz=BERLIN).add(days=1)
    return dt.datetime.fromtimestamp(start.timestamp(), dt.timezone.utc)


def budget_history(
    session: Session, customer_id: uuid.UUID, *, today: dt.date, months: int = 12
) -> tuple[BudgetPoint, ...]:
    """The budget once a month over the last ``months`` months, oldest first, ending today.

    Each point is what was left (blocked minutes included: they are still the customer's)
    of the packages valid on that day, from the time logged until then. Two queries,
    whatever the number of time entries: the sums per point are computed in SQL.
    """
    days = [rules.add_months(today, -i) for i in range(months, -1, -1)]
    packages = session.execute(
        select(HourPackage.id, HourPackage.minutes, HourPackage.purchased_on, HourPackage.valid_until)
        .where(HourPackage.customer_id == customer_id)
    ).all()
    if not packages:
        return tuple(BudgetPoint(day=d, minutes=0) for d in days)
    columns = [
        func.coalesce(func.sum(case((TimeEntry.created_at < _day_end_utc(d), TimeEntry.minutes), else_=0)), 0)
        for d in days
    ]
    used = {
        row[0]: tuple(int(x) for x in row[1:])
        for row in session.execute(
            select(TimeEntry.package_id, *columns)
            .where(TimeEntry.customer_id == customer_id, TimeEntry.package_id.is_not(None))
            .group_by(TimeEntry.package_id)
        )
    }
    none_used = (0,) * len(days)
    return tuple(
        BudgetPoint(
            day=d,
            minutes=sum(
                minutes - used.get(pid, none_used)[i]
                for pid, minutes, purchased_on, valid_until in packages
                if purchased_on <= d <= valid_until
            ),
        )
        for i, d in enumerate(days)
    )


def load_budgets(session: Session, customer_ids, today: dt.date) -> dict[uuid.UUID, rules.Budget]:
    """The budgets of many customers in four queries (``customer_ids``: a select of ids).

    The same arithmetic as ``load_budget``, for lists such as the budget radar.
    """
    packages: dict[uuid.UUID, list[tuple]] = {}
    for row in session.execute(
        select(
            HourPackage.id, HourPackage.customer_id, HourPackage.minutes,
            HourPackage.purchased_on, HourPackage.valid_until,
        ).where(HourPackage.customer_id.in_(customer_ids))
    ):
        packages.setdefault(row.customer_id, []).append(row)
    used = dict(
        session.execute(
            select(TimeEntry.package_id, func.sum(TimeEntry.minutes))
            .where(TimeEntry.customer_id.in_(customer_ids), TimeEntry.package_id.is_not(None))
            .group_by(TimeEntry.package_id)
        ).all()
    )
    open_tasks = (
        Task.customer_id.in_(customer_ids), Task.status == TaskStatus.OPEN, Task.deadline.is_not(None)
    )
    logged = dict(
        session.execute(
            select(TimeEntry.task_id, func.sum(TimeEntry.minutes))
            .join(Task, Task.id == TimeEntry.task_id)
            .where(*open_tasks)
            .group_by(TimeEntry.task_id)
        ).all()
    )
    tasks: dict[uuid.UUID, list[rules.OpenTask]] = {}
    for t in session.execute(
        select(Task.id, Task.customer_id, Task.estimate_minutes, Task.deadline).where(*open_tasks)
    ):
        tasks.setdefault(t.customer_id, []).append(
            rules.OpenTask(id=t.id, estimate=max(0, t.estimate_minutes - int(logged.get(t.id, 0))), deadline=t.deadline)
        )
    return {
        cid: rules.compute(
            [
                rules.PackageState(
                    id=p.id, booked=p.minutes, used=int(used.get(p.id, 0)),
                    purchased_on=p.purchased_on, valid_until=p.valid_until,
                )
                for p in rows
            ],
            tasks.get(cid, []),
            today,
        )
        for cid, rows in packages.items()
    }


# --------------------------------------------------------------------------- validation


def _require_agent(actor: AgentRef) -> None:
    if actor.is_system:
        raise PermissionDenied(MSG_SYSTEM)


def _whole_minutes(value, *, allow_zero: bool, message: str, field: str = "minutes") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(message, field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(message, field=field)
    return value


def _is_day(value) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _price(value) -> Decimal:
    if isinstance(value, (bool, float)):
        raise InvalidInput(MSG_PRICE, field="price")
    try:
        price = Decimal(value) if not isinstance(value, Decimal) else value
    except (ArithmeticError, ValueError, TypeError):
        raise InvalidInput(MSG_PRICE, field="price") from None
    if not price.is_finite() or price < 0 or price != price.quantize(CENT):
        raise InvalidInput(MSG_PRICE, field="price")
    return price.quantize(CENT)


# --------------------------------------------------------------------------- writing


def book_package(
    session: Session,
    actor: AgentRef,
    *,
    customer_id: uuid.UUID,
    minutes: int,
    price: Decimal,
    purchased_on: dt.date,
    now: dt.datetime,
    policy: Policy,
    label: str = "",
    shop_ref: str | None = None,
) -> PackageView:
    """Book an hour package; it is valid for the policy's months from its purchase day.

    With ``shop_ref`` (a shop booking, see ``book_shop_package``) the ``system`` agent
    books too; the reference is stored and unique."""
    if shop_ref is None or not actor.is_system:
        _require_agent(actor)
        if not (actor.roles & BOOKING_ROLES):
            raise PermissionDenied(MSG_NOT_BOOKING.format(login=actor.login))
    minutes = _whole_minutes(minutes, allow_zero=False, message=MSG_MINUTES)
    price = _price(price)
    if not _is_day(purchased_on) or purchased_on > today_berlin(now):
        raise InvalidInput(MSG_PURCHASE_DAY, field="purchased_on")
    label = (label or "").strip() or DEFAULT_LABEL.format(hours=hours_label(minutes))
    if len(label) > MAX_LABEL:
        raise InvalidInput(MSG_LABEL, field="label")
    lock_customer(session, customer_id)
    package = HourPackage(
        customer_id=customer_id,
        label=label,
        minutes=minutes,
        price=price,
        purchased_on=purchased_on,
        valid_until=rules.validity_end(purchased_on, policy.package_validity_months),
        created_at=now,
        shop_ref=shop_ref,
    )
    session.add(package)
    session.flush()
    booked = {
        "customer_id": customer_id, "minutes": minutes, "price": price,
        "purchased_on": purchased_on, "valid_until": package.valid_until, "label": label,
    }
    if shop_ref is not None:
        booked["shop_ref"] = shop_ref
    audit.record(session, actor, "package.book", "hour_package", package.id, new=booked, now=now)
    return package_view(package, load_budget(session, customer_id, today_berlin(now)))


def create_task(
    session: Session,
    actor: AgentRef,
    *,
    customer_id: uuid.UUID,
    title: str,
    estimate_minutes: int,
    deadline: dt.date | None,
    now: dt.datetime,
    policy: Policy,
) -> TaskView:
    """A task; with a deadline its estimate blocks budget.

    ``TaskView.workaround`` says whether the deadline sits on a budget expiry (the
    workaround): nothing extra is stored, the card derives it the same way.
    """
    _require_agent(actor)
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(MSG_TITLE, field="title")
    estimate_minutes = _whole_minutes(estimate_minutes, allow_zero=True, message=MSG_ESTIMATE, field="estimate_minutes")
    if deadline is not None and (not _is_day(deadline) or deadline < today_berlin(now)):
        raise InvalidInput(MSG_DEADLINE, field="deadline")
    lock_customer(session, customer_id)
    task = Task(
        customer_id=customer_id,
        title=title,
        estimate_minutes=estimate_minutes,
        deadline=deadline,
        status=TaskStatus.OPEN,
        created_at=now,
    )
    session.add(task)
    session.flush()
    on_expiry = workaround_expiry(session, customer_id, deadline, policy)
    audit.record(
        session, actor, "task.create", "task", task.id,
        new={
            "customer_id": customer_id, "title": title, "estimate_minutes": estimate_minutes,
            "deadline": deadline, "workaround_expiry": on_expiry,
        },
        now=now,
    )
    return task_view(session, task, policy)


def close_task(
    session: Session, actor: AgentRef, *, task_id: int, now: dt.datetime, policy: Policy
) -> TaskView:
    """Mark a task done: its estimate no longer blocks budget."""
    _require_agent(actor)
    task = _task_for_change(session, task_id)
    if task.status == TaskStatus.DONE:
        raise InvalidInput(MSG_TASK_DONE.format(task_id=task_id))
    _versioned_update(session, task, task.version, policy, Task.status == TaskStatus.OPEN, status=TaskStatus.DONE)
    audit.record(
        session, actor, "task.close", "task", task_id,
        old={"status": TaskStatus.OPEN}, new={"status": TaskStatus.DONE}, now=now,
    )
    return task_view(session, task, policy)


def log_time(
    session: Session,
    actor: AgentRef,
    *,
    customer_id: uuid.UUID,
    minutes: int,
    now: dt.datetime,
    policy: Policy,
    ticket_id: int | None = None,
    task_id: int | None = None,
    note: str = "",
) -> TimeLogged:
    """Log work; it draws from the valid package expiring first.

    Work on a task may use the budget that task blocks. Over budget the booking is
    refused with what is available, unless the policy allows a negative budget.
    """
    _require_agent(actor)
    minutes = _whole_minutes(minutes, allow_zero=False, message=MSG_MINUTES)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(MSG_NOTE, field="note")
    lock_customer(session, customer_id)
    if task_id is not None:
        task = session.get(Task, task_id)
        if task is None:
            raise NotFound(MSG_TASK_MISSING.format(task_id=task_id))
        if task.customer_id != customer_id:
            raise InvalidInput(MSG_TASK_OTHER.format(task_id=task_id), field="task_id")
        if task.status == TaskStatus.DELETED:
            raise InvalidInput(MSG_TASK_DELETED.format(task_id=task_id), field="task_id")
    if ticket_id is not None:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(MSG_TICKET_MISSING.format(ticket_id=ticket_id))
        if ticket.customer_id != customer_id:
            raise InvalidInput(MSG_TICKET_OTHER.format(number=ticket.number), field="ticket_id")
    today = today_berlin(now)
    budget = _compute(session, customer_id, today, release_task_id=task_id)
    try:
        plan = rules.draw(budget, minutes, allow_negative=policy.allow_negative_budget)
    except rules.BudgetExceeded as exc:
        raise InvalidInput(
            MSG_OVER_BUDGET.format(available=hours_label(exc.available), wanted=hours_label(minutes)),
            field="minutes",
        ) from None
    for package_id, part in plan:
        session.add(
            TimeEntry(
                customer_id=customer_id,
                package_id=package_id,
                ticket_id=ticket_id,
                task_id=task_id,
                agent_id=actor.id,
                minutes=part,
                note=note,
                created_at=now,
            )
        )
    session.flush()
    if task_id is None:
        # Every minute booked onto a package came out of its valid remainder.
        valid_after = budget.valid - sum(part for package_id, part in plan if package_id is not None)
    else:
        # The task's block (what is left of its estimate) applies again.
        valid_after = load_budget(session, customer_id, today).valid
    audit.record(
        session, actor, "time.log", "customer", customer_id,
        new={"minutes": minutes, "ticket_id": ticket_id, "task_id": task_id, "packages": plan, "note": note},
        now=now,
    )
    level, warning = budget_warning(valid_after, policy)
    return TimeLogged(
        customer_id=customer_id,
        minutes=minutes,
        bookings=tuple(plan),
        valid_after=valid_after,
        level=level,
        warning=warning,
    )


def update_task(
    session: Session,
    actor: AgentRef,
    *,
    task_id: int,
    version: int,
    title: str,
    estimate_minutes: int,
    deadline: dt.date | None,
    now: dt.datetime,
    policy: Policy,
) -> TaskView:
    """Change an open task's title, estimate and deadline, if nobody changed it since
    ``version`` was read (else ``Conflict`` with the task as it is now).

    A deadline in the past is refused only when it is being set: an overdue task keeps
    its deadline while its title or estimate changes.
    """
    _require_agent(actor)
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(MSG_TITLE, field="title")
    estimate_minutes = _whole_minutes(estimate_minutes, allow_zero=True, message=MSG_ESTIMATE, field="estimate_minutes")
    task = _task_for_change(session, task_id)
    if task.status != TaskStatus.OPEN:
        raise InvalidInput(MSG_TASK_NOT_OPEN.format(task_id=task_id))
    if deadline != task.deadline and deadline is not None and (
        not _is_day(deadline) or deadline < today_berlin(now)
    ):
        raise InvalidInput(MSG_DEADLINE, field="deadline")
    lock_customer(session, task.customer_id)
    old = {"title": task.title, "estimate_minutes": task.estimate_minutes, "deadline": task.deadline}
    new = {"title": title, "estimate_minutes": estimate_minutes, "deadline": deadline}
    changed = {k for k in new if new[k] != old[k]}
    if task.version != version:
        raise Conflict(MSG_TASK_CHANGED.format(task_id=task_id), current=task_view(session, task, policy))
    if not changed:
        return task_view(session, task, policy)
    _versioned_update(session, task, version, policy, Task.status == TaskStatus.OPEN,
                      **{k: new[k] for k in changed})
    audit.record(
        session, actor, "task.update", "task", task_id,
        old={k: old[k] for k in changed},
        new={**{k: new[k] for k in changed},
             "workaround_expiry": workaround_expiry(session, task.customer_id, task.deadline, policy)},
        now=now,
    )
    return task_view(session, task, policy)


def delete_task(
    session: Session, actor: AgentRef, *, task_id: int, version: int, now: dt.datetime, policy: Policy
) -> TaskView:
    """Delete a task (open or done): it frees its block at once.

    The row stays with status ``deleted`` (time logged on it keeps its task), but no list,
    block or repeat-case count sees it any more.
    """
    _require_agent(actor)
    task = _task_for_change(session, task_id)
    lock_customer(session, task.customer_id)
    if task.version != version:
        raise Conflict(MSG_TASK_CHANGED.format(task_id=task_id), current=task_view(session, task, policy))
    old_status = task.status
    _versioned_update(session, task, version, policy, Task.status != TaskStatus.DELETED,
                      status=TaskStatus.DELETED)
    audit.record(
        session, actor, "task.delete", "task", task_id,
        old={"status": old_status, "title": task.title}, new={"status": TaskStatus.DELETED}, now=now,
    )
    return task_view(session, task, policy)


def _versioned_update(session: Session, task: Task, version: int, policy: Policy, status_ok, **values) -> None:
    """One conditional UPDATE of ``task`` as seen at ``version``; ``Conflict`` (with the
    task as it is now) when someone changed it first."""
    won = bump(session, Task, task.id, version, status_ok, **values)
    session.refresh(task)
    if not won:
        raise Conflict(MSG_TASK_CHANGED.format(task_id=task.id), current=task_view(session, task, policy))


def _task_for_change(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(MSG_TASK_MISSING.format(task_id=task_id))
    if task.status == TaskStatus.DELETED:
        raise InvalidInput(MSG_TASK_DELETED.format(task_id=task_id))
    return task


def budget_warning(valid_minutes: int, policy: Policy) -> tuple[str, str]:
    """``("critical"|"warn"|"", German text)`` for a valid remaining budget."""
    if valid_minutes < policy.budget_critical_minutes:
        return "critical", MSG_CRITICAL.format(
            remaining=hours_label(valid_minutes), threshold=hours_label(policy.budget_critical_minutes)
        )
    if valid_minutes < policy.budget_warn_minutes:
        return "warn", MSG_WARN.format(
            remaining=hours_label(valid_minutes), threshold=hours_label(policy.budget_warn_minutes)
        )
    return "", ""


__all__ = [
    "TASK_LIST_LIMIT",
    "BudgetPoint",
    "PackageView",
    "TaskView",
    "TimeBudget",
    "TimeLogged",
    "book_package",
    "budget_history",
    "budget_warning",
    "close_task",
    "create_task",
    "delete_task",
    "list_tasks",
    "load_budget",
    "load_budgets",
    "log_time",
    "time_budget",
    "update_task",
    "package_view",
    "current_expiry_dates",
    "expiry_dates",
    "task_view",
    "workaround_count",
    "workaround_expiry",
]
