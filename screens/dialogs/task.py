"""Create or edit a task: title, estimate ``hh:mm``, deadline — with the workaround hint."""

from __future__ import annotations

import datetime as dt
import uuid

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from deskapp import texts
from deskapp.formatting import date_de, hhmm
from deskapp.rules.budget import deadline_on_expiry
from deskapp.rules.inputs import InputError, parse_date, parse_duration
from deskapp.services import budget
from deskapp.services.budget import TaskView

from ..forms import BudgetForm, FieldError

MSG_DEADLINE_INPUT = "Deadline als TT.MM.JJ (z. B. 31.03.26) oder leer lassen."


class TaskDialog(BudgetForm):
    """Create (``task=None``) or edit a task: title, estimate ``hh:mm``, deadline.

    While the deadline is typed the dialog says when it sits on a budget expiry (the
    workaround). Editing sends the version the agent saw: if someone changed the task
    meanwhile, the service refuses and nothing is overwritten. Returns the ``TaskView``.
    """

    AUTO_FOCUS = "#title"
    FIELDS = {"title": "title", "estimate_minutes": "estimate", "deadline": "deadline"}
    ENTER_ORDER = ("title", "estimate", "deadline")

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

    @on(Input.Changed, "#deadline")
    def _deadline_changed(self, event: Input.Changed) -> None:
        self._show_workaround(event.value)

    def _show_workaround(self, raw: str) -> None:
        target = self.query_one("#workaround", Static)
        try:
            deadline = parse_date(raw) if raw.strip() else None
        except InputError:
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

    def prepare(self):
        title = self.query_one("#title", Input).value.strip()
        if not title:
            raise FieldError("title", budget.MSG_TITLE)
        raw_estimate = self.query_one("#estimate", Input).value
        try:
            estimate = parse_duration(raw_estimate, allow_zero=True) if raw_estimate.strip() else 0
        except InputError as exc:
            raise FieldError("estimate", exc.message) from None
        raw_deadline = self.query_one("#deadline", Input).value
        try:
            deadline = parse_date(raw_deadline) if raw_deadline.strip() else None
        except InputError:
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


__all__ = ["TaskDialog"]
