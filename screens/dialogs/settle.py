"""Settle by date: every executed order of a customer up to a day counts as paid."""

from __future__ import annotations

import datetime as dt
import uuid

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from deskapp.formatting import date_de
from deskapp.rules.inputs import InputError, parse_date
from deskapp.services import orders

from ..forms import MSG_DATE, FieldError, FormDialog


class SettleUntilDialog(FormDialog):
    """Settle by date: every executed order of the customer up to a day counts as paid."""

    AUTO_FOCUS = "#until"
    FIELDS = {"until": "until"}
    INVALID_FIELD = "until"
    ENTER_ORDER = ("until",)

    def __init__(self, *, customer_id: uuid.UUID, customer: str, today: dt.date) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.customer = customer
        self.today = today

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Bestellungen von {self.customer} abrechnen", classes="title")
            yield Static(
                "Alle ausgeführten Bestellungen bis einschließlich diesem Tag gelten als "
                "abgerechnet (berechnet und bezahlt) und belasten das Kreditlimit nicht mehr.",
                classes="explain",
            )
            yield from self.field_row("Bis (TT.MM.JJ)", "until", Input(value=date_de(self.today), id="until"))
            yield Static("", id="form-error")
            yield Static("Strg+S abrechnen · Esc abbrechen", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()

    def prepare(self):
        try:
            until = parse_date(self.query_one("#until", Input).value)
        except InputError:
            raise FieldError("until", MSG_DATE) from None
        app, customer_id = self.app, self.customer_id

        def job(session):
            count = orders.settle_orders_until(
                session, app.agent, customer_id=customer_id, until=until, now=app.now()
            )
            return until, count

        return job


__all__ = ["SettleUntilDialog"]
