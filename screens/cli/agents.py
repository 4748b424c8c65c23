"""Command-line sub-commands for setting up a desk and managing its agents (registered by screens.cli).

* ``deskapp init [--db URL] [--name NAME] [--json]`` — create or upgrade the schema, record
  the URL in the settings file, make the login at the keyboard the first admin (only
  while the database has no agent). Run again: says so and changes nothing.
* ``deskapp agents list|add|roles|deactivate|activate … [--json]`` — as the login at the
  keyboard, who must be an active admin for every change (the service checks).

Who is at the keyboard: on SQLite the OS login of the real user id, on PostgreSQL the
database role the connection authenticated as (``screens.cli._keyboard_login``).
Imports stay inside the handlers: the desk's start-up builds this parser too.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

# User-facing text (German).
MSG_NO_AGENTS = (
    "Diese Datenbank hat noch keine Agenten. Einrichten (macht Sie zum ersten Admin):\n"
    "  deskapp init --db {target}\n"
    "Nur ausprobieren: deskapp demo"
)
MSG_NO_DATABASE = "Die Datenbank {path} gibt es nicht. Einrichten mit: deskapp init --db {target}"
INIT_DONE = "Eingerichtet: {where} (Schema {head}). Erster Admin: {login} ({name})."
INIT_GROUP = "PostgreSQL: Agenten sind Login-Rollen der Gruppe {group} (Audit-Log nur anfügen)."
INIT_ALREADY = "Schon eingerichtet: {where} hat {count} Agenten. Nichts geändert."
INIT_SETTINGS = "Einstellungsdatei {path}: »deskapp« öffnet jetzt diese Datenbank ohne --db."
INIT_NEXT = 'Weiter: deskapp agents add LOGIN --name "Vorname Name" --roles support'
ASK_NAME = "Anzeigename für {login} [{default}]: "
ADDED = "Agent {login} ({name}) angelegt: {roles}."
ROLES_SET = "Rollen von {login}: {roles}."
ROLES_SAME = "Rollen von {login} unverändert: {roles}."
DEACTIVATED = "{login} ist deaktiviert: kann den Desk nicht mehr starten und bekommt keine Tickets."
ACTIVATED = "{login} ist wieder aktiv."
ALREADY_INACTIVE = "{login} ist bereits deaktiviert; nichts geändert."
ALREADY_ACTIVE = "{login} ist bereits aktiv; nichts geändert."
LIST_HEADER = ("Login", "Name", "Rollen", "Status")
ACTIVE_LABEL = {True: "aktiv", False: "deaktiviert"}


def register(sub) -> None:
    """Add this module's sub-commands to the top-level sub-parser action."""
    from screens.cli import EPILOG, _Parser

    init = sub.add_parser(
        "init",
        help="Datenbank für die Agentur einrichten; Sie werden der erste Admin",
        description=(
            "Legt das Schema an oder bringt es auf den neuesten Stand, trägt die Datenbank in die "
            "Einstellungsdatei ein (danach braucht »deskapp« kein --db) und macht die Anmeldung an "
            "dieser Tastatur zum ersten Admin (PostgreSQL: die verbundene Datenbankrolle) – nur "
            "solange die Datenbank keinen Agenten hat."
        ),
        epilog=EPILOG,
    )
    _db_arg(init)
    init.add_argument("--name", help="Anzeigename des ersten Admins (sonst wird gefragt)")
    init.add_argument("--json", action="store_true", help="Ergebnis als ein JSON-Objekt ausgeben")
    init.set_defaults(handler=_cmd_init)

    agents = sub.add_parser("agents", help="Agenten verwalten (Admins)", epilog=EPILOG)
    agents_sub = agents.add_subparsers(dest="agents_command", metavar="AKTION", parser_class=_Parser, required=True)

    listing = agents_sub.add_parser("list", help="Alle Agenten mit Rollen und Status", epilog=EPILOG)
    _common(listing)
    listing.set_defaults(handler=_cmd_list)

    add = agents_sub.add_parser(
        "add", help="Agenten anlegen (PostgreSQL: auch seine Login-Rolle)", epilog=EPILOG,
        description='Beispiel: deskapp agents add lena --name "Lena Koch" --roles support',
    )
    add.add_argument("login", help="Login (wie die Anmeldung am Rechner bzw. die Datenbankrolle)")
    add.add_argument("--name", required=True, help="Anzeigename, z. B. \"Lena Koch\"")
    add.add_argument("--roles", required=True, help=_roles_help())
    add.add_argument("--email", default="", help="E-Mail-Adresse des Agenten")
    _common(add)
    add.set_defaults(handler=_cmd_add)

    roles = agents_sub.add_parser("roles", help="Rollen eines Agenten festlegen (ersetzt die bisherigen)", epilog=EPILOG)
    roles.add_argument("login", help="Login des Agenten")
    roles.add_argument("roles", nargs="+", metavar="ROLLE", help=_roles_help())
    _common(roles)
    roles.set_defaults(handler=_cmd_roles)

    for name, help_text, handler in (
        ("deactivate", "Agenten deaktivieren (wird nie gelöscht)", _cmd_deactivate),
        ("activate", "Deaktivierten Agenten wieder aktivieren", _cmd_activate),
    ):
        action = agents_sub.add_parser(name, help=help_text, epilog=EPILOG)
        action.add_argument("login", help="Login des Agenten")
        _common(action)
        action.set_defaults(handler=handler)


