"""Agents (docs/rules.md#roles, #setup-agents): who works at the desk.

Everyone may look; admins add agents, change their roles, deactivate and reactivate them
(agents are never deleted). The rules — admins only, the last active admin stays, one
audit entry per change, on PostgreSQL the agent's login role — are the service's
(``deskapp.services.agent_admin``); this screen greys out what the agent at the keyboard
may not do and shows the service's German refusal when it says no.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from deskapp.services import agent_admin, agents

from .dialogs.agent import AgentForm, RolesForm
from .dialogs.choice import ChoiceDialog
from .messages import AgentChanged, AgentsLoaded, WorkerFailed
from .workers import WorkerNotices

ACTIVE_LABEL = {True: "aktiv", False: "deaktiviert"}
WRITES = frozenset({"add", "roles", "deactivate", "activate"})
READ_ONLY = "nur lesen: Agenten verwalten nur Admins"
ADDED = "Agent {login} ({name}) angelegt: {roles}."
ROLES_SET = "Rollen von {login}: {roles}."
ROLES_SAME = "Rollen von {login} unverändert: {roles}."
DEACTIVATED = "{login} ist deaktiviert: kann den Desk nicht mehr starten und bekommt keine Tickets."
ACTIVATED = "{login} ist wieder aktiv."
UNCHANGED = "{login}: nichts geändert."
ASK_DEACTIVATE = ("{name} ({login}) deaktivieren? Der Agent kann den Desk nicht mehr starten "
                  "und bekommt keine Tickets; er wird nicht gelöscht.")
ASK_ACTIVATE = "{name} ({login}) wieder aktivieren?"


class AgentsScreen(WorkerNotices, Screen[None]):
    HELP_TITLE = "Agenten"
    WRITE_GROUPS = frozenset({"agents-write"})
    BINDINGS = [
        Binding("escape", "back", "Zurück", id="agents.back"),
        Binding("n", "add", "Anlegen", id="agents.add"),
        Binding("r", "roles", "Rollen", id="agents.roles"),
        Binding("d", "deactivate", "Deaktivieren", id="agents.deactivate"),
        Binding("a", "activate", "Aktivieren", id="agents.activate"),
    ]
    DEFAULT_CSS = """
    AgentsScreen #agents-title { padding: 0 1; text-style: bold; height: auto; }
    AgentsScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[agent_admin.AgentView] = []
        self.can_manage = False
        self._show_login: str | None = None  # after a change: put the cursor on this agent

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Agenten", id="agents-title")
        yield DataTable(id="agents", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Agenten"
        table = self.query_one(DataTable)
        for label, key, width in (("Login", "login", 20), ("Name", "name", 26), ("Rollen", "roles", 44),
                                  ("Status", "status", 11)):
            table.add_column(label, key=key, width=width)
        table.focus()
        self.load()

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="agents", exit_on_error=False)
    def load(self) -> None:
        app = self.app
        login = app.agent.login

        def read(session):
            rows = agent_admin.list_agents(session)
            return rows, agents.is_active_admin(session, login)

        rows, can_manage = app.read(read)
        self.post_message(AgentsLoaded(rows, can_manage))

    @on(AgentsLoaded)
    def _show(self, event: AgentsLoaded) -> None:
        self.rows = list(event.rows)
        self.can_manage = event.can_manage
        table = self.query_one(DataTable)
        keep = table.cursor_row
        if self._show_login is not None:
            keep = next((i for i, a in enumerate(self.rows) if a.login == self._show_login), keep)
            self._show_login = None
        table.clear()
        for a in self.rows:
            style = "" if a.active else "dim"
            table.add_row(
                Text(a.login, style=style), Text(a.display_name, style=style), Text(a.role_labels, style=style),
                Text(ACTIVE_LABEL[a.active], style=style), key=a.login,
            )
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1), animate=False)
        active = sum(1 for a in self.rows if a.active)
        title = f"Agenten ({active} aktiv, {len(self.rows) - active} deaktiviert)"
        if not self.can_manage:
            title += f" — {READ_ONLY}"
        self.query_one("#agents-title", Static).update(title)
        self.refresh_bindings()

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self.refresh_bindings()  # d / a follow the highlighted agent's status

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action not in WRITES:
            return True
        if not self.can_manage:
            return None  # shown, greyed: only admins
        if action == "add":
            return True
        agent = self._selected()
        if agent is None:
            return None
        if action == "deactivate":
            return True if agent.active else None
        if action == "activate":
            return True if not agent.active else None
        return True

    def _selected(self) -> agent_admin.AgentView | None:
        if not self.rows:
            return None
        table = self.query_one(DataTable)
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def action_back(self) -> None:
        self.dismiss(None)

    def action_add(self) -> None:
        def added(view: agent_admin.AgentView | None) -> None:
            if view is not None:
                self._changed(ADDED.format(login=view.login, name=view.display_name, roles=view.role_labels),
                              view.login)

        self.app.push_screen(AgentForm(), added)

    def action_roles(self) -> None:
        agent = self._selected()
        if agent is None:
            return

        def done(change: agent_admin.AgentChange | None) -> None:
            if change is not None:
                template = ROLES_SET if change.changed else ROLES_SAME
                self._changed(template.format(login=change.agent.login, roles=change.agent.role_labels),
                              change.agent.login)

        self.app.push_screen(RolesForm(agent), done)

    def action_deactivate(self) -> None:
        self._confirm(ASK_DEACTIVATE, "deactivate", "Ja, deaktivieren")

    def action_activate(self) -> None:
        self._confirm(ASK_ACTIVATE, "activate", "Ja, aktivieren")

    def _confirm(self, question: str, what: str, yes: str) -> None:
        agent = self._selected()
        if agent is None:
            return

        def confirmed(value: str | None) -> None:
            if value == "yes":
                self._set_active(agent.login, what)

        self.app.push_screen(
            ChoiceDialog(question.format(name=agent.display_name, login=agent.login),
                         [("yes", yes), ("no", "Nein")]),
            confirmed,
        )

    @work(thread=True, group="agents-write", exit_on_error=False)
    def _set_active(self, login: str, what: str) -> None:
        """Deactivate or activate; a refusal (the last admin, not an admin) becomes the notice."""
        app = self.app
        agent, now = app.agent, app.now()
        change_of = agent_admin.deactivate if what == "deactivate" else agent_admin.activate
        change = app.write(lambda s: change_of(s, agent, login=login, now=now))
        if not change.changed:
            text = UNCHANGED.format(login=login)
        else:
            text = (DEACTIVATED if what == "deactivate" else ACTIVATED).format(login=login)
        self.post_message(AgentChanged(text, login))

    def _changed(self, text: str, login: str) -> None:
        self.post_message(AgentChanged(text, login))

    @on(AgentChanged)
    def _after_change(self, event: AgentChanged) -> None:
        self.notify(event.text, timeout=5)
        self._show_login = event.login
        self.load()

    @on(WorkerFailed)
    def _refused(self, event: WorkerFailed) -> None:
        if event.refused:
            self.load()  # show the list as it is now (the notice said why not)


__all__ = ["AgentsScreen"]
