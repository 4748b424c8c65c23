"""Which budget reminder is due (docs/rules.md#budget-reminders). Pure: no database, no UI.

A package's stages are months before its ``valid_until`` (6, 3, 1 by default). Stage ``m``
is due from ``add_months(valid_until, -m)`` up to and including ``valid_until``; when
several are due only the latest (the smallest ``m``) is sent; and a package never gets a
stage again once it got that stage or a later one (see ``stage_to_send``).
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from .budget import add_months

# add_months clamps to the month's end, so a validity end up to this many days after
# add_months(today, m) can still have stage m due today (31.03. - 1 month = 28.02.).
MONTH_END_SLACK_DAYS = 3


def due_stages(valid_until: dt.date, today: dt.date, stages: Iterable[int]) -> list[int]:
    """Every stage whose day has come, as long as the package has not expired."""
    if today > valid_until:
        return []
    return sorted(m for m in stages if m > 0 and add_months(valid_until, -m) <= today)


def stage_to_send(
    valid_until: dt.date, today: dt.date, stages: Iterable[int], sent: Iterable[int]
) -> int | None:
    """The stage to send today, or None.

    Only the latest due stage counts (a run that finds 6 and 3 due sends 3 and 6 never
    follows). A stage is not sent when that stage or a later (smaller) one was already
    sent for this package: after an extension moved ``valid_until`` on, the earlier
    stages of the new date come due again, and this keeps "one per package and stage,
    ever" without reminding twice on the way back up.
    """
    due = due_stages(valid_until, today, stages)
    if not due:
        return None
    latest = due[0]
    if any(s <= latest for s in sent):
        return None
    return latest


def candidate_horizon(today: dt.date, stages: Iterable[int]) -> dt.date | None:
    """The latest ``valid_until`` that can have a stage due on ``today`` (a query bound)."""
    positive = [m for m in stages if m > 0]
    if not positive:
        return None
    return add_months(today, max(positive)) + dt.timedelta(days=MONTH_END_SLACK_DAYS)


__all__ = ["candidate_horizon", "due_stages", "stage_to_send"]
