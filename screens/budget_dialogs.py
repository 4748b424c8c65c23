"""Dialogs of the hour budget: book a package, log time, create or edit a task.

Each is a ``FormDialog`` (see ``screens.order_dialogs``): ``ctrl+s`` checks the fields
first (a wrong value gets its message under the field and nothing is sent), then runs one
service call in a thread worker. A refusal of the service lands under the field it is
about; ``escape`` cancels with ``None``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

from deskapp import texts
from deskapp.formatting import date_de, hhmm, hours_label, money
from deskapp.rules.budget import deadline_on_expiry, validity_end
from deskapp.rules.timeinput import parse_hours, parse_minutes
from deskapp.services import budget
from deskapp.services.budget import PackageView, TaskView
from deskapp.services.errors import DeskError, InvalidInput

from .order_dialogs import MSG_DATE, FieldError, FormDialog, parse_date_de, parse_limit

MSG_PRICE_INPUT = "Der Preis ist ein Euro-Betrag ab 0 mit höchstens zwei Nachkommastellen, z. B. 1900,00."
MSG_DEADLINE_INPUT = "Deadline als TT.MM.JJ (z. B. 31.03.26) oder leer lassen."
MSG_LOADING = "Budget wird geladen …"

BUDGET_FORM_CSS = """
.dialog #validity { margin-top: 1; height: auto; }
.dialog #workaround { margin-top: 1; height: auto; }
"""


class BudgetForm(FormDialog):
    """A form whose service refusals go under the field they name."""

    DEFAULT_CSS = FormDialog.DEFAULT_CSS + BUDGET_FORM_CSS
    FIELD_OF_MESSAGE: dict[str, str] = {}

    def _refused(self, exc: DeskError) -> None:
        field = None
        if isinstance(exc, InvalidInput):
            field = next(
                (f for prefix, f in self.FIELD_OF_MESSAGE.items() if exc.message.startswith(prefix)),
                self.INVALID_FIELD,
            )
        self._busy = False
        self.show_error(field, exc.message)

    @on(Input.Changed)
    def _field_edited(self, event: Input.Changed) -> None:
        """A field's message goes once the agent changes that field (it is checked again on save)."""
        if event.input.id:
            for error in self.query(f"#{event.input.id}-error"):
                error.display = False


def _prefix(message: str) -> str:
    """The fixed start of a service message template (before its first ``{``)."""
    return message.split("{", 1)[0]


# --------------------------------------------------------------------------- packages


