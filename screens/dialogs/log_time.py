"""Log time (key ``t``) on a ticket, a task, or just the customer, with the budget live."""

from __future__ import annotations

import uuid

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

from deskapp.formatting import date_de, hours_label
from deskapp.rules.inputs import InputError, parse_duration
from deskapp.services import budget
from deskapp.services.errors import DeskError

from ..forms import MSG_DATABASE, BudgetForm, FieldError

MSG_LOADING = "Budget wird geladen …"


class LogTimeDialog(BudgetForm):
    """Key ``t``: time on a ticket, a task, or just the customer.

    Loads the customer's valid remaining budget first and shows, as the agent types,
    what this booking takes and what would remain. More than is left is refused by the
    service with the amount that is left, shown under the field. Returns ``TimeLogged``.
    """

    AUTO_FOCUS = "#minutes"
    FIELDS = {"minutes": "minutes", "note": "note"}
    INVALID_FIELD = "minutes"
    ENTER_ORDER = ("minutes", "note")

    class BudgetLoaded(Message, bubble=False):
        """The worker read the customer's time budget."""

        def __init__(self, loaded: budget.TimeBudget) -> None:
            super().__init__()
            self.loaded = loaded

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
        self._load_budget()

    @work(thread=True, exclusive=True, group="time-budget", exit_on_error=False)
    def _load_budget(self) -> None:
        app = self.app
        from deskapp.formatting import today_berlin

        today = today_berlin(app.now())
        loaded = app.read(
            lambda s: budget.time_budget(s, self.customer_id, today=today, task_id=self.task_id)
        )
        self.post_message(self.BudgetLoaded(loaded))

    @on(Worker.StateChanged)
    def _budget_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "time-budget" and event.state == WorkerState.ERROR:
            error = event.worker.error
            message = error.message if isinstance(error, DeskError) else MSG_DATABASE.format(error=error)
            self.query_one("#figures", Static).update(Text(message, style="bold red"))

    @on(BudgetLoaded)
    def _budget_loaded(self, event: BudgetLoaded) -> None:
        self.time_budget = event.loaded
        self._update_figures(self.query_one("#minutes", Input).value)

    def _figures(self, minutes: int | None) -> Table:
        b = self.time_budget
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(justify="right", overflow="fold")
        grid.add_row("Gültiges Restbudget", hours_label(b.valid_minutes))
        if self.task_id is not None and b.available_minutes != b.valid_minutes:
            grid.add_row("mit der Blockierung der Aufgabe", hours_label(b.available_minutes))
        if b.draws_from:
            label, until, left = b.draws_from[0]
            grid.add_row("Bucht von", f"{label} (gültig bis {date_de(until)}, {hours_label(left)} frei)")
            if minutes is not None and minutes > left and len(b.draws_from) > 1:
                label2, until2, _left2 = b.draws_from[1]
                grid.add_row("dann von", f"{label2} (gültig bis {date_de(until2)})")
        else:
            grid.add_row("Bucht von", "keinem Paket (kein gültiges Restbudget)")
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
            minutes = parse_duration(raw)
        except InputError as exc:
            figures.update(self._figures(None))
            verdict.update(Text(exc.message, style="red"))
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

    def prepare(self):
        try:
            minutes = parse_duration(self.query_one("#minutes", Input).value)
        except InputError as exc:
            raise FieldError("minutes", exc.message) from None
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


__all__ = ["LogTimeDialog", "announce_time"]
