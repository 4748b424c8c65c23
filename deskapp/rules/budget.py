"""Hour-budget arithmetic (docs/rules.md#budget). Pure: no database, no UI.

Minutes are integers throughout. A package's ``valid_until`` is the last valid day.
Invariant for every package: used + blocked + remaining == booked, where the remaining
(unblocked) part is "valid" until the package expires and "expired" after.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pendulum


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months, clamped to the month's end: 31.01. + 1 = 28.02. (29.02. in leap years)."""
    result = pendulum.date(day.year, day.month, day.day).add(months=months)
    return dt.date(result.year, result.month, result.day)


def validity_end(purchased_on: dt.date, validity_months: int) -> dt.date:
    return add_months(purchased_on, validity_months)


@dataclass(frozen=True)
class PackageState:
    id: int
    booked: int
    used: int
    purchased_on: dt.date
    valid_until: dt.date

    def valid_on(self, day: dt.date) -> bool:
        return self.purchased_on <= day <= self.valid_until


@dataclass(frozen=True)
class OpenTask:
    id: int
    estimate: int
    deadline: dt.date | None


@dataclass(frozen=True)
class PackageBudget:
    id: int
    booked: int
    used: int
    blocked: int
    remaining: int  # unblocked remainder
    valid_until: dt.date
    expired: bool

    @property
    def valid(self) -> int:
        return 0 if self.expired else self.remaining

    @property
    def expired_remaining(self) -> int:
        return self.remaining if self.expired else 0


@dataclass(frozen=True)
class Budget:
    packages: tuple[PackageBudget, ...]
    today: dt.date

    @property
    def valid(self) -> int:
        return sum(p.valid for p in self.packages)

    @property
    def blocked(self) -> int:
        return sum(p.blocked for p in self.packages)

    @property
    def expired(self) -> int:
        return sum(p.expired_remaining for p in self.packages)

    @property
    def used(self) -> int:
        return sum(p.used for p in self.packages)

    @property
    def booked(self) -> int:
        return sum(p.booked for p in self.packages)

    @property
    def next_expiry(self) -> dt.date | None:
        dates = [p.valid_until for p in self.packages if not p.expired and p.remaining + p.blocked > 0]
        return min(dates) if dates else None

    @property
    def days_left(self) -> int | None:
        nxt = self.next_expiry
        return None if nxt is None else (nxt - self.today).days


def _fifo(packages):
    return sorted(packages, key=lambda p: (p.valid_until, p.id))


def compute(packages: list[PackageState], tasks: list[OpenTask], today: dt.date) -> Budget:
    """Blocks each open task's estimate in the packages valid at its deadline (earliest
    expiry first, never more than is left), then splits the rest into valid/expired."""
    free = {p.id: max(0, p.booked - p.used) for p in packages}
    blocked = {p.id: 0 for p in packages}
    for task in sorted(tasks, key=lambda t: (t.deadline or dt.date.max, t.id)):
        if task.deadline is None or task.estimate <= 0:
            continue
        need = task.estimate
        for pkg in _fifo(p for p in packages if p.valid_on(task.deadline)):
            take = min(need, free[pkg.id])
            free[pkg.id] -= take
            blocked[pkg.id] += take
            need -= take
            if need == 0:
                break
    result = []
    for p in _fifo(packages):
        remaining = p.booked - p.used - blocked[p.id]
        result.append(
            PackageBudget(
                id=p.id,
                booked=p.booked,
                used=p.used,
                blocked=blocked[p.id],
                remaining=remaining,
                valid_until=p.valid_until,
                expired=today > p.valid_until,
            )
        )
    return Budget(tuple(result), today)


class BudgetExceeded(Exception):
    def __init__(self, available: int):
        super().__init__(available)
        self.available = available


def draw(budget: Budget, minutes: int, *, allow_negative: bool) -> list[tuple[int | None, int]]:
    """Where ``minutes`` of work are booked: valid packages, the one expiring first first.

    Raises ``BudgetExceeded`` with what is available when there is not enough, unless
    ``allow_negative``; then the overdraft goes onto the last valid package (or onto no
    package when none is valid).
    """
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    plan: list[tuple[int | None, int]] = []
    need = minutes
    valid = [p for p in budget.packages if not p.expired and p.remaining > 0]
    for pkg in valid:
        take = min(need, pkg.remaining)
        plan.append((pkg.id, take))
        need -= take
        if need == 0:
            return plan
    if not allow_negative:
        raise BudgetExceeded(budget.valid)
    current = [p for p in budget.packages if not p.expired]
    target = current[-1].id if current else None
    plan.append((target, need))
    return plan


def deadline_on_expiry(deadline: dt.date, valid_untils: list[dt.date], window_days: int) -> dt.date | None:
    """The workaround: a deadline on or within ``window_days`` before an expiry date.

    Returns the expiry date it sits on, or None.
    """
    for until in sorted(valid_untils):
        if until - dt.timedelta(days=window_days) <= deadline <= until:
            return until
    return None
