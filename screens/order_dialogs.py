"""Dialogs for real-time orders and the credit limit: order, change the limit, settle by date.

Each is a ``FormDialog``: ``ctrl+s`` checks the fields first (a wrong value gets its
message right under the field, nothing is sent), then runs one service call in a thread
worker inside ``app.write``. A refusal of the service is shown in the dialog — nothing
was written — and the agent may correct and try again; ``escape`` cancels with ``None``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal, InvalidOperation

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

from deskapp.formatting import date_de, money
from deskapp.services import orders
from deskapp.services.errors import DeskError, InvalidInput

from .dialogs import DialogScreen

FORM_CSS = """
.dialog .row Input { width: 1fr; }
.dialog .field-error { color: $error; text-style: bold; padding-left: 15; height: auto; }
.dialog #figures { margin-top: 1; height: auto; }
.dialog #verdict { margin-top: 1; height: auto; }
.dialog #form-error { color: $error; text-style: bold; margin-top: 1; height: auto; }
.dialog #result { height: auto; }
"""

DATE_RE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})\s*$")
MSG_DATE = "Bitte ein Datum als TT.MM.JJ eingeben, z. B. 31.03.26."
MSG_ITEM = "Bitte einen Artikel angeben (z. B. die Domain)."
MSG_LIMIT = "Das Limit muss ein Euro-Betrag ab 0 mit höchstens zwei Nachkommastellen sein."
MSG_REASON = "Ohne Begründung wird das Limit nicht geändert."


def order_registry(app):
    """The registry orders go through, as the settings name it (call it in the worker)."""
    from deskapp.services.registry import registry_from_settings

    return registry_from_settings(app.policy, now=app.now())


def parse_date_de(raw: str) -> dt.date:
    """``31.03.26`` (or ``31.03.2026``) → a date; ``ValueError`` for anything else."""
    match = DATE_RE.match(raw or "")
    if not match:
        raise ValueError(raw)
    day, month, year = (int(g) for g in match.groups())
    if year < 100:
        year += 2000
    return dt.date(year, month, day)


def parse_limit(raw: str) -> Decimal:
    """A credit limit as typed: ``750``, ``750,00``, ``1.000`` is refused (ambiguous)."""
    text = (raw or "").strip().replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(raw) from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise ValueError(raw)
    return value.quantize(Decimal("0.01"))


class FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class FormDialog(DialogScreen):
    """A form that writes through one service call (see the module docstring)."""

    DEFAULT_CSS = DialogScreen.DEFAULT_CSS + FORM_CSS
    BINDINGS = [
        Binding("ctrl+s", "save", "Speichern", priority=True),
        Binding("escape", "cancel", "Abbrechen"),
    ]
    # The field a refusal of the service belongs under (InvalidInput); others go to the foot.
    INVALID_FIELD: str | None = None

    def __init__(self) -> None:
        super().__init__()
        self._busy = False

    # -- to fill in by each form ------------------------------------------------------

    def prepare(self):
        """Check the fields; return ``job(session)`` or raise ``FieldError``."""
        raise NotImplementedError

    def finished(self, result) -> None:
        self.dismiss(result)

    # -- the machinery ----------------------------------------------------------------

    def field_row(self, label: str, field: str, widget) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label(label)
            yield widget
        yield Static("", id=f"{field}-error", classes="field-error")

    def on_mount(self) -> None:
        for error in self.query(".field-error"):
            error.display = False

    def show_error(self, field: str | None, message: str) -> None:
        target = self.query_one(f"#{field}-error" if field else "#form-error", Static)
        target.update(message)
        target.display = True

    def clear_errors(self) -> None:
        for error in self.query(".field-error"):
            error.update("")
            error.display = False
        self.query_one("#form-error", Static).update("")

    def action_save(self) -> None:
        if self._busy:
            return
        self.clear_errors()
        try:
            job = self.prepare()
        except FieldError as exc:
            self.show_error(exc.field, exc.message)
            self.query_one(f"#{exc.field}").focus()
            return
        self._busy = True
        self._submit(job)

    @work(thread=True, exclusive=True, group="form", exit_on_error=False)
    def _submit(self, job) -> None:
        app = self.app
        try:
            result = app.write(job)
        except DeskError as exc:
            app.call_from_thread(self._refused, exc)
            return
        app.call_from_thread(self._done, result)

    def _refused(self, exc: DeskError) -> None:
        self._busy = False
        field = self.INVALID_FIELD if isinstance(exc, InvalidInput) else None
        self.show_error(field, exc.message)

    def _done(self, result) -> None:
        self._busy = False
        self.finished(result)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "form" and event.state == WorkerState.ERROR:
            self._busy = False
            self.show_error(None, f"Datenbankfehler: {event.worker.error}")

    def action_cancel(self) -> None:
        if not self._busy:
            self.dismiss(None)


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
        self.query_one("#item", Input).focus()

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
            amount = orders.validate_amount(raw)
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

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        # Enter in the item field moves on to the amount; in the amount field it orders.
        if event.input.id == "item":
            self.query_one("#amount", Input).focus()
        else:
            self.action_save()

    def prepare(self):
        item = self.query_one("#item", Input).value.strip()
        if not item:
            raise FieldError("item", MSG_ITEM)
        try:
            amount = orders.validate_amount(self.query_one("#amount", Input).value)
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
        self.query_one("#order-dialog").focus()

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


ORDER_HEADLINE = {
    "executed": ("✓ Bestellung ausgeführt", "bold green"),
    "held": ("⏸ Bestellung angehalten", "bold yellow"),
    "failed": ("✗ Vergabestelle: nicht ausgeführt", "bold red"),
}


def order_headline(result: orders.OrderResult) -> str:
    """One line for a notification: what happened, with the process or ticket number."""
    if result.status == "held":
        return f"Bestellung {result.item} angehalten – Vorgangsnummer {result.process_number}."
    if result.status == "failed":
        return f"Bestellung {result.item} nicht ausgeführt – Technik-Ticket #{result.ticket_number}."
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


class CreditLimitDialog(FormDialog):
    """Key ``L`` on the card (contract processing): the new limit and the reason for it."""

    INVALID_FIELD = "limit"

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
        self.query_one("#limit", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "limit":
            self.query_one("#reason", Input).focus()
        else:
            self.action_save()

    def prepare(self):
        try:
            new_limit = parse_limit(self.query_one("#limit", Input).value)
        except ValueError:
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


class SettleUntilDialog(FormDialog):
    """Settle by date: every executed order of the customer up to a day counts as paid."""

    INVALID_FIELD = "until"

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
        self.query_one("#until", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.action_save()

    def prepare(self):
        try:
            until = parse_date_de(self.query_one("#until", Input).value)
        except ValueError:
            raise FieldError("until", MSG_DATE) from None
        app, customer_id = self.app, self.customer_id

        def job(session):
            count = orders.settle_orders_until(
                session, app.agent, customer_id=customer_id, until=until, now=app.now()
            )
            return until, count

        return job


__all__ = [
    "CreditLimitDialog",
    "FieldError",
    "FormDialog",
    "OrderDialog",
    "SettleUntilDialog",
    "order_headline",
    "order_outcome",
    "order_registry",
    "parse_date_de",
    "parse_limit",
]
