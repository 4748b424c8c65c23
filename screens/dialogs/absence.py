"""A new absence (admin): who, first and last day, reason, note."""

from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Select, Static

from deskapp import texts
from deskapp.formatting import date_de
from deskapp.rules.inputs import InputError, parse_date
from deskapp.services import absences
from deskapp.services.readmodels import AgentRef

from ..forms import FieldError, FormDialog

MSG_AGENT = "Bitte wählen, wer abwesend ist."
MSG_FROM = "Erster Tag als TT.MM.JJ, z. B. 16.03.26."
MSG_TO = "Letzter Tag als TT.MM.JJ, z. B. 20.03.26."
MSG_ORDER = "Der letzte Tag liegt vor dem ersten."
MSG_REASON = "Bitte einen Grund wählen."


class AbsenceDialog(FormDialog):
    """A new absence: who, first and last day (German dates), reason, note."""

    AUTO_FOCUS = "#login"
    INVALID_FIELD = None  # the service's refusals (unknown agent, …) go to the foot of the form

    def __init__(self, *, people: list[AgentRef], today: dt.date) -> None:
        super().__init__()
        self.people = people
        self.today = today

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Abwesenheit eintragen", classes="title")
            yield from self.field_row(
                "Wer", "login",
                Select([(f"{a.login} — {a.display_name}", a.login) for a in self.people],
                       prompt="– bitte wählen –", id="login"),
            )
            # The labels fit the 14-column label cell; the date format is in the placeholder.
            yield from self.field_row(
                "Erster Tag", "starts", Input(date_de(self.today), placeholder="TT.MM.JJ", id="starts")
            )
            yield from self.field_row(
                "Letzter Tag", "ends", Input(date_de(self.today), placeholder="TT.MM.JJ", id="ends")
            )
            yield from self.field_row(
                "Grund", "reason",
                Select([(label, code) for code, label in texts.ABSENCE_REASON.items()],
                       value="vacation", allow_blank=False, id="reason"),
            )
            note = Input(placeholder="optional", max_length=255, id="note")
            yield from self.field_row("Notiz", "note", note)
            yield Static("", id="form-error")
            yield Static("Tab weiter · Strg+S speichern · Esc abbrechen", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()

    def prepare(self):
        login = self.query_one("#login", Select).value
        if login is Select.NULL:
            raise FieldError("login", MSG_AGENT)
        try:
            starts = parse_date(self.query_one("#starts", Input).value)
        except InputError:
            raise FieldError("starts", MSG_FROM) from None
        try:
            ends = parse_date(self.query_one("#ends", Input).value)
        except InputError:
            raise FieldError("ends", MSG_TO) from None
        if ends < starts:
            raise FieldError("ends", MSG_ORDER)
        reason = self.query_one("#reason", Select).value
        if reason is Select.NULL:
            raise FieldError("reason", MSG_REASON)
        note = self.query_one("#note", Input).value.strip()
        app = self.app
        agent, now = app.agent, app.now()

        def job(session):
            return absences.add_absence(session, agent, login=login, starts_on=starts, ends_on=ends,
                                        reason=reason, note=note, now=now)

        return job


__all__ = ["AbsenceDialog"]
