"""Policy settings (docs/rules.md#setup-settings): every number of the rule book, for everyone.

Each row: the setting's key, its value now, its default, ``*`` when changed from the
default, and what it means; the highlighted one is explained in full below the table.
Admins press ``enter``/``e`` to change one (``screens.dialogs.setting``); the service
checks the value and writes the audit entry old → new. The running desk takes the new
value at once; other desks read it when they start.
"""

from __future__ import annotations

import dataclasses

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from deskapp.services import agents, policy_admin

from .dialogs.setting import SettingForm
from .messages import SettingsLoaded
from .workers import WorkerNotices

CHANGED_MARK = "*"
READ_ONLY = "nur lesen: ändern dürfen Admins"
SET_DONE = "{key}: {old} → {new}"
SET_SAME = "{key} ist bereits {value}; nichts geändert."


def value_de(value: str, kind: str) -> str:
    """A stored value as the desk shows numbers (docs/glossary.md): '500.00' → '500,00 €'."""
    from decimal import Decimal, InvalidOperation

    from deskapp.formatting import money

    try:
        if kind == "Betrag":
            return money(Decimal(value))
        if kind == "Zahl":
            return value.replace(".", ",")
    except (InvalidOperation, ValueError):
        pass
    return value


class SettingsScreen(WorkerNotices, Screen[None]):
    HELP_TITLE = "Einstellungen"
    BINDINGS = [
        Binding("escape", "back", "Zurück", id="settings.back"),
        Binding("enter,e", "edit", "Ändern", id="settings.edit"),
    ]
    DEFAULT_CSS = """
    SettingsScreen #settings-title { padding: 0 1; text-style: bold; height: auto; }
    SettingsScreen DataTable { height: 1fr; }
    SettingsScreen #settings-explain {
        height: auto; padding: 0 1; border-top: solid $accent; color: $text;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[policy_admin.SettingView] = []
        self.can_manage = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Einstellungen", id="settings-title")
        yield DataTable(id="settings", cursor_type="row", zebra_stripes=True)
        yield Static("", id="settings-explain")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Einstellungen"
        table = self.query_one(DataTable)
        for label, key, width in (("Einstellung", "key", 35), ("Wert", "value", 11), ("", "mark", 1),
                                  ("Standard", "default", 11), ("Bedeutung", "description", 50)):
            table.add_column(label, key=key, width=width)
        table.focus()
        self.load()

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="settings", exit_on_error=False)
    def load(self) -> None:
        app = self.app
        login = app.agent.login

        def read(session):
            rows = policy_admin.list_settings(session)
            return rows, agents.is_active_admin(session, login)

        rows, can_manage = app.read(read)
        self.post_message(SettingsLoaded(rows, can_manage))

    @on(SettingsLoaded)
    def _show(self, event: SettingsLoaded) -> None:
        self.rows = list(event.rows)
        self.can_manage = event.can_manage
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for s in self.rows:
            table.add_row(s.key, value_de(s.value, s.kind), CHANGED_MARK if s.overridden else "",
                          value_de(s.default, s.kind), s.description, key=s.key)
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1), animate=False)
        changed = sum(1 for s in self.rows if s.overridden)
        title = f"Richtlinien-Einstellungen ({len(self.rows)}, {changed} geändert: {CHANGED_MARK})"
        if not self.can_manage:
            title += f" — {READ_ONLY}"
        self.query_one("#settings-title", Static).update(title)
        self._explain()
        self.refresh_bindings()

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self._explain()

    def _explain(self) -> None:
        s = self._selected()
        text = ""
        if s is not None:
            text = (f"[b]{s.key}[/]: {s.description}\n"
                    f"Art: {s.kind} · Wert: {value_de(s.value, s.kind) or '(leer)'} · "
                    f"Standard: {value_de(s.default, s.kind) or '(leer)'}")
        self.query_one("#settings-explain", Static).update(text)

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "edit":
            return True if self.can_manage and self._selected() is not None else None
        return True

    def _selected(self) -> policy_admin.SettingView | None:
        if not self.rows:
            return None
        table = self.query_one(DataTable)
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    @on(DataTable.RowSelected)
    def _enter(self) -> None:
        """``enter`` on the table (the table takes the key before the screen's binding)."""
        if self.check_action("edit", ()):
            self.action_edit()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_edit(self) -> None:
        setting = self._selected()
        if setting is None or not self.can_manage:
            return

        def done(change: policy_admin.SettingChange | None) -> None:
            if change is None:
                return
            new = change.setting
            if change.changed:
                self._apply(new.key, new.value)
                self.notify(SET_DONE.format(key=new.key, old=change.old, new=new.value), timeout=5)
            else:
                self.notify(SET_SAME.format(key=new.key, value=new.value), timeout=5)
            self.load()

        self.app.push_screen(SettingForm(setting), done)

    def _apply(self, key: str, value: str) -> None:
        """The running desk uses the new value from now on (the service checked it)."""
        app = self.app
        app.policy = dataclasses.replace(app.policy, **{key: policy_admin.parse_value(key, value)})


__all__ = ["SettingsScreen"]
