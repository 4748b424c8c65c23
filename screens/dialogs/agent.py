"""Agents (admin): a new agent — login, display name, e-mail, roles — and an agent's roles.

The fields are checked with the service's own validators before anything is sent, so a
bad login shows under the login field; the service checks again in its transaction (and
refuses a login that exists, or taking the last admin's admin role).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, SelectionList, Static

from deskapp import texts
from deskapp.services import agent_admin
from deskapp.services.errors import Conflict, DeskError, InvalidInput
from models.enums import Role

from ..forms import FieldError, FormDialog

HINT = "Tab weiter · Leertaste Rolle an/aus · Strg+S speichern · Esc abbrechen"


def _role_list(checked: tuple[str, ...]) -> SelectionList[str]:
    """Every role an admin may give, as checkboxes; ``checked`` ticked."""
    return SelectionList[str](
        *((texts.ROLE[Role(code)], code, code in checked) for code in agent_admin.ASSIGNABLE_ROLES),
        id="roles",
    )


def _checked_roles(dialog: FormDialog) -> tuple[str, ...]:
    selected = dialog.query_one("#roles", SelectionList).selected
    try:
        return agent_admin.parse_roles(selected)
    except InvalidInput as exc:
        raise FieldError("roles", exc.message) from None


class AgentForm(FormDialog):
    """A new agent (on PostgreSQL also its login role; the service does that)."""

    AUTO_FOCUS = "#login"
    ENTER_ORDER = ("login", "name", "email")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Agent anlegen", classes="title")
            yield from self.field_row(
                "Login", "login",
                Input(placeholder="z. B. lena (wie die Anmeldung)", max_length=agent_admin.MAX_LOGIN + 1,
                      id="login"),
            )
            yield from self.field_row(
                "Name", "name",
                Input(placeholder="z. B. Lena Koch", max_length=agent_admin.MAX_DISPLAY_NAME + 1, id="name"),
            )
            yield from self.field_row(
                "E-Mail", "email", Input(placeholder="optional", max_length=agent_admin.MAX_EMAIL + 1, id="email")
            )
            yield from self.field_row("Rollen", "roles", _role_list((Role.SUPPORT.value,)))
            yield Static("", id="form-error")
            yield Static(HINT, classes="hint")

    def refused_field(self, error: DeskError) -> str | None:
        if isinstance(error, Conflict):  # that login exists already
            return "login"
        return super().refused_field(error)

    def prepare(self):
        fields = (
            ("login", agent_admin.validate_login),
            ("name", agent_admin.validate_display_name),
            ("email", agent_admin.validate_email),
        )
        values = {}
        for field, check in fields:
            try:
                values[field] = check(self.query_one(f"#{field}", Input).value)
            except InvalidInput as exc:
                raise FieldError(field, exc.message) from None
        roles = _checked_roles(self)
        app = self.app
        agent, now = app.agent, app.now()

        def job(session):
            return agent_admin.add_agent(
                session, agent, login=values["login"], display_name=values["name"], roles=roles,
                email=values["email"], now=now,
            )

        return job


class RolesForm(FormDialog):
    """An agent's roles, all at once (they replace the old ones)."""

    AUTO_FOCUS = "#roles"

    def __init__(self, agent: agent_admin.AgentView) -> None:
        super().__init__()
        self.agent = agent

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Rollen von {self.agent.display_name} ({self.agent.login})", classes="title")
            yield from self.field_row("Rollen", "roles", _role_list(self.agent.roles))
            yield Static("", id="form-error")
            yield Static(HINT, classes="hint")

    def prepare(self):
        roles = _checked_roles(self)
        login = self.agent.login
        app = self.app
        agent, now = app.agent, app.now()

        def job(session):
            return agent_admin.set_roles(session, agent, login=login, roles=roles, now=now)

        return job


__all__ = ["AgentForm", "RolesForm"]
