"""Absences (admin): who is away when — sick, vacation. The approval routing reads them.

Reached from the palette ("Abwesenheiten") or its key; the app lets only admins in.
Every read and change runs through ``deskapp.services.absences`` in a thread worker.
"""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from deskapp import texts
from deskapp.formatting import date_de, today_berlin
from deskapp.services import absences
from deskapp.services.readmodels import AgentRef

from .dialogs.absence import AbsenceDialog
from .dialogs.choice import ChoiceDialog
from .messages import AbsenceDeleted, AbsenceFormReady, AbsencesLoaded
from .workers import WorkerNotices


def _span(absence: absences.AbsenceView) -> str:
    """'am 23.11.26' for one day, else '23.11.26–27.11.26'."""
    if absence.starts_on == absence.ends_on:
        return f"am {date_de(absence.starts_on)}"
    return f"{date_de(absence.starts_on)}–{date_de(absence.ends_on)}"


class AbsencesScreen(WorkerNotices, Screen[None]):
    HELP_TITLE = "Abwesenheiten"
    WRITE_GROUPS = frozenset({"absences-write"})
    BINDINGS = [
        Binding("escape", "back", "Zurück", id="absences.back"),
        Binding("n", "add", "Eintragen", id="absences.add"),
        Binding("delete,d", "delete", "Löschen", id="absences.delete"),
        Binding("r", "refresh", "Aktualisieren", id="absences.refresh", show=False),
    ]
    DEFAULT_CSS = """
    AbsencesScreen #absences-title { padding: 0 1; text-style: bold; height: auto; }
    AbsencesScreen #absences-empty { padding: 1 2; height: auto; color: $text-muted; }
    AbsencesScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[absences.AbsenceView] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="absences-title")
        yield DataTable(id="absences", cursor_type="row", zebra_stripes=True)
        yield Static("Keine Abwesenheiten ab heute eingetragen. n trägt eine ein.", id="absences-empty")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Abwesenheiten"
        table = self.query_one(DataTable)
        for label, key, width in (("Wer", "who", 24), ("Von", "from", 9), ("Bis", "to", 9),
                                  ("Tage", "days", 5), ("Grund", "reason", 10), ("Notiz", "note", 40)):
            table.add_column(label, key=key, width=width)
        self.query_one("#absences-empty").display = False
        table.focus()
        self.load()

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="absences", exit_on_error=False)
    def load(self) -> None:
        app = self.app
        today = today_berlin(app.now())
        rows = app.read(lambda s: absences.list_absences(s, from_day=today))
        self.post_message(AbsencesLoaded(rows, today))

    @on(AbsencesLoaded)
    def _show(self, event: AbsencesLoaded) -> None:
        rows, today = event.rows, event.today
        self.rows = list(rows)
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for a in self.rows:
            style = "bold" if a.starts_on <= today <= a.ends_on else ""
            table.add_row(
                Text(f"{a.login} — {a.name}", style=style), date_de(a.starts_on), date_de(a.ends_on),
                Text(str((a.ends_on - a.starts_on).days + 1), justify="right"),
                texts.ABSENCE_REASON.get(a.reason, a.reason), a.note, key=str(a.id),
            )
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1), animate=False)
        table.display = bool(self.rows)
        self.query_one("#absences-empty").display = not self.rows
        self.query_one("#absences-title", Static).update(
            f"Abwesenheiten ab {date_de(today)} ({len(self.rows)}) — heute abwesend: fett"
        )
        self.refresh_bindings()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "delete":
            return True if self._selected() is not None else None
        return True

    def _selected(self) -> absences.AbsenceView | None:
        if not self.rows:
            return None
        table = self.query_one(DataTable)
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def action_back(self) -> None:
        self.dismiss(None)

    def action_refresh(self) -> None:
        self.load()

    def action_add(self) -> None:
        self._open_add()

    @work(thread=True, exclusive=True, group="absences-dialog", exit_on_error=False)
    def _open_add(self) -> None:
        from deskapp.services import agents

        app = self.app
        people = app.read(agents.list_agents)
        self.post_message(AbsenceFormReady(people, today_berlin(app.now())))

    @on(AbsenceFormReady)
    def _show_add(self, event: AbsenceFormReady) -> None:
        people, today = event.people, event.today

        def added(result: absences.AbsenceView | None) -> None:
            if result is not None:
                reason = texts.ABSENCE_REASON.get(result.reason, result.reason)
                self.notify(f"Abwesenheit eingetragen: {result.name} {_span(result)} ({reason}).", timeout=5)
                self.load()

        self.app.push_screen(AbsenceDialog(people=people, today=today), added)

    def action_delete(self) -> None:
        absence = self._selected()
        if absence is None:
            return

        def confirmed(value: str | None) -> None:
            if value == "yes":
                self._delete(absence)

        self.app.push_screen(
            ChoiceDialog(
                f"Abwesenheit von {absence.name} {_span(absence)} löschen?",
                [("yes", "Ja, löschen"), ("no", "Nein")],
            ),
            confirmed,
        )

    @work(thread=True, group="absences-write", exit_on_error=False)
    def _delete(self, absence: absences.AbsenceView) -> None:
        app = self.app
        agent, now = app.agent, app.now()
        app.write(lambda s: absences.delete_absence(s, agent, absence_id=absence.id, now=now))
        self.post_message(AbsenceDeleted(absence))

    @on(AbsenceDeleted)
    def _deleted(self, event: AbsenceDeleted) -> None:
        absence = event.absence
        self.notify(f"Abwesenheit von {absence.name} gelöscht.", timeout=4)
        self.load()


__all__ = ["AbsenceDialog", "AbsencesScreen"]