def _roles_help() -> str:
    # models.enums, not services.agent_admin.ASSIGNABLE_ROLES (the same list): the desk's
    # start builds this parser, and agent_admin imports SQLAlchemy (~1 s before the first frame).
    from models.enums import Role

    return "Rollen, durch Komma getrennt: " + ", ".join(r.value for r in Role if r is not Role.SYSTEM)


def _db_arg(parser) -> None:
    parser.add_argument(
        "--db", default=argparse.SUPPRESS,
        help="SQLAlchemy-URL oder Dateipfad der Datenbank (Standard: aus der Einstellungsdatei)",
    )


def _common(parser) -> None:
    _db_arg(parser)
    parser.add_argument("--json", action="store_true", help="Ergebnis als ein JSON-Objekt ausgeben")


# --------------------------------------------------------------------------- shared helpers


def shown_target(url: str) -> str:
    """The database as the user types it after ``--db`` (a file path, or the URL without password)."""
    from sqlalchemy.engine import make_url

    from deskapp.database import sqlite_path

    path = sqlite_path(url)
    if path is not None:
        return shlex.quote(str(path))
    return shlex.quote(make_url(url).render_as_string(hide_password=True))


def require_agents(session, engine) -> None:
    """``UnknownAgent`` saying exactly what to run, on a database without agents."""
    from deskapp.services.agent_admin import has_agents
    from deskapp.services.errors import UnknownAgent

    if not has_agents(session):
        raise UnknownAgent(MSG_NO_AGENTS.format(target=shown_target(str(engine.url.render_as_string(False)))))


def grant_group_privileges(engine) -> str | None:
    """PostgreSQL: the agents' group role exists and holds the desk's privileges (None on SQLite)."""
    from models.engine import write_session

    from deskapp.services import db_roles

    if engine.dialect.name != "postgresql":
        return None
    with write_session(engine) as session:
        return db_roles.ensure_group(session)


def open_existing(args):
    """The engine of the command's database (``--db``, settings file, default); it must exist."""
    from models.engine import normalize_url

    from deskapp.database import DatabaseProblem, open_database, sqlite_path
    from deskapp.settings import desk_db_target

    target = normalize_url(desk_db_target(getattr(args, "db", None)))
    path = sqlite_path(target)
    if path is not None and not path.exists():
        raise DatabaseProblem(MSG_NO_DATABASE.format(path=path, target=shown_target(target)))
    return open_database(target)


def acting_agent(session, args, engine):
    """The agent at the keyboard (``--agent`` only on a demo database)."""
    import os

    from screens.cli import _keyboard_login
    from deskapp.services import agents

    require_agents(session, engine)
    requested = getattr(args, "agent", None) or os.environ.get("DESK_AGENT")
    agent, _notice = agents.resolve_desk_agent(session, os_login=_keyboard_login(session), requested=requested)
    return agent


def _now():
    from screens.cli import _now as now

    return now()


def _print_json(payload) -> None:
    print(json.dumps(payload, ensure_ascii=False))


# --------------------------------------------------------------------------- init


def _default_name(login: str, session) -> str:
    """The display name offered: the OS account's full name on SQLite, else the login."""
    from deskapp.services import db_roles

    if db_roles.is_postgres(session):
        return login
    import os
    import pwd

    try:
        gecos = pwd.getpwuid(os.getuid()).pw_gecos.split(",")[0].strip()
    except KeyError:
        gecos = ""
    return gecos or login


def _ask_name(login: str, default: str) -> str:
    if not sys.stdin.isatty():
        return default
    try:
        answer = input(ASK_NAME.format(login=login, default=default)).strip()
    except EOFError:
        return default
    return answer or default


