"""The extension form (key ``e`` on the card and on a ticket with a customer).

A thread worker reads ``services.extensions.draft`` (targets, open tasks, packages booked
recently, who would get the request today) and hands it over as ``DraftLoaded``;
everything after that is live and pure: every change of a field runs
``services.extensions.preview`` on the UI thread — no database — and shows the new date,
the policy verdict, the admin-channel message as it would be posted and the errors next
to their fields. ``ctrl+s`` files only a valid form (one worker, ``request_extension``);
``escape`` cancels. The result is the ``ExtensionResult`` or ``None``.

Opened from the card, the draft is read before the form is pushed (``draft=``, see
``read_draft``): the form is composed and filled before its first frame.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from deskapp.formatting import date_de, hours_label
from deskapp.rules.extension import needs_rebooking
from deskapp.rules.inputs import InputError, parse_date, parse_money, parse_package_hours
from deskapp.services import extensions
from deskapp.services.errors import DeskError

from ..forms import MSG_DATABASE, FormDialog

if TYPE_CHECKING:  # annotations only: the composer pulls in orders too
    from deskapp.services.ticket_detail import TicketDetail

# The form's fields in the order they are shown (each has its error line under it).
FIELD_ORDER = ("target", "task", "months", "rebooking", "hours", "price", "purchased")
NEW_PACKAGE = "new"  # the rebooking select's value for "record a new package now"
NO_TASK = -1  # the task select's value for "no task"

MSG_HOURS = "Stunden als 20 oder 20:00 angeben."
MSG_PRICE = "Preis in Euro, z. B. 1900,00."
MSG_PURCHASED = "Datum als TT.MM.JJ, z. B. 10.03.26."
MSG_NOTHING = "Kein Stundenbudget, das verlängert werden könnte."

TASK_LINK_RE = re.compile(r"^Aufgabe ([0-9]+):")

EXTENSION_FORM_CSS = """
ExtensionForm .dialog { width: 118; max-width: 100%; max-height: 100%; padding: 0 2; overflow-y: auto; }
ExtensionForm SelectCurrent Static#label { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
ExtensionForm SelectOverlay { text-wrap: nowrap; text-overflow: ellipsis; }
ExtensionForm #ext-body, ExtensionForm #ext-columns { height: auto; }
ExtensionForm #ext-fields { width: 50; height: auto; }
ExtensionForm #ext-side { width: 1fr; height: auto; margin-left: 2; }
ExtensionForm .row Label { width: 13; }
ExtensionForm .row Input { width: 1fr; }
ExtensionForm .field-error { padding-left: 13; }
ExtensionForm #new-package { height: auto; }
ExtensionForm #rebooking-box { height: auto; }
ExtensionForm #proposal, ExtensionForm #policy { height: auto; padding-left: 13; }
ExtensionForm #policy { margin-bottom: 1; }
ExtensionForm #preview { border: round $accent; height: auto; padding: 0 1; }
ExtensionForm #routing { height: auto; margin-top: 1; }
ExtensionForm #ext-loading { height: auto; }
/* Below 110 columns the preview goes under the fields, full width: the customer ID in it
   stays on one line (docs/rules.md#narrow-terminals). */
