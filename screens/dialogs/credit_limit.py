"""Change a customer's credit limit (key ``L`` on the card, contract processing)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from deskapp.formatting import money
from deskapp.rules.inputs import InputError, parse_money
from deskapp.services import orders

from ..forms import FieldError, FormDialog

MSG_LIMIT = "Das Limit muss ein Euro-Betrag ab 0 mit höchstens zwei Nachkommastellen sein."
MSG_REASON = "Ohne Begründung wird das Limit nicht geändert."


class CreditLimitDialog(FormDialog):
    """Key ``L`` on the card (contract processing): the new limit and the reason for it."""

    AUTO_FOCUS = "#limit"
    FIELDS = {"new_limit": "limit", "reason": "reason"}
    INVALID_FIELD = "limit"
    ENTER_ORDER = ("limit", "reason")

    def __init__(self, *, customer_id: uuid.UUID, customer: str, limit: Decimal) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.customer = customer
        self.limit = limit

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Kreditlimit für {self.customer} ändern", classes="title")
            yield Static(f"Bisher: {money(self.limit)}", classes="explain")
            yield from self.field_row("Neues Limit", "limit", Input(placeholder="z. B. 1000,00", id="limit"))
            yield from self.field_row("Begründung", "reason",
                                      Input(placeholder="Kundenwunsch, Bonität …", id="reason"))
            yield Static("", id="form-error")
            yield Static("Strg+S speichern · Esc abbrechen", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()

    def prepare(self):
        try:
            new_limit = parse_money(self.query_one("#limit", Input).value, allow_zero=True)
        except InputError:
            raise FieldError("limit", MSG_LIMIT) from None
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            raise FieldError("reason", MSG_REASON)
        app, customer_id = self.app, self.customer_id

        def job(session):
            return orders.change_credit_limit(
                session, app.agent, customer_id=customer_id, new_limit=new_limit, reason=reason, now=app.now()
            )

        return job


__all__ = ["CreditLimitDialog"]
