"""Extension-request policy (docs/rules.md#extension). Pure: no database, no UI.

- under ``rebooking_threshold_minutes`` of remaining budget the customer must rebook
  first; exactly the threshold (20:00) needs no rebooking;
- an extension is a whole number of calendar months within the policy's bounds;
- the new validity counts from the old validity date or, for expired budget, from the
  day of the decision: ``max(valid until, day) + months`` (clamped to the month's end).
"""

from __future__ import annotations

import datetime as dt
import uuid

from ..formatting import date_de, hours_label
from ..settings import Policy
from .budget import add_months

# User-facing text (German).
MSG_MONTHS = "Verlängert wird um ganze Monate: {low} bis {high}."
MSG_MONTHS_TOO_MANY = "Mehr als {high} Monate Verlängerung sind nicht erlaubt."
HEADLINE = "Anfrage Budgetverlängerung"
REBOOKING_SUFFIX = " (wenn Kunde nachgebucht hat)"
NO_TASK = "–"


def proposed_until(valid_until: dt.date, day: dt.date, months: int) -> dt.date:
    """The new validity: from the old validity, or from ``day`` if that is later."""
    return add_months(max(valid_until, day), months)


def months_error(months, policy: Policy) -> str | None:
    """A German message if ``months`` is not a whole number of months the policy allows."""
    low, high = policy.extension_min_months, policy.extension_max_months
    if isinstance(months, bool) or not isinstance(months, int):
        return MSG_MONTHS.format(low=low, high=high)
    if months > high:
        return MSG_MONTHS_TOO_MANY.format(high=high)
    if months < low:
        return MSG_MONTHS.format(low=low, high=high)
    return None


def needs_rebooking(remaining_minutes: int, policy: Policy) -> bool:
    """Under the threshold the customer must rebook first; exactly the threshold is enough."""
    return remaining_minutes < policy.rebooking_threshold_minutes


def admin_message(
    *,
    addressee_name: str | None,
    customer_name: str,
    customer_id: uuid.UUID,
    valid_until: dt.date,
    remaining_minutes: int,
    task_ref: str,
    proposal: dt.date,
    rebooking: bool,
) -> str:
    """The admin-channel post, in the template of docs/rules.md#ext-admin-post.

    Without an addressee (approver and deputy both absent) the first line carries no
    ``@Name`` — the request waits in the admin channel for whoever returns first.
    """
    head = f"@{addressee_name} {HEADLINE}" if addressee_name else HEADLINE
    suffix = REBOOKING_SUFFIX if rebooking else ""
    return "\n".join(
        (
            head,
            f"Kunde: {customer_name}: {customer_id}",
            f"Budget gültig bis: {date_de(valid_until)}",
            f"Restbudget: {hours_label(remaining_minutes)}",
            f"Aufgabe: {task_ref or NO_TASK}",
            f"Vorschlag: Verlängerung bis {date_de(proposal)}{suffix}",
        )
    )


__all__ = ["admin_message", "months_error", "needs_rebooking", "proposed_until"]
