"""The real-time order (key ``o`` on the card): item and amount, the headroom live.

Also what the desk says about an order's outcome (``order_outcome`` in the dialog,
``order_headline`` as a notification) and the registry orders go through.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from deskapp.formatting import money
from deskapp.rules.inputs import InputError, parse_money
from deskapp.services import orders
from deskapp.services.errors import InvalidInput

from ..forms import FieldError, FormDialog

MSG_ITEM = "Bitte einen Artikel angeben (z. B. die Domain)."

ORDER_HEADLINE = {
    "executed": ("✓ Bestellung ausgeführt", "bold green"),
    "held": ("⏸ Bestellung angehalten", "bold yellow"),
    "failed": ("✗ Vergabestelle: nicht ausgeführt", "bold red"),
    "pending": ("… Bestellung in Ausführung", "bold cyan"),
}


def order_registry(app):
    """The registry orders go through, as the settings name it (call it in the worker)."""
    from deskapp.services.registry import registry_from_settings

    return registry_from_settings(app.policy, now=app.now())


def order_amount(raw: str) -> Decimal:
    """The amount as typed, checked as the service checks it; ``InvalidInput`` if refused."""
    try:
        amount = parse_money(raw)
    except InputError:
        raise InvalidInput(orders.MSG_AMOUNT, field="amount") from None
    return orders.validate_amount(amount)


def _figures(limit: Decimal, exposure: Decimal, amount: Decimal | None) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_row("Kreditlimit", money(limit))
    grid.add_row("Obligo bisher", money(exposure))
    headroom = limit - exposure
    if amount is None:
        grid.add_row("Verfügbar", Text(money(headroom), style="bold red" if headroom < 0 else "bold green"))
    else:
        after = headroom - amount
        grid.add_row("Obligo mit Bestellung", money(exposure + amount))
        grid.add_row("Verfügbar danach", Text(money(after), style="bold red" if after < 0 else "bold green"))
    return grid


class OrderDialog(FormDialog):
    """Key ``o`` on the card: item and amount, with the headroom live as the agent types.

    The order is placed as the agent at the keyboard. After ``ctrl+s`` the dialog shows
    what came of it (executed, held with the process number, failed with the Technik
    ticket); Enter or Esc closes it and returns the ``OrderResult``.
    """

    AUTO_FOCUS = "#item"
    FIELDS = {"amount": "amount", "item": "item"}
    ENTER_ORDER = ("item", "amount")
    INVALID_FIELD = "amount"
    BINDINGS = [
        Binding("ctrl+s", "save", "Bestellen", priority=True),
        Binding("escape", "cancel", "Abbrechen"),
        Binding("enter", "close", "Schließen", show=False),
    ]

    def __init__(self, *, customer_id: uuid.UUID, customer: str, limit: Decimal, exposure: Decimal) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.customer = customer
        self.limit = limit
        self.exposure = exposure
        self.result: orders.OrderResult | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="order-dialog"):
            yield Label(f"Echtzeitbestellung für {self.customer}", classes="title")
            with Vertical(id="form"):
                yield from self.field_row("Artikel", "item", Input(placeholder="z. B. beispiel.de", max_length=orders.MAX_ITEM, id="item"))
                yield from self.field_row(
                    "Betrag (EUR)", "amount", Input(placeholder="z. B. 12,50", id="amount")
                )
                yield Static(_figures(self.limit, self.exposure, None), id="figures")
                yield Static("", id="verdict")
                yield Static("", id="form-error")
                yield Static("Strg+S bestellen · Esc abbrechen", classes="hint")
            yield Static("", id="result")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#result").display = False

    @on(Input.Changed, "#amount")
    def _amount_changed(self, event: Input.Changed) -> None:
        """Live headroom: limit, exposure, what is left after this order, and the verdict."""
        raw = event.value.strip()
        self.query_one("#amount-error", Static).display = False
        figures = self.query_one("#figures", Static)
        verdict = self.query_one("#verdict", Static)
        if not raw:
            figures.update(_figures(self.limit, self.exposure, None))
            verdict.update("")
            return
        try:
            amount = order_amount(raw)
        except InvalidInput as exc:
            figures.update(_figures(self.limit, self.exposure, None))
            verdict.update(Text(exc.message, style="red"))
            return
        figures.update(_figures(self.limit, self.exposure, amount))
        over = self.exposure + amount - self.limit
        if over <= 0:
            verdict.update(Text("✓ Passt ins Kreditlimit: wird sofort bei der Vergabestelle ausgeführt.",
                                style="bold green"))
        else:
            verdict.update(Text(
                f"⏸ Überschreitet das Kreditlimit um {money(over)}: wird angehalten und bekommt eine "
                "Vorgangsnummer; die Vertragsbearbeitung entscheidet.",
                style="bold yellow",
            ))

    def prepare(self):
        item = self.query_one("#item", Input).value.strip()
        if not item:
            raise FieldError("item", MSG_ITEM)
        try:
            amount = order_amount(self.query_one("#amount", Input).value)
        except InvalidInput as exc:
            raise FieldError("amount", exc.message) from None
        app, customer_id = self.app, self.customer_id

        def job(session):
            return orders.place_order(
                session, app.agent, customer_id=customer_id, item=item, amount=amount,
                now=app.now(), policy=app.policy, registry=order_registry(app),
            )

        return job

    def finished(self, result: orders.OrderResult) -> None:
        self.result = result
        self.query_one("#form").display = False
        self.query_one("#result", Static).update(order_outcome(result))
        self.query_one("#result").display = True
        self.set_focus(self.query_one("#order-dialog"))

    def action_save(self) -> None:
        if self.result is None:
            super().action_save()

    def action_close(self) -> None:
        if self.result is not None:
            self.dismiss(self.result)

    def action_cancel(self) -> None:
        if self.result is not None:
            self.dismiss(self.result)
        else:
            super().action_cancel()


def order_headline(result: orders.OrderResult) -> str:
    """One line for a notification: what happened, with the process or ticket number."""
    if result.status == "held":
        return f"Bestellung {result.item} angehalten – Vorgangsnummer {result.process_number}."
    if result.status == "failed":
        return f"Bestellung {result.item} nicht ausgeführt – Technik-Ticket #{result.ticket_number}."
    if result.status == "pending":
        return f"Bestellung {result.item} in Ausführung – die Vergabestelle hat noch nicht geantwortet."
    return f"Bestellung {result.item} über {money(result.amount)} ausgeführt."


def order_outcome(result: orders.OrderResult) -> Table:
    headline, style = ORDER_HEADLINE.get(result.status, (result.status, "bold"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    if result.process_number:
        grid.add_row("Vorgangsnummer", Text(result.process_number, style="bold"))
    if result.ticket_number is not None:
        queue = "Vertragsbearbeitung" if result.status == "held" else "Technik"
        grid.add_row("Ticket", f"#{result.ticket_number} ({queue})")
    grid.add_row("Kreditlimit", money(result.limit))
    grid.add_row("Obligo jetzt", money(result.exposure))
    grid.add_row("Verfügbar", Text(money(result.headroom), style="red" if result.headroom < 0 else "green"))
    if result.conspicuous_reasons:
        grid.add_row("Auffällig", "\n".join(r.lstrip("- ") for r in result.conspicuous_reasons))
    outer = Table.grid()
    outer.add_row(Text(headline, style=style))
    outer.add_row("")
    outer.add_row(Text(result.notice))
    outer.add_row("")
    outer.add_row(grid)
    outer.add_row("")
    outer.add_row(Text("Enter oder Esc schließt.", style="dim"))
    return outer


__all__ = ["OrderDialog", "order_amount", "order_headline", "order_outcome", "order_registry"]