class BookPackageDialog(BudgetForm):
    """Key ``b`` on the card: hours, purchase day (today), price, an optional label.

    Shows the validity end as the purchase day is typed; returns the ``PackageView``.
    """

    FIELD_OF_MESSAGE = {
        _prefix(budget.MSG_MINUTES): "hours",
        _prefix(budget.MSG_PRICE): "price",
        _prefix(budget.MSG_PURCHASE_DAY): "purchased",
        _prefix(budget.MSG_LABEL): "label",
    }

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
        self.query_one("#hours", Input).focus()

    def _show_validity(self, raw: str) -> None:
        months = self.app.policy.package_validity_months
        target = self.query_one("#validity", Static)
        try:
            purchased = parse_date_de(raw)
        except ValueError:
            target.update(Text("Gültig bis: – (Kaufdatum als TT.MM.JJ)", style="dim"))
            return
        until = validity_end(purchased, months)
        target.update(Text.assemble(
            "Gültig bis: ", (date_de(until), "bold"), (f"  ({months} Monate ab Kaufdatum)", "dim")
        ))

    @on(Input.Changed, "#purchased")
    def _purchased_changed(self, event: Input.Changed) -> None:
        self._show_validity(event.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        order = ["hours", "purchased", "price", "label"]
        index = order.index(event.input.id)
        if index + 1 < len(order):
            self.query_one(f"#{order[index + 1]}", Input).focus()
        else:
            self.action_save()

    def prepare(self):
        try:
            minutes = parse_hours(self.query_one("#hours", Input).value)
        except ValueError as exc:
            raise FieldError("hours", str(exc)) from None
        try:
            purchased = parse_date_de(self.query_one("#purchased", Input).value)
        except ValueError:
            raise FieldError("purchased", MSG_DATE) from None
        if purchased > self.today:
            raise FieldError("purchased", budget.MSG_PURCHASE_DAY)
        try:
            price = parse_limit(self.query_one("#price", Input).value)
        except ValueError:
            raise FieldError("price", MSG_PRICE_INPUT) from None
        label = self.query_one("#label", Input).value.strip()
        app, customer_id = self.app, self.customer_id

        def job(session):
            return budget.book_package(
                session, app.agent, customer_id=customer_id, minutes=minutes, price=price,
                purchased_on=purchased, now=app.now(), policy=app.policy, label=label,
            )

        return job


def booked_text(package: PackageView) -> str:
    return (f"{package.label} gebucht: {hours_label(package.booked_minutes)} für {money(package.price)}, "
            f"gültig bis {date_de(package.valid_until)}.")


# --------------------------------------------------------------------------- time


class LogTimeDialog(BudgetForm):
    """Key ``t``: time on a ticket, a task, or just the customer.

    Loads the customer's valid remaining budget first and shows, as the agent types,
    what this booking takes and what would remain. More than is left is refused by the
    service with the amount that is left, shown under the field. Returns ``TimeLogged``.
    """

    INVALID_FIELD = "minutes"
    FIELD_OF_MESSAGE = {_prefix(budget.MSG_NOTE): "note"}

    def __init__(
        self,
        *,
        customer_id: uuid.UUID,
        customer: str,
        ticket_id: int | None = None,
        ticket_number: int | None = None,
        task_id: int | None = None,
        task_title: str = "",
    ) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.customer = customer
        self.ticket_id = ticket_id
        self.ticket_number = ticket_number
        self.task_id = task_id
        self.task_title = task_title
        self.time_budget: budget.TimeBudget | None = None

    def compose(self) -> ComposeResult:
        on_what = self.customer
        if self.ticket_number is not None:
            on_what = f"#{self.ticket_number} ({self.customer})"
        elif self.task_id is not None:
            on_what = f"Aufgabe {self.task_id} „{self.task_title}“ ({self.customer})"
        with Vertical(classes="dialog", id="time-dialog"):
            yield Label(f"Zeit erfassen: {on_what}", classes="title")
            yield from self.field_row("Zeit (hh:mm)", "minutes", Input(placeholder="z. B. 1:30 oder 90", id="minutes"))
            yield from self.field_row(
                "Notiz", "note", Input(placeholder="optional", max_length=budget.MAX_NOTE, id="note")
            )
            yield Static(Text(MSG_LOADING, style="dim"), id="figures")
            yield Static("", id="verdict")
            yield Static("", id="form-error")
            yield Static("Strg+S buchen · Esc abbrechen", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#minutes", Input).focus()
        self._load_budget()

    @work(thread=True, exclusive=True, group="time-budget", exit_on_error=False)
    def _load_budget(self) -> None:
        app = self.app
        from deskapp.formatting import today_berlin

        today = today_berlin(app.now())
        loaded = app.read(
            lambda s: budget.time_budget(s, self.customer_id, today=today, task_id=self.task_id)
        )
        app.call_from_thread(self._budget_loaded, loaded)

    @on(Worker.StateChanged)
    def _budget_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "time-budget" and event.state == WorkerState.ERROR:
            error = event.worker.error
            message = error.message if isinstance(error, DeskError) else f"Datenbankfehler: {error}"
            self.query_one("#figures", Static).update(Text(message, style="bold red"))

    def _budget_loaded(self, loaded: budget.TimeBudget) -> None:
        self.time_budget = loaded
        self._update_figures(self.query_one("#minutes", Input).value)

    def _figures(self, minutes: int | None) -> Table:
        b = self.time_budget
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row("Gültiges Restbudget", hours_label(b.valid_minutes))
        if self.task_id is not None and b.available_minutes != b.valid_minutes:
            grid.add_row("mit der Blockierung der Aufgabe", hours_label(b.available_minutes))
        if minutes is not None:
            after = b.available_minutes - minutes
            grid.add_row("Diese Buchung", hours_label(minutes))
            grid.add_row("Danach übrig", Text(hours_label(after), style="bold red" if after < 0 else "bold green"))
        return grid

    @on(Input.Changed, "#minutes")
    def _minutes_changed(self, event: Input.Changed) -> None:
        self._update_figures(event.value)

    def show_error(self, field: str | None, message: str) -> None:
        # The message under the field replaces the live verdict (it says the same once more).
        if field == "minutes":
            self.query_one("#verdict", Static).update("")
        super().show_error(field, message)

    def _update_figures(self, raw: str) -> None:
        if self.time_budget is None:
            return
        figures = self.query_one("#figures", Static)
        verdict = self.query_one("#verdict", Static)
        if not raw.strip():
            figures.update(self._figures(None))
            verdict.update("")
            return
        try:
            minutes = parse_minutes(raw)
        except ValueError as exc:
            figures.update(self._figures(None))
            verdict.update(Text(str(exc), style="red"))
            return
        figures.update(self._figures(minutes))
        after = self.time_budget.available_minutes - minutes
        policy = self.app.policy
        if after < 0 and not policy.allow_negative_budget:
            verdict.update(Text(budget.MSG_OVER_BUDGET.format(
                available=hours_label(max(0, self.time_budget.available_minutes)), wanted=hours_label(minutes)
            ), style="bold red"))
            return
        level, warning = budget.budget_warning(after, policy)
        style = {"critical": "bold red", "warn": "bold yellow"}.get(level, "")
        verdict.update(Text(warning, style=style))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "minutes":
            self.query_one("#note", Input).focus()
        else:
            self.action_save()

    def prepare(self):
        try:
            minutes = parse_minutes(self.query_one("#minutes", Input).value)
        except ValueError as exc:
            raise FieldError("minutes", str(exc)) from None
        note = self.query_one("#note", Input).value.strip()
        app, customer_id, ticket_id, task_id = self.app, self.customer_id, self.ticket_id, self.task_id

        def job(session):
            return budget.log_time(
                session, app.agent, customer_id=customer_id, minutes=minutes, now=app.now(),
                policy=app.policy, ticket_id=ticket_id, task_id=task_id, note=note,
            )

        return job


def announce_time(screen, result: budget.TimeLogged | None, customer: str) -> bool:
    """Tell the agent what a time booking did, with the budget warning if there is one."""
    if result is None:
        return False
    screen.notify(
        f"{hours_label(result.minutes)} für {customer} erfasst · gültiges Restbudget "
        f"{hours_label(result.valid_after)}.",
        timeout=5,
    )
    if result.warning:
        screen.notify(result.warning, severity="error" if result.level == "critical" else "warning", timeout=10)
    return True


# --------------------------------------------------------------------------- tasks


class TaskDialog(BudgetForm):
    """Create (``task=None``) or edit a task: title, estimate ``hh:mm``, deadline.

    While the deadline is typed the dialog says when it sits on a budget expiry (the
    workaround). Editing sends the version the agent saw: if someone changed the task
    meanwhile, the service refuses and nothing is overwritten. Returns the ``TaskView``.
    """

    FIELD_OF_MESSAGE = {
        _prefix(budget.MSG_TITLE): "title",
        _prefix(budget.MSG_ESTIMATE): "estimate",
        _prefix(budget.MSG_DEADLINE): "deadline",
    }

    def __init__(
        self,
        *,
        customer_id: uuid.UUID,
        customer: str,
        expiries: tuple[dt.date, ...] = (),
        task: TaskView | None = None,
    ) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.customer = customer
        self.expiries = list(expiries)
        self.editing = task

    def compose(self) -> ComposeResult:
        t = self.editing
        title = f"Aufgabe {t.id} bearbeiten" if t else f"Neue Aufgabe für {self.customer}"
        with Vertical(classes="dialog", id="task-dialog"):
            yield Label(title, classes="title")
            yield from self.field_row(
                "Titel", "title",
                Input(value=t.title if t else "", max_length=budget.MAX_TITLE, id="title"),
            )
            yield from self.field_row(
                "Schätzung", "estimate",
                Input(value=hhmm(t.estimate_minutes) if t else "", placeholder="hh:mm, z. B. 4:00", id="estimate"),
            )
            yield from self.field_row(
                "Deadline", "deadline",
                Input(value=date_de(t.deadline) if t and t.deadline else "", placeholder="TT.MM.JJ oder leer",
                      id="deadline"),
            )
            yield Static("", id="workaround")
            yield Static("", id="form-error")
            yield Static("Strg+S speichern · Esc abbrechen", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_workaround(self.query_one("#deadline", Input).value)
        self.query_one("#title", Input).focus()

    @on(Input.Changed, "#deadline")
    def _deadline_changed(self, event: Input.Changed) -> None:
        self._show_workaround(event.value)

    def _show_workaround(self, raw: str) -> None:
        target = self.query_one("#workaround", Static)
        try:
            deadline = parse_date_de(raw) if raw.strip() else None
        except ValueError:
            deadline = None
        hit = None
        if deadline is not None:
            hit = deadline_on_expiry(deadline, self.expiries, self.app.policy.workaround_window_days)
        if hit is None:
            target.update("")
            target.display = False
            return
        target.update(Text(f"{texts.FLAG_SYMBOL['workaround']} {texts.WORKAROUND_HINT} ({date_de(hit)})",
                           style="bold yellow"))
        target.display = True

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        order = ["title", "estimate", "deadline"]
        index = order.index(event.input.id)
        if index + 1 < len(order):
            self.query_one(f"#{order[index + 1]}", Input).focus()
        else:
            self.action_save()

    def prepare(self):
        title = self.query_one("#title", Input).value.strip()
        if not title:
            raise FieldError("title", budget.MSG_TITLE)
        raw_estimate = self.query_one("#estimate", Input).value
        try:
            estimate = parse_minutes(raw_estimate, allow_zero=True) if raw_estimate.strip() else 0
        except ValueError as exc:
            raise FieldError("estimate", str(exc)) from None
        raw_deadline = self.query_one("#deadline", Input).value
        try:
            deadline = parse_date_de(raw_deadline) if raw_deadline.strip() else None
        except ValueError:
            raise FieldError("deadline", MSG_DEADLINE_INPUT) from None
        app, customer_id, task = self.app, self.customer_id, self.editing

        def job(session):
            if task is None:
                return budget.create_task(
                    session, app.agent, customer_id=customer_id, title=title, estimate_minutes=estimate,
                    deadline=deadline, now=app.now(), policy=app.policy,
                )
            return budget.update_task(
                session, app.agent, task_id=task.id, version=task.version, title=title,
                estimate_minutes=estimate, deadline=deadline, now=app.now(), policy=app.policy,
            )

        return job


__all__ = [
    "BookPackageDialog",
    "LogTimeDialog",
    "TaskDialog",
    "announce_time",
    "booked_text",
]
