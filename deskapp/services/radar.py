"""The budget radar: customers whose valid budget runs out soon (docs/rules.md#budget-radar).

The list an agent works before the extension requests arrive: every customer with
unblocked budget left in a package that expires within the horizon, the nearest expiry
first. Blocked minutes are shown but do not put a customer on the radar: they never
expire while their task is open.

The work is bounded by the horizon, not by the size of the desk: only customers with a
package ending inside it are loaded (one query each for packages, time and tasks).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from models.tables import Customer, HourPackage

from ..settings import Policy
from . import budget as budget_service

RADAR_PAGE = 100


@dataclass(frozen=True)
class RadarRow:
    customer_id: uuid.UUID
    customer_number: str
    customer_name: str
    next_expiry: dt.date  # the first day after which budget is lost
    days_left: int
    expiring_minutes: int  # unblocked budget that is lost on ``next_expiry``
    horizon_minutes: int  # unblocked budget lost within the horizon (``next_expiry`` included)
    valid_minutes: int  # the customer's whole valid unblocked remainder
    blocked_minutes: int
    expired_minutes: int  # already expired, still extendable

    @property
    def key(self) -> tuple[dt.date, str, str]:
        """Where the next page starts (pass as ``after``)."""
        return (self.next_expiry, self.customer_number, str(self.customer_id))


def horizons(policy: Policy) -> tuple[int, ...]:
    """The radar's horizons in days, as the policy lists them (``"30 90 180"``)."""
    return tuple(int(x) for x in policy.radar_horizons_days.split())


def radar(
    session: Session,
    *,
    today: dt.date,
    horizon_days: int,
    policy: Policy,
    limit: int = RADAR_PAGE,
    after: tuple[dt.date, str, str] | None = None,
) -> list[RadarRow]:
    """One page of the radar, sorted by expiry date (then customer number); ``after`` is
    the ``key`` of the last row of the previous page."""
    if horizon_days < 0:
        raise ValueError("horizon_days must not be negative")
    rows = _all_rows(session, today=today, horizon_days=horizon_days)
    if after is not None:
        after = (after[0], after[1], str(after[2]))
        rows = [r for r in rows if r.key > after]
    return rows[:limit]


def radar_count(session: Session, *, today: dt.date, horizon_days: int, policy: Policy) -> int:
    return len(_all_rows(session, today=today, horizon_days=horizon_days))


def _all_rows(session: Session, *, today: dt.date, horizon_days: int) -> list[RadarRow]:
    end = today + dt.timedelta(days=horizon_days)
    candidates = (
        select(HourPackage.customer_id)
        .where(HourPackage.valid_until >= today, HourPackage.valid_until <= end)
        .distinct()
    )
    budgets = budget_service.load_budgets(session, candidates, today)
    if not budgets:
        return []
    people = {
        c.id: c
        for c in session.execute(
            select(Customer.id, Customer.number, Customer.name).where(Customer.id.in_(candidates))
        )
    }
    rows = []
    for cid, budget in budgets.items():
        ending = [p for p in budget.packages if not p.expired and p.valid_until <= end and p.remaining > 0]
        if not ending:
            continue
        first = min(p.valid_until for p in ending)
        customer = people[cid]
        rows.append(
            RadarRow(
                customer_id=cid,
                customer_number=customer.number,
                customer_name=customer.name,
                next_expiry=first,
                days_left=(first - today).days,
                expiring_minutes=sum(p.remaining for p in ending if p.valid_until == first),
                horizon_minutes=sum(p.remaining for p in ending),
                valid_minutes=budget.valid,
                blocked_minutes=budget.blocked,
                expired_minutes=budget.expired,
            )
        )
    rows.sort(key=lambda r: r.key)
    return rows


__all__ = ["RADAR_PAGE", "RadarRow", "horizons", "radar", "radar_count"]
