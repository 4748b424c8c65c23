"""Schema migrations (Alembic), run programmatically: no alembic.ini to find."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaTooNew(Exception):
    """The database was written by a newer deskapp; this one must not touch it."""

    def __init__(self, revision: str):
        super().__init__(revision)
        self.revision = revision


def _config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_not_newer(engine: Engine) -> str | None:
    """Raise ``SchemaTooNew`` if the database carries a revision we do not know."""
    current = current_revision(engine)
    if current is None:
        return None
    script = ScriptDirectory.from_config(_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaTooNew(current)
    return current


def upgrade(engine: Engine) -> bool:
    """Bring the schema to head. Returns True if anything was applied."""
    before = check_not_newer(engine)
    head = head_revision()
    if before == head:
        return False
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return True
