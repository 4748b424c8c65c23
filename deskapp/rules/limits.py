"""Credit-limit rules for real-time orders (docs/rules.md#held-conspicuous, #held-overdue).

Pure: no database, no UI. Which held orders are conspicuous (reason codes; the German
sentences live in ``deskapp.texts``), and how old a held order is in working time
(Mon–Fri, office hours in Europe/Berlin) so the inbox can mark it overdue.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pendulum

from ..settings import TIMEZONE, Policy

BERLIN = pendulum.timezone(TIMEZONE)
CENT = Decimal("0.01")

# Reason codes, in the order docs/rules.md#held-conspicuous names the rules.
OVER_LIMIT = "over_limit"
MANY_ORDERS = "many_orders"
YOUNG_CUSTOMER = "young_customer"
REASON_CODES = (OVER_LIMIT, MANY_ORDERS, YOUNG_CUSTOMER)


def over_limit_threshold(limit: Decimal, policy: Policy) -> Decimal:
    """How far over the limit an order may go before it is conspicuous."""
    return (limit * policy.conspicuous_over_limit_percent / 100).quantize(CENT)


def conspicuous_reasons(
    *,
    over: Decimal,
    limit: Decimal,
    recent_orders: int,
    customer_age: dt.timedelta,
    policy: Policy,
) -> tuple[str, ...]:
    """The rules that fire for a held order, as reason codes; empty when it is not conspicuous.

    ``over`` is exposure + amount - limit; ``recent_orders`` counts the customer's
    real-time orders within the policy window, this one included; ``customer_age`` is
    the customer's age when the order arrived.
    """
    reasons = []
    if over > over_limit_threshold(limit, policy):
        reasons.append(OVER_LIMIT)
    if recent_orders > policy.conspicuous_orders_count:
        reasons.append(MANY_ORDERS)
    if customer_age < dt.timedelta(days=policy.conspicuous_customer_age_days):
        reasons.append(YOUNG_CUSTOMER)
    return tuple(reasons)


def _local(day: dt.date, hour: int) -> pendulum.DateTime:
    """``hour`` o'clock on ``day`` in Berlin (24 means the next midnight)."""
    if hour >= 24:
        day = day + dt.timedelta(days=1)
        hour = 0
    return pendulum.datetime(day.year, day.month, day.day, hour, tz=BERLIN)


def _working_seconds(
    start: dt.datetime, end: dt.datetime, *, start_hour: int, end_hour: int, stop_after: float | None = None
) -> float:
    if not (0 <= start_hour < end_hour <= 24):
        raise ValueError(f"working hours {start_hour}-{end_hour} are not a day's window")
    if end <= start:
        return 0.0
    start_p = pendulum.instance(start).in_timezone(BERLIN)
    end_p = pendulum.instance(end).in_timezone(BERLIN)
    day = start_p.date()
    last = end_p.date()
    total = 0.0
    while day <= last:
        if day.weekday() < 5:  # Monday..Friday
            window_start = max(_local(day, start_hour), start_p)
            window_end = min(_local(day, end_hour), end_p)
            if window_end > window_start:
                total += (window_end - window_start).total_seconds()
                if stop_after is not None and total > stop_after:
                    return total
        day = day + dt.timedelta(days=1)
    return total


def working_minutes_between(
    start: dt.datetime, end: dt.datetime, *, start_hour: int, end_hour: int
) -> int:
    """Whole working minutes from ``start`` to ``end``: Mon–Fri, ``start_hour``–``end_hour``
    wall-clock time in Europe/Berlin (so a DST change never adds or loses an office hour).
    Zero when ``end`` is not after ``start``."""
    return int(_working_seconds(start, end, start_hour=start_hour, end_hour=end_hour) // 60)


def is_overdue(created_at: dt.datetime, now: dt.datetime, policy: Policy) -> bool:
    """A held order older than the policy's working hours (strictly more) is overdue."""
    threshold = policy.held_order_overdue_working_hours * 3600
    seconds = _working_seconds(
        created_at, now,
        start_hour=policy.working_day_start_hour, end_hour=policy.working_day_end_hour,
        stop_after=threshold,
    )
    return seconds > threshold


def overdue_cutoff(now: dt.datetime, policy: Policy) -> dt.datetime:
    """The instant before which a held order is overdue at ``now``: ``is_overdue(c, now,
    policy)`` is exactly ``c < overdue_cutoff(now, policy)`` (UTC).

    The working-time age only grows the earlier an order came in, so the overdue ones are
    all created before one instant: walk back from ``now`` through the office hours until
    the policy's working hours are used up. The point it stops at lies inside office
    hours, so a moment earlier is strictly more working time. With this the inbox filters
    and pages overdue orders in SQL (``created_at < cutoff``) with the same answer as the
    list's flag (docs/rules.md#held-overdue).
    """
    start_hour, end_hour = policy.working_day_start_hour, policy.working_day_end_hour
    if not (0 <= start_hour < end_hour <= 24):
        raise ValueError(f"working hours {start_hour}-{end_hour} are not a day's window")
    left = float(policy.held_order_overdue_working_hours * 3600)
    now_p = pendulum.instance(now).in_timezone(BERLIN)
    day = now_p.date()
    while True:
        if day.weekday() < 5:
            window_start = _local(day, start_hour)
            window_end = min(_local(day, end_hour), now_p)
            if window_end > window_start:
                length = (window_end - window_start).total_seconds()
                if length > left:  # equal: the moment before the window is no working time
                    cutoff = window_end - dt.timedelta(seconds=left)
                    return dt.datetime.fromtimestamp(cutoff.timestamp(), dt.timezone.utc)
                left -= length
        day = day - dt.timedelta(days=1)


__all__ = [
    "MANY_ORDERS",
    "OVER_LIMIT",
    "REASON_CODES",
    "YOUNG_CUSTOMER",
    "conspicuous_reasons",
    "is_overdue",
    "overdue_cutoff",
    "over_limit_threshold",
    "working_minutes_between",
]
