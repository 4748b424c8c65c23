"""Managing agents (docs/rules.md#roles, #setup-agents), SQLite and PostgreSQL.

Never deleted, the last active admin protected, a deactivated agent can neither start the
desk nor be assigned, non-admins refused in the service, every change audited, bad input
refused in German with nothing written. On PostgreSQL: each agent a login role in the
desk's group role, the audit log insert-only for it, the role deciding who is at the keyboard.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from deskapp.services import agent_admin, agents, tickets
from deskapp.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied, UnknownAgent
from models.engine import make_engine, read_session, write_session
from models.tables import Agent, AuditLog

from tests.support.deskdata import NOW


def _count(engine, table, *where) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _snapshot(engine):
    with read_session(engine) as s:
        return (
            s.execute(select(Agent.login, Agent.display_name, Agent.roles, Agent.active).order_by(Agent.id)).all(),
            _count(engine, AuditLog),
        )


def _audit(engine, action: str) -> list[tuple[str, str, str, str]]:
    with read_session(engine) as s:
        rows = s.execute(
            select(AuditLog.agent_login, AuditLog.entity_id, AuditLog.old, AuditLog.new)
            .where(AuditLog.action == action).order_by(AuditLog.id)
        ).all()
    return [tuple(r) for r in rows]


@pytest.fixture
def root(engine, unique_login):
    """A desk set up by ``initialise``: one admin (plus the system agent)."""
    with write_session(engine) as s:
        result = agent_admin.initialise(s, login=unique_login("root"), display_name="Rita Root", now=NOW)
        return agents.by_login(s, result.admin.login)


def _add(engine, actor, login, roles="support", name="Lena Koch"):
    with write_session(engine) as s:
        return agent_admin.add_agent(s, actor, login=login, display_name=name, roles=[roles], now=NOW)


# --------------------------------------------------------------------------- first start


def test_initialise_makes_the_first_admin_once(engine, unique_login):
    login = unique_login("root")
    with write_session(engine) as s:
        first = agent_admin.initialise(s, login=login, display_name="Rita Root", now=NOW)
    assert first.admin.login == login and first.admin.roles == ("admin",) and first.admin.active
    with read_session(engine) as s:
        assert agents.system_agent(s).login == "system"
    assert _audit(engine, "agent.init")[0][:2] == (login, login)
    before = _snapshot(engine)
    with write_session(engine) as s:
        again = agent_admin.initialise(s, login=unique_login("other"), display_name="Otto", now=NOW)
    assert again.admin is None and again.agent_count == 1
    assert _snapshot(engine) == before


# --------------------------------------------------------------------------- add, list


def test_an_admin_adds_an_agent_listed_with_roles_and_audited(engine, root, unique_login):
    lena = unique_login("lena")
    view = _add(engine, root, lena, roles="support, Vertragsbearbeitung")
    assert (view.login, view.display_name, view.roles, view.active) == (lena, "Lena Koch", ("support", "contract"), True)
    with read_session(engine) as s:
        listed = agent_admin.list_agents(s)
    assert [a.login for a in listed] == sorted([root.login, lena])
    assert "system" not in [a.login for a in listed]
    (who, entity, old, new), = _audit(engine, "agent.add")
    assert (who, entity, old) == (root.login, lena, "") and '"contract"' in new


def test_a_non_admin_is_refused_in_the_service(engine, root, unique_login):
    lena = unique_login("lena")
    _add(engine, root, lena)
    with read_session(engine) as s:
        lena_ref = agents.by_login(s, lena)
    before = _snapshot(engine)
    for change in (
        lambda s: agent_admin.add_agent(s, lena_ref, login=unique_login("tom"), display_name="Tom",
                                        roles=["support"], now=NOW),
        lambda s: agent_admin.set_roles(s, lena_ref, login=lena, roles=["admin"], now=NOW),
        lambda s: agent_admin.deactivate(s, lena_ref, login=root.login, now=NOW),
        lambda s: agent_admin.activate(s, lena_ref, login=root.login, now=NOW),
    ):
        with pytest.raises(PermissionDenied, match="Nur Admins verwalten Agenten"):
            with write_session(engine) as s:
                change(s)
    assert _snapshot(engine) == before


@pytest.mark.parametrize(
    ("login", "roles", "message"),
    [
        ("le na", "support", "enthält Leerzeichen"),
        ("x" * 300, "support", "300 Zeichen lang; höchstens 63"),
        ("", "support", "Der Login darf nicht leer sein."),
        ("lena;drop", "support", "ist ungültig"),
        ("jürgen", "support", "ist ungültig"),
        ("system", "support", "ist reserviert"),
        ("pg_monitor", "support", "ist reserviert"),
        ("bob", "chef", "Unbekannte Rolle 'chef'. Mögliche Rollen: support, contract"),
        ("bob", "system", "Unbekannte Rolle 'system'"),
        ("bob", " , ", "braucht mindestens eine Rolle"),
    ],
)
def test_bad_input_is_refused_in_german_and_nothing_written(engine, root, login, roles, message):
    before = _snapshot(engine)
    with pytest.raises(InvalidInput, match=message):
        _add(engine, root, login, roles=roles)
    assert _snapshot(engine) == before


def test_a_login_is_unique(engine, root, unique_login):
    lena = unique_login("lena")
    _add(engine, root, lena)
    before = _snapshot(engine)
    with pytest.raises(Conflict, match="gibt es schon"):
        _add(engine, root, lena.upper())
    assert _snapshot(engine) == before


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_hostile_login_strings_are_either_a_clean_login_or_a_german_refusal(raw):
    try:
        login = agent_admin.validate_login(raw)
    except InvalidInput as exc:
        assert exc.message.startswith(("Der Login", "Der Login '"))
        assert "\n" not in exc.message and "\x00" not in exc.message
        return
    assert login == raw.strip() and 0 < len(login) <= 63
    assert agent_admin.LOGIN_SHAPE.fullmatch(login) and login.isascii()
    assert not any(ch.isspace() or ord(ch) < 32 or ch in "\"';\\" for ch in login)


# --------------------------------------------------------------------------- roles and the last admin


def test_roles_are_replaced_and_audited_old_to_new(engine, root, unique_login):
    lena = unique_login("lena")
    _add(engine, root, lena)
    with write_session(engine) as s:
        change = agent_admin.set_roles(s, root, login=lena, roles=["support", "technician"], now=NOW)
    assert change.changed and change.agent.roles == ("support", "technician")
    with write_session(engine) as s:
        same = agent_admin.set_roles(s, root, login=lena, roles=["technician,support"], now=NOW)
    assert not same.changed
    assert _audit(engine, "agent.roles") == [(root.login, lena, '["support"]', '["support", "technician"]')]


def test_the_last_active_admin_can_neither_lose_admin_nor_be_deactivated(engine, root, unique_login):
    before = _snapshot(engine)
    with pytest.raises(Conflict, match="letzte aktive Admin und behält die Rolle Admin"):
        with write_session(engine) as s:
            agent_admin.set_roles(s, root, login=root.login, roles=["support"], now=NOW)
    with pytest.raises(Conflict, match="letzte aktive Admin und kann nicht deaktiviert werden"):
        with write_session(engine) as s:
            agent_admin.deactivate(s, root, login=root.login, now=NOW)
    assert _snapshot(engine) == before
    # With a second admin the first may step down; then the second is the last one.
    anna = unique_login("anna")
    _add(engine, root, anna, roles="admin support", name="Anna Admin")
    with write_session(engine) as s:
        agent_admin.set_roles(s, root, login=root.login, roles=["support"], now=NOW)
        anna_ref = agents.by_login(s, anna)
    with pytest.raises(Conflict, match=f"{anna} ist der letzte aktive Admin"):
        with write_session(engine) as s:
            agent_admin.deactivate(s, anna_ref, login=anna, now=NOW)
    # A deactivated admin does not count as the other admin.
    with write_session(engine) as s:
        agent_admin.set_roles(s, anna_ref, login=root.login, roles=["admin"], now=NOW)
        agent_admin.deactivate(s, anna_ref, login=root.login, now=NOW)
    with pytest.raises(Conflict, match="letzte aktive Admin"):
        with write_session(engine) as s:
            agent_admin.set_roles(s, anna_ref, login=anna, roles=["support"], now=NOW)


# --------------------------------------------------------------------------- deactivate


def test_a_deactivated_agent_stays_but_can_neither_start_the_desk_nor_be_assigned(engine, root, unique_login):
    lena = unique_login("lena")
    _add(engine, root, lena)
    with write_session(engine) as s:
        ticket = tickets.open_ticket(s, root, queue="support", subject="Postfach voll", now=NOW)
        change = agent_admin.deactivate(s, root, login=lena, now=NOW)
    assert change.changed and not change.agent.active
    assert _count(engine, Agent, Agent.login == lena) == 1  # never deleted
    with read_session(engine) as s:
        assert [a.active for a in agent_admin.list_agents(s) if a.login == lena] == [False]
        assert lena not in [a.login for a in agent_admin.list_agents(s, include_inactive=False)]
        with pytest.raises(UnknownAgent, match=f"'{lena}' ist deaktiviert"):
            agents.resolve_desk_agent(s, os_login=lena, requested=None)
    with pytest.raises(InvalidInput, match=f"{lena} ist deaktiviert und kann keine Tickets bekommen"):
        with write_session(engine) as s:
            tickets.assign(s, root, ticket, assignee_login=lena, now=NOW)
    with write_session(engine) as s:
        assert not agent_admin.deactivate(s, root, login=lena, now=NOW).changed  # twice: no second entry
        assert agent_admin.activate(s, root, login=lena, now=NOW).changed
    with read_session(engine) as s:
        assert agents.resolve_desk_agent(s, os_login=lena, requested=None)[0].login == lena
    assert [r[:2] for r in _audit(engine, "agent.deactivate")] == [(root.login, lena)]
    assert [r[:2] for r in _audit(engine, "agent.activate")] == [(root.login, lena)]


def test_a_deactivated_admin_cannot_act_on_an_old_reference(engine, root, unique_login):
    anna = unique_login("anna")
    _add(engine, root, anna, roles="admin", name="Anna Admin")
    with read_session(engine) as s:
        anna_ref = agents.by_login(s, anna)
    with write_session(engine) as s:
        agent_admin.deactivate(s, root, login=anna, now=NOW)
    with pytest.raises(PermissionDenied):
        with write_session(engine) as s:
            agent_admin.set_roles(s, anna_ref, login=root.login, roles=["support"], now=NOW)


def test_unknown_and_system_agents_are_not_managed(engine, root):
    with pytest.raises(NotFound, match="Den Agenten 'niemand' gibt es nicht."):
        with write_session(engine) as s:
            agent_admin.deactivate(s, root, login="niemand", now=NOW)
    with pytest.raises(InvalidInput, match="System-Agent ist eingebaut"):
        with write_session(engine) as s:
            agent_admin.set_roles(s, root, login="system", roles=["admin"], now=NOW)


# --------------------------------------------------------------------------- the audit log itself


def test_the_audit_log_refuses_update_and_delete_in_the_database(engine, root):
    assert _count(engine, AuditLog) == 1
    for statement in ("UPDATE audit_log SET agent_login = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            with write_session(engine) as s:
                s.execute(text(statement))
    with read_session(engine) as s:
        assert s.execute(select(AuditLog.agent_login)).scalars().all() == [root.login]


# --------------------------------------------------------------------------- PostgreSQL: login roles


@pytest.fixture
def pg_engine(engine, db_url):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL login roles")
    return engine


def _as_role(db_url: str, role: str):
    return make_engine(make_url(db_url).set(username=role).render_as_string(hide_password=False))


def test_pg_an_agent_is_a_login_role_in_the_desk_group(pg_engine, db_url, root, unique_login):
    lena = unique_login("lena")
    _add(pg_engine, root, lena)
    with read_session(pg_engine) as s:
        group = s.execute(text("SELECT value FROM desk_meta WHERE key = 'pg_agent_group'")).scalar_one()
        can_login, password = s.execute(
            text("SELECT rolcanlogin, rolpassword IS NULL FROM pg_authid WHERE rolname = :n"), {"n": lena}
        ).one()
        member = s.execute(text("SELECT pg_has_role(:r, :g, 'MEMBER')"), {"r": lena, "g": group}).scalar_one()
        audit_rights = {
            p: s.execute(text("SELECT has_table_privilege(:g, 'audit_log', :p)"), {"g": group, "p": p}).scalar_one()
            for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
        }
    assert can_login and password and member
    assert audit_rights == {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False, "TRUNCATE": False}
    with write_session(pg_engine) as s:
        agent_admin.deactivate(s, root, login=lena, now=NOW)
        assert not s.execute(text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :n"), {"n": lena}).scalar_one()
        agent_admin.activate(s, root, login=lena, now=NOW)
        assert s.execute(text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :n"), {"n": lena}).scalar_one()


def test_pg_the_role_decides_who_is_at_the_keyboard_and_cannot_rewrite_the_audit_log(
    pg_engine, db_url, root, unique_login, monkeypatch
):
    from screens.cli import _keyboard_login

    lena = unique_login("lena")
    _add(pg_engine, root, lena)
    # Neither the OS login nor USER/LOGNAME count on PostgreSQL.
    monkeypatch.setattr("screens.cli._os_login", lambda: root.login)
    monkeypatch.setenv("USER", root.login)
    monkeypatch.setenv("LOGNAME", root.login)
    as_lena = _as_role(db_url, lena)
    try:
        with read_session(as_lena) as s:
            assert _keyboard_login(s) == lena
            agent, notice = agents.resolve_desk_agent(s, os_login=_keyboard_login(s), requested=None)
            assert (agent.login, notice) == (lena, "")
            with pytest.raises(PermissionDenied, match="gilt nur auf einer Demo-Datenbank"):
                agents.resolve_desk_agent(s, os_login=_keyboard_login(s), requested=root.login)
            s.execute(text("SET ROLE NONE"))  # SET ROLE changes current_user, never session_user
            assert _keyboard_login(s) == lena
        # The desk works as lena: she may open a ticket (writes a row and an audit entry) ...
        with write_session(as_lena) as s:
            tickets.open_ticket(s, agent, queue="support", subject="Als Rolle angelegt", now=NOW)
        # ... but not change or delete what the audit log says.
        for statement in ("UPDATE audit_log SET agent_login = 'mallory'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log"):
            with pytest.raises(DBAPIError, match="permission denied"):
                with write_session(as_lena) as s:
                    s.execute(text(statement))
        # Nor manage agents: the service refuses her, and so would the server.
        with pytest.raises(PermissionDenied):
            with write_session(as_lena) as s:
                agent_admin.add_agent(s, agent, login=unique_login("eve"), display_name="Eve",
                                      roles=["admin"], now=NOW)
    finally:
        as_lena.dispose()
    assert _audit(pg_engine, "ticket.open")[0][0] == lena


def test_pg_a_connection_that_is_no_agent_is_refused(pg_engine, db_url, root, unique_login):
    from screens.cli import _keyboard_login

    with read_session(pg_engine) as s:
        who = _keyboard_login(s)  # the test's own superuser role, not an agent of this desk
        with pytest.raises(UnknownAgent, match=f"Unbekannter Agent '{who}'"):
            agents.resolve_desk_agent(s, os_login=who, requested=None)


def test_pg_a_role_without_createrole_gets_a_german_refusal(pg_engine, db_url, root, unique_login):
    anna = unique_login("anna")
    _add(pg_engine, root, anna, roles="admin", name="Anna Admin")
    as_anna = _as_role(db_url, anna)
    try:
        with read_session(as_anna) as s:
            anna_ref = agents.by_login(s, anna)
        with pytest.raises(PermissionDenied, match=f"Die Datenbankrolle '{anna}' darf die Rolle .* nicht"):
            with write_session(as_anna) as s:
                agent_admin.add_agent(s, anna_ref, login=unique_login("tom"), display_name="Tom",
                                      roles=["support"], now=NOW)
    finally:
        as_anna.dispose()
    assert _count(pg_engine, Agent, Agent.login.like("tom%")) == 0
