"""ticket full-text search: SQLite FTS5 kept in sync by triggers, PostgreSQL GIN

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Replaced on PostgreSQL by the trigram index of 0010 (models/search.py).
PG_DOCUMENT = "to_tsvector('simple', coalesce(subject, '') || ' ' || coalesce(body, ''))"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE ticket_fts USING fts5(subject, body, content='ticket', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER ticket_fts_ai AFTER INSERT ON ticket BEGIN "
            "INSERT INTO ticket_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body); END"
        )
        op.execute(
            "CREATE TRIGGER ticket_fts_ad AFTER DELETE ON ticket BEGIN "
            "INSERT INTO ticket_fts(ticket_fts, rowid, subject, body) "
            "VALUES ('delete', old.id, old.subject, old.body); END"
        )
        # Only a change of the indexed text touches the index (claims stay cheap).
        op.execute(
            "CREATE TRIGGER ticket_fts_au AFTER UPDATE OF subject, body ON ticket BEGIN "
            "INSERT INTO ticket_fts(ticket_fts, rowid, subject, body) "
            "VALUES ('delete', old.id, old.subject, old.body); "
            "INSERT INTO ticket_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body); END"
        )
        op.execute("INSERT INTO ticket_fts(ticket_fts) VALUES ('rebuild')")
    else:
        op.execute(f"CREATE INDEX ix_ticket_fts ON ticket USING gin ({PG_DOCUMENT})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ticket_fts_ai", "ticket_fts_ad", "ticket_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS ticket_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_ticket_fts")