ExtensionForm.-narrow #ext-columns { layout: vertical; }
ExtensionForm.-narrow #ext-fields { width: 1fr; }
ExtensionForm.-narrow #ext-side { margin-left: 0; }
"""


def parse_months(raw: str):
    """The months as typed: an int if it is one, else the text (the preview explains)."""
    text = (raw or "").strip()
    return int(text) if re.fullmatch(r"-?[0-9]{1,3}", text) else text


def filed_text(result: extensions.ExtensionResult) -> str:
    """The notification after filing, e.g. 'Antrag #3 an Rebekka gestellt (Ticket #1050).'"""
    ticket = f"(Ticket #{result.ticket_number})"
    if result.addressee_name:
        return f"Antrag #{result.request_id} an {result.addressee_name} gestellt {ticket}."
    return (f"Antrag #{result.request_id} gestellt {ticket} – Genehmigung und Vertretung sind abwesend, "
            "er wartet auf die erste Rückkehr.")


def _one_line(label: str) -> Text:
    """A select option that never wraps (cut with … where the field is narrow)."""
    return Text(label, no_wrap=True, overflow="ellipsis")


def read_draft(app, customer_id: uuid.UUID) -> extensions.ExtensionDraft:
    """What the form offers for ``customer_id`` (call it in a thread)."""
    agent, now, policy = app.agent, app.now(), app.policy
    return app.read(lambda s: extensions.draft(s, agent, customer_id, now=now, policy=policy))


def linked_task_id(detail: TicketDetail) -> int | None:
    """The task a ticket is about (its request's task, or the ticket's task link), if any."""
    if detail.extension is not None and detail.extension.task_id is not None:
        return detail.extension.task_id
    for link in detail.links:
        match = TASK_LINK_RE.match(link.label) if link.kind == "task" else None
        if match:
            return int(match.group(1))
    return None


class ExtensionForm(FormDialog):
    """Request a budget extension for one customer (see the module docstring)."""

    DEFAULT_CSS = FormDialog.DEFAULT_CSS + EXTENSION_FORM_CSS
    HELP_TITLE = "Budgetverlängerung"
    AUTO_FOCUS = ""  # no field until the draft is read: keys typed meanwhile are held for #months
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    INVALID_FIELD = None  # the live preview shows the field errors; a refusal goes to the foot

    class DraftLoaded(Message, bubble=False):
        """The worker read what the form offers (targets, tasks, recent packages, routing)."""

        def __init__(self, draft: extensions.ExtensionDraft) -> None:
            super().__init__()
            self.draft = draft

    def __init__(self, *, customer_id: uuid.UUID, task_id: int | None = None, title: str = "",
                 draft: extensions.ExtensionDraft | None = None) -> None:
        super().__init__()
        self._preloaded = draft  # read before the push: shown in on_mount
        self.customer_id = customer_id
        self.task_id = task_id  # pre-selected (the ticket's or the task's)
        self._title = title
        self.draft: extensions.ExtensionDraft | None = None
        self.current: extensions.ExtensionPreview | None = None
        self._ready = False
        self._local_errors: dict[str, str] = {}
        self._tried = False  # after the first ctrl+s every missing field is marked

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title or "Budgetverlängerung beantragen", classes="title", id="ext-title")
            yield Static("Lade Budget …", id="ext-loading")
            with Vertical(id="ext-body"):
                yield from self.field_row("Budget", "target", Select([], prompt="–", id="target"))
                yield Static("", id="policy")
                with Horizontal(id="ext-columns"):
                    with Vertical(id="ext-fields"):
                        yield from self._fields()
                    with Vertical(id="ext-side"):
                        yield Static("", id="preview")
                        yield Static("", id="routing")
            yield Static("", id="form-error")
            yield Static("Tab weiter · Strg+S beantragen · Esc abbrechen", classes="hint")

    def _fields(self) -> ComposeResult:
        task = Select([("keine Aufgabe", NO_TASK)], allow_blank=False, value=NO_TASK, id="task")
        yield from self.field_row("Aufgabe", "task", task)
        yield from self.field_row("Monate", "months", Input("1", placeholder="1 oder 2", id="months"))
        yield Static("", id="proposal")
        with Vertical(id="rebooking-box"):
            yield from self.field_row(
                "Nachbuchung", "rebooking", Select([], prompt="– bitte wählen –", id="rebooking")
            )
            with Vertical(id="new-package"):
                for label, field, hint in (("Stunden", "hours", "z. B. 20 oder 20:00"),
                                           ("Preis (€)", "price", "z. B. 1900,00"),
                                           ("Gekauft am", "purchased", "TT.MM.JJ")):
                    yield from self.field_row(label, field, Input(placeholder=hint, id=field))

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#preview").border_title = "Vorschau Admin-Channel"
        self.query_one("#ext-body").display = False
        self.query_one("#form-error").display = False
        self.query_one("#rebooking-box").display = False
        self.query_one("#new-package").display = False
        draft, self._preloaded = self._preloaded, None
        if draft is not None:
            self._loaded(self.DraftLoaded(draft))  # before the first frame: one layout
        else:
            self.load()

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="ext-draft", exit_on_error=False)
    def load(self) -> None:
        self.post_message(self.DraftLoaded(read_draft(self.app, self.customer_id)))

    @on(Worker.StateChanged)
    def _draft_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "ext-draft" or event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        message = error.message if isinstance(error, DeskError) else MSG_DATABASE.format(error=error)
        self.query_one("#ext-loading", Static).update(Text(message, style="bold red"))

    @on(DraftLoaded)
    def _loaded(self, event: DraftLoaded) -> None:
        draft = self.draft = event.draft
        self.query_one("#ext-title", Label).update(
            f"Budgetverlängerung für {draft.customer_name} ({draft.customer_number})"
        )
        if not draft.targets:
            self.query_one("#ext-loading", Static).update(Text(MSG_NOTHING, style="bold yellow"))
            return
        self.query_one("#ext-loading").display = False
        self.query_one("#ext-body").display = True
        target = self.query_one("#target", Select)
        target.set_options([(_one_line(self._target_label(t)), i) for i, t in enumerate(draft.targets)])
        target.value = 0
        task = self.query_one("#task", Select)
        task.set_options([("keine Aufgabe", NO_TASK)] + [
            (_one_line(f"{t.id} · {t.title}" + (f" · Deadline {date_de(t.deadline)}" if t.deadline else "")),
             t.id)
            for t in draft.open_tasks
        ])
        open_ids = {t.id for t in draft.open_tasks}
        task.value = self.task_id if self.task_id in open_ids else NO_TASK
        rebooking = self.query_one("#rebooking", Select)
        rebooking.set_options([
            # Date and hours first: in the narrow select they tell the packages apart.
            (_one_line(f"gekauft {date_de(p.purchased_on)} · {hours_label(p.booked_minutes)} · "
                       f"{p.label or f'Paket {p.id}'}"), p.id)
            for p in draft.recent_packages
        ] + [("Neues Paket jetzt erfassen", NEW_PACKAGE)])
        self.query_one("#purchased", Input).value = date_de(draft.today)
        self.query_one("#routing", Static).update(
            Text.assemble(("Admin-Channel: ", "dim"), (draft.routing_note, "bold"))
        )
        self._ready = True
        self.update_preview()
        self.focus_field(self.query_one("#months", Input))  # and the keys typed while it loaded

    @staticmethod
    def _target_label(target: extensions.ExtensionTarget) -> str:
        if target.label:
            return target.label
        state = "verfallen" if target.expired else "gültig"
        return f"gültig bis {date_de(target.valid_until)} · {hours_label(target.remaining_minutes)} ({state})"

    # ------------------------------------------------------------------ live preview

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event) -> None:
        if self._ready:
            self.update_preview()

    def _selected(self, widget_id: str):
        value = self.query_one(f"#{widget_id}", Select).value
        return None if value is Select.NULL else value

    def _read_fields(self) -> tuple[dict, dict[str, str]]:
        """The preview's arguments from the widgets, and the fields that do not parse."""
        assert self.draft is not None
        errors: dict[str, str] = {}
        index = self._selected("target")
        target = self.draft.targets[index] if index is not None else None
        task = self._selected("task")
        # The rebooking counts only where the policy asks for one (its fields are hidden otherwise).
        needed = target is not None and needs_rebooking(target.remaining_minutes, self.app.policy)
        rebooking = self._selected("rebooking") if needed else None
        new_package = None
        if rebooking == NEW_PACKAGE:
            minutes = price = purchased = None
            try:
                minutes = parse_package_hours(self.query_one("#hours", Input).value)
            except InputError:
                errors["hours"] = MSG_HOURS
            try:
                price = parse_money(self.query_one("#price", Input).value, allow_zero=True)
            except InputError:
                errors["price"] = MSG_PRICE
            try:
                purchased = parse_date(self.query_one("#purchased", Input).value)
            except InputError:
                errors["purchased"] = MSG_PURCHASED
            if not errors:
                new_package = extensions.NewPackage(minutes=minutes, price=price, purchased_on=purchased)
        args = {
            "valid_until": target.valid_until if target is not None else None,
            "months": parse_months(self.query_one("#months", Input).value),
            "task_id": None if task in (None, NO_TASK) else task,
            "rebooked_package_id": rebooking if isinstance(rebooking, int) else None,
            "new_package": new_package,
        }
        return args, errors

    def update_preview(self) -> extensions.ExtensionPreview | None:
        """Run the pure preview and show its date, verdict, message and errors."""
        if self.draft is None or not self._ready:
            return None
        args, local = self._read_fields()
        preview = extensions.preview(self.draft, policy=self.app.policy, **args)
        self.current = preview
        self._local_errors = local
        errors = dict(preview.errors)
        if local:
            errors.pop("rebooking", None)  # the field under it says what is wrong
        errors.update(local)
        if not self._tried:
            # Before the first ctrl+s a field nobody has filled in yet is not an error.
            for field in ("rebooking", "hours", "price", "purchased"):
                if field in errors and self._untouched(field):
                    del errors[field]
        for field in FIELD_ORDER:
            widget = self.query_one(f"#{field}-error", Static)
            message = errors.get(field, "")
            widget.update(message)
            widget.display = bool(message)
        months = args["months"]
        proposal = self.query_one("#proposal", Static)
        if preview.proposal is not None and isinstance(months, int):
            unit = "Monat" if months == 1 else "Monate"
            proposal.update(Text.assemble(("Neu gültig bis ", "dim"), (date_de(preview.proposal), "bold"),
                                          (f"  (+{months} {unit})", "dim")))
        else:
            proposal.update(Text("Neu gültig bis –", style="dim"))
        self.query_one("#policy", Static).update(self._policy_text(preview))
        self.query_one("#rebooking-box").display = preview.rebooking_needed
        new_package = preview.rebooking_needed and self._selected("rebooking") == NEW_PACKAGE
        self.query_one("#new-package").display = new_package
        body = self.query_one("#preview", Static)
        if preview.message:
            body.update(Text(preview.message))
        else:
            body.update(Text("Die Vorschau erscheint, sobald Budget und Monate stimmen.", style="dim"))
        return preview

    def _untouched(self, field: str) -> bool:
        widget = self.query_one(f"#{field}")
        if isinstance(widget, Select):
            return widget.value is Select.NULL
        return not widget.value.strip()

    def _policy_text(self, preview: extensions.ExtensionPreview) -> Text:
        policy = self.app.policy
        target = preview.target
        threshold = hours_label(policy.rebooking_threshold_minutes)
        months = f"{policy.extension_min_months}–{policy.extension_max_months} Monate"
        if target is None:
            return Text(f"Ab {threshold} Restbudget: Verlängerung um {months}; darunter erst nachbuchen.",
                        style="dim")
        rest = hours_label(target.remaining_minutes)
        if not preview.rebooking_needed:
            return Text(f"✓ Restbudget {rest} (ab {threshold}): Verlängerung um {months} möglich.",
                        style="bold green")
        return Text(f"⚠ Restbudget {rest} unter {threshold}: Kunde muss zuerst nachbuchen.",
                    style="bold yellow")

    # ------------------------------------------------------------------ filing

    def action_save(self) -> None:
        if self._busy or not self._ready or self.draft is None:
            return
        self._tried = True
        preview = self.update_preview()
        local = self._local_errors
        if preview is None or not preview.ok or local:
            # Focus the first field whose message is shown (not one whose error is folded
            # into another: a missing new package is reported under its own fields).
            first = next((f for f in FIELD_ORDER if self.query_one(f"#{f}-error").display), "months")
            self.show_error(None, "Noch nicht vollständig – bitte die markierten Felder korrigieren; "
                                  "beantragt wird nichts.")
            self.set_focus(self.query_one(f"#{first}"))
            return
        self.clear_errors()
        args, _ = self._read_fields()
        app, customer_id = self.app, self.customer_id
        agent, now, policy = app.agent, app.now(), app.policy

        def job(session):
            return extensions.request_extension(
                session, agent, customer_id=customer_id, now=now, policy=policy, **args
            )

        self._busy = True
        self._submit(job)

    def clear_errors(self) -> None:  # the live preview owns the field errors
        error = self.query_one("#form-error", Static)
        error.update("")
        error.display = False


__all__ = ["ExtensionForm", "filed_text", "linked_task_id", "parse_months", "read_draft"]
