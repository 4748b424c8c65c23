"""Book an hour package (key ``b`` on the card): hours, purchase day, price, a label."""

from __future__ import annotations

import datetime as dt
import uuid

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from deskapp.formatting import date_de, hours_label, money
from deskapp.rules.budget import validity_end
from deskapp.rules.inputs import InputError, parse_date, parse_money, parse_package_hours
from deskapp.services import budget
from deskapp.services.budget import PackageView

from ..forms import MSG_DATE, BudgetForm, FieldError

MSG_PRICE_INPUT = "Der Preis ist ein Euro-Betrag ab 0 mit höchstens zwei Nachkommastellen, z. B. 1900,00."


class BookPackageDialog(BudgetForm):
    """Key ``b`` on the card: hours, purchase day (today), price, an optional label.

    Shows the validity end as the purchase day is typed; returns the ``PackageView``.
    """

    AUTO_FOCUS = "#hours"
    FIELDS = {"minutes": "hours", "price": "price", "purchased_on": "purchased", "label": "label"}
    ENTER_ORDER = ("hours", "purchased", "price", "label")

    def __init__(self, *, customer_id: uuid.UUID, customer: str, today: dt.date) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.customer = customer
        self.today = today

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="book-dialog"):
            yield Label(f"Stundenpaket für {self.customer} buchen", classes="title")
            yield from self.field_row("Stunden", "hours", Input(placeholder="z. B. 40 oder 12:30", id="hours"))
            yield from self.field_row("Kaufdatum", "purchased", Input(value=date_de(self.today), id="purchased"))
            yield from self.field_row("Preis (EUR)", "price", Input(placeholder="z. B. 1900,00", id="price"))
            yield from self.field_row(
                "Bezeichnung", "label",
                Input(placeholder="optional, z. B. Paket 40 h", max_length=budget.MAX_LABEL, id="label"),
            )
            yield Static("", id="validity")
            yield Static("", id="form-error")
            yield Static("Strg+S buchen · Esc abbrechen", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_validity(self.query_one("#purchased", Input).value)

    def _show_validity(self, raw: str) -> None:
        months = self.app.policy.package_validity_months
        target = self.query_one("#validity", Static)
        try:
            purchased = parse_date(raw)
        except InputError:
            target.update(Text("Gültig bis: – (Kaufdatum als TT.MM.JJ)", style="dim"))
            return
        until = validity_end(purchased, months)
        if until < self.today:
            target.update(Text.assemble(
                "Gültig bis: ", (date_de(until), "bold red"),
                (" — schon verfallen: die Stunden sind ab Buchung nicht nutzbar (nur verlängerbar).", "bold red"),
            ))
            return
        target.update(Text.assemble(
            "Gültig bis: ", (date_de(until), "bold"), (f"  ({months} Monate ab Kaufdatum)", "dim")
        ))

    @on(Input.Changed, "#purchased")
    def _purchased_changed(self, event: Input.Changed) -> None:
        self._show_validity(event.value)

    def prepare(self):
        try:
            minutes = parse_package_hours(self.query_one("#hours", Input).value)
        except InputError as exc:
            raise FieldError("hours", exc.message) from None
        try:
            purchased = parse_date(self.query_one("#purchased", Input).value)
        except InputError:
            raise FieldError("purchased", MSG_DATE) from None
        if purchased > self.today:
            raise FieldError("purchased", budget.MSG_PURCHASE_DAY)
        until = validity_end(purchased, self.app.policy.package_validity_months)
        if until < self.today and getattr(self, "_expired_confirmed", None) != purchased:
            # An already expired package is booked only when the agent says so twice.
            self._expired_confirmed = purchased
            raise FieldError("purchased", MSG_EXPIRED.format(until=date_de(until)))
        try:
            price = parse_money(self.query_one("#price", Input).value, allow_zero=True)
        except InputError:
            raise FieldError("price", MSG_PRICE_INPUT) from None
        label = self.query_one("#label", Input).value.strip()
        app, customer_id = self.app, self.customer_id

        def job(session):
            return budget.book_package(
                session, app.agent, customer_id=customer_id, minutes=minutes, price=price,
                purchased_on=purchased, now=app.now(), policy=app.policy, label=label,
            )

        return job


MSG_EXPIRED = ("Dieses Paket ist schon verfallen (gültig bis {until}): seine Stunden sind nicht nutzbar. "
               "Strg+S noch einmal bucht es trotzdem.")


def booked_text(package: PackageView) -> str:
    return (f"{package.label} gebucht: {hours_label(package.booked_minutes)} für {money(package.price)}, "
            f"gültig bis {date_de(package.valid_until)}.")


__all__ = ["BookPackageDialog", "booked_text"]
