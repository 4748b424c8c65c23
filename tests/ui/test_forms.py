"""The form base (screens.forms): a service refusal lands under the field it names.

No app is run: ``refused_field`` reads only the form's ``FIELDS`` / ``INVALID_FIELD``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from deskapp.services.errors import Conflict, InvalidInput, NotFound
from screens.dialogs.absence import AbsenceDialog
from screens.dialogs.book_package import BookPackageDialog
from screens.dialogs.credit_limit import CreditLimitDialog
from screens.dialogs.extension import ExtensionForm
from screens.dialogs.log_time import LogTimeDialog
from screens.dialogs.order import OrderDialog
from screens.dialogs.settle import SettleUntilDialog
from screens.dialogs.task import TaskDialog

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = uuid.UUID(int=1)
TODAY = dt.date(2026, 3, 10)


def _dialogs():
    return {
        "book": BookPackageDialog(customer_id=CUSTOMER, customer="K", today=TODAY),
        "time": LogTimeDialog(customer_id=CUSTOMER, customer="K"),
        "task": TaskDialog(customer_id=CUSTOMER, customer="K"),
        "order": OrderDialog(customer_id=CUSTOMER, customer="K", limit=Decimal("500"), exposure=Decimal("0")),
        "limit": CreditLimitDialog(customer_id=CUSTOMER, customer="K", limit=Decimal("500")),
        "settle": SettleUntilDialog(customer_id=CUSTOMER, customer="K", today=TODAY),
        "extension": ExtensionForm(customer_id=CUSTOMER),
        "absence": AbsenceDialog(people=[], today=TODAY),
    }


@pytest.mark.parametrize(
    ("dialog", "error", "shown_under"),
    [
        ("book", InvalidInput("…", field="minutes"), "hours"),
        ("book", InvalidInput("…", field="price"), "price"),
        ("book", InvalidInput("…", field="purchased_on"), "purchased"),
        ("book", InvalidInput("…", field="label"), "label"),
        ("book", InvalidInput("…"), None),
        ("time", InvalidInput("…", field="minutes"), "minutes"),
        ("time", InvalidInput("…", field="note"), "note"),
        ("time", InvalidInput("…", field="task_id"), "minutes"),  # INVALID_FIELD
        ("task", InvalidInput("…", field="estimate_minutes"), "estimate"),
        ("task", InvalidInput("…", field="deadline"), "deadline"),
        ("task", InvalidInput("…", field="title"), "title"),
        ("task", InvalidInput("…", field="task_id"), None),
        ("order", InvalidInput("…", field="amount"), "amount"),
        ("order", InvalidInput("…", field="item"), "item"),
        ("limit", InvalidInput("…", field="new_limit"), "limit"),
        ("limit", InvalidInput("…", field="reason"), "reason"),
        ("settle", InvalidInput("…", field="until"), "until"),
        ("extension", InvalidInput("…", field="months"), None),  # the live preview owns the fields
        ("absence", InvalidInput("…", field="login"), None),
        ("time", Conflict("…"), None),
        ("order", NotFound("…"), None),
    ],
)
def test_a_refusal_goes_under_the_field_it_names(dialog, error, shown_under):
    assert _dialogs()[dialog].refused_field(error) == shown_under


def test_every_mapped_field_is_a_field_of_the_form():
    for name, dialog in _dialogs().items():
        shown = set(dialog.FIELDS.values()) | ({dialog.INVALID_FIELD} - {None}) | set(dialog.ENTER_ORDER)
        source = Path(type(dialog).__module__.replace(".", "/") + ".py")
        text = (ROOT / source).read_text()
        for field in shown:
            assert f'"{field}"' in text, (name, field)


def test_no_form_or_command_matches_message_text():
    """Refusals are told apart by ``exc.field`` (or their type), never by their German words."""
    pattern = re.compile(r"\.message\.startswith|\.message ==|in exc\.message")
    places = [*ROOT.joinpath("screens").rglob("*.py")]
    found = [f"{p.relative_to(ROOT)}:{n}" for p in places
             for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == []
