"""The desk's dialogs, one per module, all on ``screens.forms`` (``DialogScreen``, ``FormDialog``).

Each returns its result through ``dismiss``; ``escape`` cancels with ``None``.

| module          | dialog                                             |
|-----------------|----------------------------------------------------|
| ``choice``      | ``ChoiceDialog`` — pick one of a short list         |
| ``note``        | ``NoteDialog`` — an internal note                   |
| ``filter``      | ``FilterDialog``, ``FilterChoice`` — the inbox filter |
| ``order``       | ``OrderDialog`` — a real-time order                 |
| ``credit_limit``| ``CreditLimitDialog`` — change the credit limit     |
| ``settle``      | ``SettleUntilDialog`` — settle orders by date       |
| ``book_package``| ``BookPackageDialog`` — book an hour package        |
| ``log_time``    | ``LogTimeDialog`` — log time                        |
| ``task``        | ``TaskDialog`` — create or edit a task              |
| ``extension``   | ``ExtensionForm`` — request a budget extension      |
| ``absence``     | ``AbsenceDialog`` — record an absence               |
| ``new_ticket``  | ``NewTicketDialog`` — a ticket opened by hand        |
| ``customer``    | ``CustomerDialog`` — a customer's master data        |

Import from the module (``from screens.dialogs.order import OrderDialog``). The names
below are also reachable as ``screens.dialogs.X``, loaded on first use: importing this
package must stay cheap (the inbox's first frame imports ``screens.dialogs.choice``
before SQLAlchemy is loaded; the order and budget dialogs pull in the services).
"""

from __future__ import annotations

import importlib

_HOMES = {
    "ChoiceDialog": "choice",
    "NoteDialog": "note",
    "FilterChoice": "filter",
    "FilterDialog": "filter",
    "OrderDialog": "order",
    "order_headline": "order",
    "order_outcome": "order",
    "order_registry": "order",
    "CreditLimitDialog": "credit_limit",
    "SettleUntilDialog": "settle",
    "BookPackageDialog": "book_package",
    "booked_text": "book_package",
    "LogTimeDialog": "log_time",
    "announce_time": "log_time",
    "TaskDialog": "task",
    "ExtensionForm": "extension",
    "filed_text": "extension",
    "linked_task_id": "extension",
    "AbsenceDialog": "absence",
    "NewTicketDialog": "new_ticket",
    "CustomerDialog": "customer",
}


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = sorted(_HOMES)
