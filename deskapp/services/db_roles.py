"""PostgreSQL: each agent is a login role inside one group role holding the desk's privileges.

docs/rules.md#agent-postgres: on PostgreSQL the agent at the keyboard is the database role the connection
authenticated as, never an OS login or an environment variable. So every agent is a
``LOGIN`` role without a password (the server's ``pg_hba.conf`` decides how it proves who
it is: peer, scram, certificates), member of the desk's group role. The group holds just
what the desk needs on the desk's tables in the desk's schema: read and write the
working tables, use their sequences, read the schema version, and on the audit log only
``INSERT`` and ``SELECT`` — an agent's connection can add to the log but never rewrite it.

The group's name is kept in ``desk_meta`` (``pg_agent_group``). It is made from the
database and schema (``desk_agent_<db>`` or ``desk_agent_<db>_<schema>``): roles are
shared by every database of a server, and one group for two desks would let an agent of
one read the other's tables.

On SQLite every function here does nothing: the database file's permissions are the
boundary, and the agent is the OS login of the process's real user id.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from models.tables import DeskMeta

from .errors import PermissionDenied

GROUP_META_KEY = "pg_agent_group"
# Tables an agent's connection may read but not change.
READ_ONLY_TABLES = ("alembic_version",)
# Tables an agent's connection may add to and read, never update or delete.
INSERT_ONLY_TABLES = ("audit_log",)
MAX_IDENTIFIER = 63

MSG_NO_PRIVILEGE = (
    "Die Datenbankrolle '{who}' darf {what} nicht (PostgreSQL: {detail}). Das erledigt eine Rolle "
    "mit CREATEROLE (z. B. die, mit der »deskapp init« lief)."
)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def quote(name: str) -> str:
    """A role name as a PostgreSQL identifier (always quoted: case and dots kept as given)."""
    return '"' + name.replace('"', '""') + '"'


def session_role(session: Session) -> str:
    """The role this connection authenticated as.

    ``session_user``, not ``current_user``: ``current_user`` follows ``SET ROLE`` (an agent
    could ``SET ROLE`` to the group, or to any role it is a member of), ``session_user`` is
    the role the server authenticated and only a superuser can change it.
    """
    return session.execute(text("SELECT session_user")).scalar_one()


def lock_agent_table():
    """A statement that serialises first-start ``init`` runs (PostgreSQL only)."""
    return text("LOCK TABLE agent IN SHARE ROW EXCLUSIVE MODE")


def _default_group_name(session: Session) -> str:
    database, schema = session.execute(text("SELECT current_database(), current_schema()")).one()
    parts = ["desk_agent", database] + ([] if schema == "public" else [schema])
    name = re.sub(r"[^a-z0-9_]", "_", "_".join(parts).lower())
    return name[:MAX_IDENTIFIER]


def group_role(session: Session) -> str:
    """The desk's group role name (recorded on first use)."""
    meta = session.get(DeskMeta, GROUP_META_KEY)
    if meta is not None:
        return meta.value
    name = _default_group_name(session)
    session.merge(DeskMeta(key=GROUP_META_KEY, value=name))
    session.flush()
    return name


def _role_exists(session: Session, name: str) -> bool:
    return session.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first() is not None


def _ddl(session: Session, statement: str, *, what: str) -> None:
    """Run role DDL; a missing privilege becomes one German sentence (exit code 4)."""
    try:
        with session.begin_nested():
            session.execute(text(statement))
    except DBAPIError as exc:
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if code == "42501":  # insufficient_privilege
            detail = str(exc.orig).strip().splitlines()[0]
            raise PermissionDenied(MSG_NO_PRIVILEGE.format(who=session_role(session), what=what, detail=detail)) from None
        raise


def ensure_group(session: Session) -> str | None:
    """Create the group role if missing and grant it the desk's privileges (idempotent).

    Run after every schema upgrade (``deskapp init``, ``deskapp db upgrade``): tables a
    migration adds get their grants here. Returns the group's name; None on SQLite.
    """
    if not is_postgres(session):
        return None
    group = group_role(session)
    q = quote(group)
    if not _role_exists(session, group):
        _ddl(session, f"CREATE ROLE {q} NOLOGIN", what=f"die Gruppenrolle {group} anlegen")
    schema = session.execute(text("SELECT current_schema()")).scalar_one()
    s = quote(schema)
    what = f"der Gruppenrolle {group} Rechte geben"
    _ddl(session, f"GRANT USAGE ON SCHEMA {s} TO {q}", what=what)
    _ddl(session, f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {q}", what=what)
    _ddl(session, f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {q}", what=what)
    for table in INSERT_ONLY_TABLES:
        _ddl(session, f"REVOKE UPDATE, DELETE, TRUNCATE ON {s}.{quote(table)} FROM {q}", what=what)
    for table in READ_ONLY_TABLES:
        _ddl(session, f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {s}.{quote(table)} FROM {q}", what=what)
    return group


def enrol_agent_role(session: Session, login: str) -> None:
    """Make ``login`` a LOGIN role in the desk's group (creating it when it does not exist)."""
    if not is_postgres(session):
        return
    group = ensure_group(session)
    role = quote(login)
    if not _role_exists(session, login):
        # No password: how the role proves who it is, is the server's auth config.
        _ddl(session, f"CREATE ROLE {role} LOGIN", what=f"die Rolle {login} anlegen")
    _ddl(session, f"GRANT {quote(group)} TO {role}", what=f"{login} in die Gruppe {group} aufnehmen")


def set_agent_login(session: Session, login: str, active: bool) -> None:
    """A deactivated agent's role loses LOGIN; a reactivated one gets it back."""
    if not is_postgres(session) or not _role_exists(session, login):
        return
    if login == session_role(session):
        return  # never lock out the connection doing the work
    superuser = session.execute(
        text("SELECT rolsuper FROM pg_roles WHERE rolname = :n"), {"n": login}
    ).scalar_one()
    if superuser:
        return  # a server administrator's role is not the desk's to switch off
    action = "LOGIN" if active else "NOLOGIN"
    _ddl(session, f"ALTER ROLE {quote(login)} {action}", what=f"die Anmeldung der Rolle {login} ändern")