def _cmd_init(args) -> int:
    from models import migrate
    from models.engine import normalize_url, read_session, write_session

    from screens.cli import _keyboard_login
    from deskapp.database import open_database
    from deskapp.services import agent_admin
    from deskapp.settings import desk_db_target, settings_file_path, write_db_url

    target = normalize_url(desk_db_target(getattr(args, "db", None)))
    name = agent_admin.validate_display_name(args.name) if args.name is not None else None
    engine = open_database(target, migrate_schema=False)
    try:
        migrated = migrate.upgrade(engine)
        with read_session(engine) as session:
            login = _keyboard_login(session)
            count = sum(1 for _ in agent_admin.list_agents(session))
            default = _default_name(login, session)
        group = None
        if count:
            if migrated:
                group = grant_group_privileges(engine)  # new tables need their grants
            result = agent_admin.InitResult(admin=None, agent_count=count)
        else:
            agent_admin.validate_login(login)  # refuse before asking anything
            name = name or _ask_name(login, default)
            with write_session(engine) as session:
                from deskapp.services import db_roles

                group = db_roles.ensure_group(session)
                result = agent_admin.initialise(session, login=login, display_name=name, now=_now())
    finally:
        engine.dispose()
    settings_changed = write_db_url(target)
    where = shown_target(target)
    if args.json:
        _print_json({
            "status": "initialised" if result.admin else "already",
            "database": make_public(target),
            "schema": migrate.head_revision(),
            "admin": result.admin.as_json() if result.admin else None,
            "agents": result.agent_count,
            "group_role": group,
            "settings_file": str(settings_file_path()),
            "settings_changed": settings_changed,
        })
        return 0
    if result.admin is None:
        print(INIT_ALREADY.format(where=where, count=result.agent_count))
    else:
        print(INIT_DONE.format(where=where, head=migrate.head_revision(), login=result.admin.login,
                               name=result.admin.display_name))
        if group:
            print(INIT_GROUP.format(group=group))
    if settings_changed:
        print(INIT_SETTINGS.format(path=settings_file_path()))
    if result.admin is not None:
        print(INIT_NEXT)
    return 0


def make_public(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --------------------------------------------------------------------------- agents


def _with_agent(args, work):
    """Run ``work(session, actor)`` in one write transaction as the agent at the keyboard."""
    from models.engine import write_session

    engine = open_existing(args)
    try:
        with write_session(engine) as session:
            actor = acting_agent(session, args, engine)
            return work(session, actor)
    finally:
        engine.dispose()


def _cmd_list(args) -> int:
    from models.engine import read_session

    from deskapp.services import agent_admin

    engine = open_existing(args)
    try:
        with read_session(engine) as session:
            acting_agent(session, args, engine)
            rows = agent_admin.list_agents(session)
    finally:
        engine.dispose()
    if args.json:
        _print_json({"agents": [a.as_json() for a in rows]})
        return 0
    table = [LIST_HEADER] + [(a.login, a.display_name, a.role_labels, ACTIVE_LABEL[a.active]) for a in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(LIST_HEADER) - 1)]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    return 0


def _report(args, change, text: str) -> int:
    if args.json:
        _print_json({**change.agent.as_json(), "changed": change.changed})
    else:
        print(text)
    return 0


def _cmd_add(args) -> int:
    from deskapp.services import agent_admin

    view = _with_agent(args, lambda session, actor: agent_admin.add_agent(
        session, actor, login=args.login, display_name=args.name, roles=[args.roles], email=args.email,
        now=_now(),
    ))
    change = agent_admin.AgentChange(agent=view, changed=True)
    return _report(args, change, ADDED.format(login=view.login, name=view.display_name, roles=view.role_labels))


def _cmd_roles(args) -> int:
    from deskapp.services import agent_admin

    change = _with_agent(args, lambda session, actor: agent_admin.set_roles(
        session, actor, login=args.login, roles=args.roles, now=_now()
    ))
    template = ROLES_SET if change.changed else ROLES_SAME
    return _report(args, change, template.format(login=change.agent.login, roles=change.agent.role_labels))


def _cmd_deactivate(args) -> int:
    from deskapp.services import agent_admin

    change = _with_agent(args, lambda session, actor: agent_admin.deactivate(
        session, actor, login=args.login, now=_now()
    ))
    template = DEACTIVATED if change.changed else ALREADY_INACTIVE
    return _report(args, change, template.format(login=change.agent.login))


def _cmd_activate(args) -> int:
    from deskapp.services import agent_admin

    change = _with_agent(args, lambda session, actor: agent_admin.activate(
        session, actor, login=args.login, now=_now()
    ))
    template = ACTIVATED if change.changed else ALREADY_ACTIVE
    return _report(args, change, template.format(login=change.agent.login))
