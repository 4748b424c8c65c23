"""Agents and policy settings in the desk, by keyboard through Pilot (issue 12): an admin adds
an agent, changes roles, deactivates; the last admin stays; a non-admin only looks; an admin
changes a setting, a bad value is refused in German and changes nothing. The flows that write
run on SQLite and, with DESK_TEST_PG_URL, on PostgreSQL (the ``engine`` fixture; there the
new agent is also a login role). One SVG snapshot per screen.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from textual.widgets import DataTable, Input, SelectionList, Static

from deskapp.services import agent_admin, policy_admin
from deskapp.services.errors import InvalidInput
from models.engine import read_session
from models.tables import AuditLog
from screens.agents_admin import AgentsScreen
from screens.app import DeskApp
from screens.dialogs.agent import AgentForm, RolesForm
from screens.dialogs.choice import ChoiceDialog
from screens.dialogs.setting import SettingForm
from screens.help import HelpScreen
from screens.settings import SettingsScreen
from tests.support.deskdata import NOW, build_small_desk
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import cells, make_app, notes, settle, shown, shown_words

SIZE = (120, 40)


def _agent(engine, login: str) -> agent_admin.AgentView:
    with read_session(engine) as s:
        return agent_admin.get_agent(s, login)


def _audit(engine, action: str) -> list[tuple[str, str, str, str]]:
    """(who, what about, old, new) of every audit entry of ``action``."""
    with read_session(engine) as s:
        return [
            (e.agent_login, e.entity_id, e.old, e.new)
            for e in s.execute(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).scalars()
        ]


def _setting(engine, key: str) -> policy_admin.SettingView:
    with read_session(engine) as s:
        return policy_admin.get_setting(s, key)


def _palette(app) -> list[str]:
    return [c.title for c in app.get_system_commands(app.screen)]


async def _open(pilot, key: str, screen_type):
    await settle(pilot)
    await pilot.press(key)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, screen_type), screen
    return screen


async def _cursor_to(pilot, screen, key: str) -> None:
    table = screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(key), animate=False)
    await pilot.pause()


# --------------------------------------------------------------------------- agents


async def test_admin_adds_an_agent_changes_roles_and_deactivates(engine, unique_login):
    people = build_small_desk(engine, NOW)["people"]
    login = unique_login("jana")
    app = make_app(engine, people["isabel"])  # the one admin
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "ctrl+g", AgentsScreen)
        assert [r[0] for r in cells(screen.query_one(DataTable))] == \
            ["isabel", "kai", "lena", "rebekka", "sara", "tom"]
        assert "nur lesen" not in shown(screen, "#agents-title")
        assert {"Anlegen", "Rollen", "Deaktivieren"} <= set(_palette(app))

        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, AgentForm)
        await pilot.press("ctrl+s")  # nothing typed
        await settle(pilot)
        assert app.screen is form and "Login darf nicht leer" in shown_words(form, "#login-error")
        await pilot.press(*"jana koch", "ctrl+s")
        await settle(pilot)
        assert "enthält Leerzeichen" in shown_words(form, "#login-error")
        await pilot.press("ctrl+a", "ctrl+k", *login, "tab", *"Jana Koch", "tab", "tab")
        roles = form.query_one("#roles", SelectionList)
        assert roles.has_focus and roles.selected == ["support"]
        await pilot.press("down", "space")  # + Vertragsbearbeitung
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen, app.screen
        assert f"Agent {login} (Jana Koch) angelegt: Support, Vertragsbearbeitung." in notes(app)
        table = screen.query_one(DataTable)
        assert cells(table)[table.cursor_row] == [login, "Jana Koch", "Support, Vertragsbearbeitung", "aktiv"]
        assert _agent(engine, login).roles == ("support", "contract")
        assert [a[:2] for a in _audit(engine, "agent.add")] == [("isabel", login)]
        if engine.dialect.name == "postgresql":  # the agent is a login role of the desk's group
            with engine.connect() as conn:
                assert conn.execute(text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"),
                                    {"r": login}).scalar() is True

        await pilot.press("r")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, RolesForm)
        roles = form.query_one("#roles", SelectionList)
        roles.deselect_all()
        await pilot.press("ctrl+s")  # no role at all
        await settle(pilot)
        assert "mindestens eine Rolle" in shown_words(form, "#roles-error")
        roles.select("technician")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert f"Rollen von {login}: Technik." in notes(app)
        assert _agent(engine, login).roles == ("technician",)
        assert len(_audit(engine, "agent.roles")) == 1

        assert "Aktivieren" not in _palette(app)  # the highlighted agent is active
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert any(m.startswith(f"{login} ist deaktiviert") for m in notes(app)), notes(app)
        assert cells(table)[table.cursor_row][3] == "deaktiviert"
        assert not _agent(engine, login).active
        assert "Aktivieren" in _palette(app) and "Deaktivieren" not in _palette(app)

        await pilot.press("a")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert f"{login} ist wieder aktiv." in notes(app)
        assert _agent(engine, login).active
        assert len(_audit(engine, "agent.deactivate")) == len(_audit(engine, "agent.activate")) == 1


async def test_the_last_admin_is_neither_deactivated_nor_stripped_of_admin(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["isabel"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "ctrl+g", AgentsScreen)
        await _cursor_to(pilot, screen, "isabel")
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert "isabel ist der letzte aktive Admin und kann nicht deaktiviert werden." in notes(app)
        assert cells(screen.query_one(DataTable))[0][3] == "aktiv"

        await pilot.press("r")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, RolesForm)
        form.query_one("#roles", SelectionList).deselect("admin")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form  # refused: the form stays, nothing written
        assert "isabel ist der letzte aktive Admin und behält die Rolle Admin." in shown_words(form, "#form-error")
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
    isabel = _agent(engine, "isabel")
    assert isabel.active and isabel.roles == ("approver", "admin")
    assert not _audit(engine, "agent.deactivate") and not _audit(engine, "agent.roles")


async def test_an_existing_login_is_refused_under_the_login_field(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["isabel"])
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "ctrl+g", AgentsScreen)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        await pilot.press(*"Tom", "tab", *"Tom Zwei", "ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "Den Agenten 'Tom' gibt es schon." in shown_words(form, "#login-error")
    assert not _audit(engine, "agent.add")


async def test_a_non_admin_sees_the_agents_read_only(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "ctrl+g", AgentsScreen)
        assert "nur lesen: Agenten verwalten nur Admins" in shown_words(screen, "#agents-title")
        assert screen.query_one(DataTable).row_count == 6
        for action in ("add", "roles", "deactivate", "activate"):
            assert screen.check_action(action, ()) is None  # shown, greyed
        assert not {"Anlegen", "Rollen", "Deaktivieren", "Aktivieren"} & set(_palette(app))
        await pilot.press("n", "r", "d")
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, AgentsScreen)

        assert {"Agenten", "Einstellungen"} <= set(_palette(app))
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        help_text = str(app.screen.query_one(Static).render())
        assert "Strg+G         Agenten" in help_text and "Strg+E         Einstellungen" in help_text
    assert not _audit(engine, "agent.add")


# --------------------------------------------------------------------------- settings


async def test_admin_changes_a_setting_and_a_bad_value_changes_nothing(engine):
    people = build_small_desk(engine, NOW)["people"]
    app = make_app(engine, people["isabel"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "ctrl+e", SettingsScreen)
        table = screen.query_one(DataTable)
        assert [r[0] for r in cells(table)] == list(policy_admin.keys())
        await _cursor_to(pilot, screen, "package_validity_months")
        assert "Gültigkeit eines Stundenpakets (Monate)" in shown_words(screen, "#settings-explain")

        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, SettingForm)
        assert form.query_one("#value", Input).value == "24"
        for bad, message in (
            ("0", "package_validity_months muss mindestens 1 sein ('0')."),
            ("-3", "package_validity_months darf nicht negativ sein ('-3')."),
            ("zwei", "'zwei' ist keine ganze Zahl; package_validity_months braucht eine ganze Zahl."),
        ):
            await pilot.press("ctrl+a", "ctrl+k", *bad, "enter")
            await settle(pilot)
            assert app.screen is form
            assert shown_words(form, "#value-error") == message
        await pilot.press("ctrl+a", "ctrl+k", *"36", "ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert "package_validity_months: 24 → 36" in notes(app)
        row = cells(table)[table.cursor_row]
        assert row[:4] == ["package_validity_months", "36", "*", "24"]
        assert app.policy.package_validity_months == 36  # the running desk uses it at once
        assert _setting(engine, "package_validity_months").value == "36"
        assert _audit(engine, "policy.set") == [("isabel", "package_validity_months", "24", "36")]

        # A value that disagrees with another setting: the service refuses, under the field.
        await _cursor_to(pilot, screen, "working_day_start_hour")
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        await pilot.press("ctrl+a", "ctrl+k", *"20", "ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "Der Arbeitstag muss vor seinem Ende beginnen" in shown_words(form, "#value-error")
        await pilot.press("escape")
        await settle(pilot)
    assert not _setting(engine, "working_day_start_hour").overridden
    assert len(_audit(engine, "policy.set")) == 1


def test_a_bad_amount_is_refused_in_proper_german():
    with pytest.raises(InvalidInput) as info:
        policy_admin.parse_value("default_credit_limit", "viel")
    assert info.value.message == "'viel' ist kein Betrag; default_credit_limit braucht einen Betrag."


async def test_everyone_sees_the_settings_only_admins_change_them(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "ctrl+e", SettingsScreen)
        assert screen.query_one(DataTable).row_count == len(policy_admin.keys())
        assert "nur lesen: ändern dürfen Admins" in shown_words(screen, "#settings-title")
        assert screen.check_action("edit", ()) is None
        assert "Ändern" not in _palette(app)
        await pilot.press("enter", "e")
        await settle(pilot)
        assert app.screen is screen
    assert not _audit(engine, "policy.set")


# --------------------------------------------------------------------------- snapshots


def _snap_app(tmp_path, login: str) -> DeskApp:
    engine = migrated_sqlite_engine(tmp_path / "snap.sqlite3")
    data = build_small_desk(engine, NOW)
    return make_app(engine, data["people"][login])


def test_agents_screen_snapshot(snap_compare, tmp_path):
    async def open_agents(pilot):
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)

    assert snap_compare(_snap_app(tmp_path, "isabel"), terminal_size=SIZE, run_before=open_agents)


def test_settings_screen_snapshot(snap_compare, tmp_path):
    async def open_settings(pilot):
        await settle(pilot)
        await pilot.press("ctrl+e")
        await settle(pilot)

    assert snap_compare(_snap_app(tmp_path, "tom"), terminal_size=SIZE, run_before=open_settings)
