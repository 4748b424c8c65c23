"""Opening a desk database safely: checks first, then migrations, then the engine.

Every problem becomes a ``DatabaseProblem`` with one German sentence and exit code 3,
raised before anything is written.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DatabaseError, OperationalError

from models.engine import make_engine, normalize_url

from .services.errors import DeskError


class DatabaseProblem(DeskError):
    exit_code = 3


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _check_sqlite_file(path: Path) -> None:
    if path.is_dir():
        raise DatabaseProblem(f"{path} ist ein Verzeichnis, keine Datenbankdatei.")
    if path.exists() and not path.is_file():  # /dev/null, a FIFO, a device
        raise DatabaseProblem(f"{path} ist keine gewöhnliche Datei und kann keine Datenbank sein.")
    if path.exists():
        if not os.access(path, os.R_OK):
            raise DatabaseProblem(f"Die Datenbank {path} ist nicht lesbar (Zugriffsrechte).")
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            raise DatabaseProblem(f"Die Datenbank {path} ist schreibgeschützt (Datei oder Verzeichnis).")
        with path.open("rb") as fh:
            header = fh.read(16)
        if header and header != b"SQLite format 3\x00":
            raise DatabaseProblem(f"{path} ist keine SQLite-Datenbank (Datei beschädigt oder anderes Format).")
    else:
        parent = path.parent
        if parent.exists() and not parent.is_dir():
            raise DatabaseProblem(f"Die Datenbank kann nicht angelegt werden: {parent} ist kein Verzeichnis.")
        if not parent.exists():
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseProblem(f"Das Verzeichnis {parent} kann nicht angelegt werden: {exc.strerror}.")
        if not os.access(parent, os.W_OK):
            raise DatabaseProblem(f"Im Verzeichnis {parent} kann keine Datenbank angelegt werden (Zugriffsrechte).")


def describe_db_error(exc: Exception, url: str) -> str:
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
    low = detail.lower()
    where = sqlite_path(url) or make_url(url).render_as_string(hide_password=True)
    if "not a database" in low or "malformed" in low:
        return f"{where} ist keine gültige Datenbank (beschädigt oder anderes Format)."
    if "readonly" in low or "read-only" in low:
        return f"Die Datenbank {where} ist schreibgeschützt."
    if "unable to open" in low:
        return f"Die Datenbank {where} kann nicht geöffnet werden."
    if "connection" in low or "could not connect" in low or "refused" in low:
        return f"Die Datenbank {where} ist nicht erreichbar: {detail}"
    return f"Datenbankfehler ({where}): {detail}"


def open_database(url_or_path: str, *, migrate_schema: bool = True) -> Engine:
    """An engine on an up-to-date schema, or ``DatabaseProblem``."""
    from models import migrate  # Alembic: loaded when a database is opened, not by ``sqlite_path``

    url = normalize_url(url_or_path)
    path = sqlite_path(url)
    if path is not None:
        _check_sqlite_file(path)
    try:
        engine = make_engine(url)
    except Exception as exc:  # a malformed URL, an unknown driver
        raise DatabaseProblem(f"Ungültige Datenbankadresse '{url_or_path}': {exc}") from None
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            if path is not None:
                conn.execute(text("SELECT count(*) FROM sqlite_master"))
        if migrate_schema:
            migrate.upgrade(engine)
        else:
            migrate.check_not_newer(engine)
    except migrate.SchemaTooNew as exc:
        engine.dispose()
        raise DatabaseProblem(
            f"Die Datenbank hat ein neueres Schema (Revision {exc.revision}) als diese deskapp-Version "
            f"({migrate.head_revision()}); bitte deskapp aktualisieren. Nichts wurde verändert."
        ) from None
    except (OperationalError, DatabaseError) as exc:
        engine.dispose()
        raise DatabaseProblem(describe_db_error(exc, url)) from None
    return engine


def is_empty(engine: Engine) -> bool:
    from sqlalchemy import func, select

    from models.tables import Agent, Customer, Ticket

    with engine.connect() as conn:
        for table in (Agent, Customer, Ticket):
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                return False
    return True


def wipe(engine: Engine) -> None:
    """Drop every desk table (``seed --force``), then rebuild the schema from scratch."""
    from sqlmodel import SQLModel

    from models import migrate

    import models.tables  # noqa: F401

    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for trigger in ("ticket_fts_ai", "ticket_fts_ad", "ticket_fts_au", "ticket_trgm_ai", "ticket_trgm_ad",
                            "ticket_trgm_au", "customer_trgm_ai", "customer_trgm_ad", "customer_trgm_au"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
            # The search tables of migrations 0002 and 0010 (not in the models).
            for table in ("ticket_fts_vocab", "ticket_fts", "ticket_trgm", "customer_trgm"):
                conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        else:
            conn.execute(text("DROP TABLE IF EXISTS search_word"))
        SQLModel.metadata.drop_all(conn)
        if engine.dialect.name != "sqlite":
            conn.execute(text("DROP FUNCTION IF EXISTS desk_search_words()"))
            conn.execute(text("DROP FUNCTION IF EXISTS desk_fold(text)"))
        if "alembic_version" in inspect(conn).get_table_names():
            conn.execute(text("DROP TABLE alembic_version"))
    migrate.upgrade(engine)
