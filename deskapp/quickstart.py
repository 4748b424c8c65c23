"""The lean start: the inbox's first page before SQLAlchemy is even imported.

Importing SQLModel/SQLAlchemy/Alembic costs more than Textual itself, and an agent
should see tickets the moment the desk opens. On an SQLite database that is already at
the schema head, this module reads what the first frame needs with the standard
``sqlite3`` module: the agent at the keyboard, the policy overrides and the first page
of the default list (the Support queue). The ORM and the engine are loaded in a worker
right after the first frame, and every later read goes through the services.

Anything out of the ordinary (a server database, a schema that needs an upgrade, an
agent that cannot be resolved) returns ``None``, and the desk takes the full start path,
which owns every error message. ``tests/ui/test_quickstart.py`` checks that what this
module returns equals what the services return, so the two cannot drift apart.

Standard library plus ``readmodels``/``settings`` only: no SQLAlchemy, no pendulum.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from .services.readmodels import AgentRef, TicketPage, TicketRow

MIGRATIONS = Path(__file__).resolve().parent.parent / "models" / "migrations" / "versions"
SYSTEM_LOGIN = "system"  # services.agents.SYSTEM_LOGIN
DEMO_DEFAULT_LOGIN = "tom"  # services.agents.DEMO_DEFAULT_LOGIN
ACTIVE_STATUSES = ("new", "open", "waiting")  # services.tickets.ACTIVE_STATUSES
FIRST_QUEUE = "support"  # the inbox opens on the Support queue

_REVISION = re.compile(r'^revision\s*(?::\s*str\s*)?=\s*["\']([^"\']+)["\']', re.M)
_DOWN = re.compile(r'^down_revision\s*(?::[^=]*)?=\s*["\']([^"\']+)["\']', re.M)


@dataclass(frozen=True)
class QuickStart:
    agent: AgentRef
    notice: str
    overrides: dict[str, str]
    first_page: TicketPage


def sqlite_file(url_or_path: str) -> Path | None:
    """The file of an SQLite database URL or plain path; None for anything else."""
    if "://" not in url_or_path:
        return Path(url_or_path)
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url_or_path.startswith(prefix):
            rest = url_or_path[len(prefix):].split("?", 1)[0]
            return Path(rest) if rest and rest != ":memory:" else None
    return None


def head_revision() -> str | None:
    """The newest migration, read from the files (without importing Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in MIGRATIONS.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if match := _REVISION.search(text):
            revisions.add(match.group(1))
        if match := _DOWN.search(text):
            parents.add(match.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _agent(row) -> AgentRef:
    return AgentRef(id=row[0], login=row[1], display_name=row[2], roles=frozenset(row[3].split()))


def _resolve(conn, *, os_login: str, requested: str | None) -> tuple[AgentRef, str] | None:
    """services.agents.resolve_desk_agent, success cases only (None: let it explain)."""
    demo = conn.execute("SELECT value FROM desk_meta WHERE key = 'demo'").fetchone()
    is_demo = demo is not None and demo[0] == "1"
    agents = {
        row[1]: row
        for row in conn.execute(
            "SELECT id, login, display_name, roles FROM agent WHERE active = 1 AND login != ?",
            (SYSTEM_LOGIN,),
        )
    }
    if requested:
        if not is_demo or requested not in agents:
            return None
        return _agent(agents[requested]), f"Demo: angemeldet als {requested}"
    if os_login in agents:
        return _agent(agents[os_login]), ""
    if is_demo and DEMO_DEFAULT_LOGIN in agents:
        return _agent(agents[DEMO_DEFAULT_LOGIN]), (
            f"Demo: Anmeldung '{os_login}' ist kein Agent, angemeldet als {DEMO_DEFAULT_LOGIN}"
        )
    return None


def _timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


# The first page of the Support queue, in the inbox's order (tickets.list_page).
_FIRST_PAGE = f"""
SELECT t.id, t.number, t.queue, t.kind, t.status, t.priority, t.subject, t.customer_id,
       coalesce(c.name, ''), coalesce(a.login, ''), t.flags, t.created_at, t.updated_at, t.version
FROM ticket t
LEFT OUTER JOIN customer c ON c.id = t.customer_id
LEFT OUTER JOIN agent a ON a.id = t.assignee_id
WHERE t.queue = ? AND t.status IN ({", ".join("?" for _ in ACTIVE_STATUSES)})
ORDER BY t.priority DESC, t.created_at DESC, t.id DESC
LIMIT ?
"""


def first_page(conn, limit: int) -> TicketPage:
    rows = [
        TicketRow(
            id=r[0], number=r[1], queue=r[2], kind=r[3], status=r[4], priority=r[5], subject=r[6],
            customer_id=uuid.UUID(hex=r[7]) if r[7] else None, customer_name=r[8], assignee_login=r[9],
            flags=tuple(r[10].split()), created_at=_timestamp(r[11]), updated_at=_timestamp(r[12]),
            version=r[13],
        )
        for r in conn.execute(_FIRST_PAGE, (FIRST_QUEUE, *ACTIVE_STATUSES, limit + 1))
    ]
    return TicketPage(tuple(rows[:limit]), has_before=False, has_after=len(rows) > limit)


def prepare(url_or_path: str, *, os_login: str, requested: str | None) -> QuickStart | None:
    """What the first frame needs, or None when the full start path must run."""
    path = sqlite_file(url_or_path)
    if path is None or not path.is_file():
        return None
    head = head_revision()
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error:
        return None
    try:
        current = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        if head is None or current != [(head,)]:
            return None
        resolved = _resolve(conn, os_login=os_login, requested=requested)
        if resolved is None:
            return None
        overrides = dict(conn.execute("SELECT key, value FROM policy_setting").fetchall())
        try:
            page_size = int(overrides.get("inbox_page_size", "")) if "inbox_page_size" in overrides else None
        except ValueError:
            return None
        from .settings import Policy

        limit = page_size or Policy().inbox_page_size
        page = first_page(conn, limit)
    except (sqlite3.Error, ValueError):
        return None
    finally:
        conn.close()
    agent, notice = resolved
    return QuickStart(agent=agent, notice=notice, overrides=overrides, first_page=page)
