"""typo-tolerant, accent-folded search (trigram indexes) and agents' saved views

Revision ID: 0010
Revises: 0008

docs/rules.md#ticket-search: the ticket's subject and body and the customer's name are
searched as folded text (models/search.py) through trigram indexes — SQLite FTS5 tables
with the ``trigram`` tokenizer kept in step by triggers, PostgreSQL ``pg_trgm`` GIN indexes
on stored ``desk_fold(…)`` columns (``ticket.search_doc``, ``customer.name_key``). The word index of 0002 stays on SQLite (its vocabulary proposes the
words a mistyped one may have meant); its PostgreSQL tsvector index is replaced.

docs/rules.md#saved-views: ``saved_view`` holds an agent's named filters.
"""
from alembic import op
import sqlalchemy as sa

from models.search import PG_CUSTOMER_NAME, PG_TICKET_DOCUMENT, pg_fold_function, sqlite_fold_sql

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def _sqlite_doc(t: str) -> str:
    return sqlite_fold_sql(f"coalesce({t}.subject, '') || ' ' || coalesce({t}.body, '')")


def _upgrade_sqlite() -> None:
    op.execute("CREATE VIRTUAL TABLE ticket_trgm USING fts5(doc, tokenize='trigram')")
    op.execute(
        "CREATE TRIGGER ticket_trgm_ai AFTER INSERT ON ticket BEGIN "
        f"INSERT INTO ticket_trgm(rowid, doc) VALUES (new.id, {_sqlite_doc('new')}); END"
    )
    op.execute("CREATE TRIGGER ticket_trgm_ad AFTER DELETE ON ticket BEGIN "
               "DELETE FROM ticket_trgm WHERE rowid = old.id; END")
    op.execute(
        "CREATE TRIGGER ticket_trgm_au AFTER UPDATE OF subject, body ON ticket BEGIN "
        f"UPDATE ticket_trgm SET doc = {_sqlite_doc('new')} WHERE rowid = new.id; END"
    )
    op.execute(f"INSERT INTO ticket_trgm(rowid, doc) SELECT id, {_sqlite_doc('ticket')} FROM ticket")
    name = sqlite_fold_sql("new.name")
    op.execute("CREATE VIRTUAL TABLE customer_trgm USING fts5(name, tokenize='trigram')")
    op.execute(
        "CREATE TRIGGER customer_trgm_ai AFTER INSERT ON customer BEGIN "
        f"INSERT INTO customer_trgm(rowid, name) VALUES (new.rowid, {name}); END"
    )
    op.execute("CREATE TRIGGER customer_trgm_ad AFTER DELETE ON customer BEGIN "
               "DELETE FROM customer_trgm WHERE rowid = old.rowid; END")
    op.execute(
        "CREATE TRIGGER customer_trgm_au AFTER UPDATE OF name ON customer BEGIN "
        f"UPDATE customer_trgm SET name = {name} WHERE rowid = new.rowid; END"
    )
    op.execute(f"INSERT INTO customer_trgm(rowid, name) SELECT rowid, {sqlite_fold_sql('name')} FROM customer")
    # The words of 0002's index, for proposing what a mistyped word may have meant.
    op.execute("CREATE VIRTUAL TABLE ticket_fts_vocab USING fts5vocab(ticket_fts, 'row')")


def _upgrade_pg() -> None:
    bind = op.get_bind()
    schema = bind.execute(
        sa.text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                "WHERE e.extname = 'pg_trgm'")
    ).scalar()
    if schema is None:
        # In public, not in the desk's schema: one database may hold several desks (and
        # the tests a schema each); the extension is database-wide.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        schema = "public"
    op.execute(pg_fold_function())
    # Stored folded copies: the trigram index's recheck and the newest-first scan read
    # them as they are instead of folding every candidate's text again.
    op.execute(f"ALTER TABLE ticket ADD COLUMN search_doc text GENERATED ALWAYS AS ({PG_TICKET_DOCUMENT}) STORED")
    op.execute(f"ALTER TABLE customer ADD COLUMN name_key text GENERATED ALWAYS AS ({PG_CUSTOMER_NAME}) STORED")
    op.execute(f"CREATE INDEX ix_ticket_trgm ON ticket USING gin (search_doc {schema}.gin_trgm_ops)")
    op.execute(f"CREATE INDEX ix_customer_trgm ON customer USING gin (name_key {schema}.gin_trgm_ops)")
    op.execute("DROP INDEX IF EXISTS ix_ticket_fts")
    # The words of every ticket's folded text, for proposing what a mistyped word may have
    # meant (SQLite reads them from 0002's word index). Inserted in sorted order so that two
    # transactions adding the same words wait for each other instead of deadlocking.
    op.execute("CREATE TABLE search_word (word text PRIMARY KEY)")
    op.execute(f"CREATE INDEX ix_search_word_trgm ON search_word USING gin (word {schema}.gin_trgm_ops)")
    op.execute(
        "CREATE OR REPLACE FUNCTION desk_search_words() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO search_word (word) SELECT DISTINCT w FROM regexp_split_to_table(NEW.search_doc, "
        "'[^[:alnum:]]+') AS w WHERE length(w) BETWEEN 3 AND 40 ORDER BY w ON CONFLICT DO NOTHING; "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER ticket_search_words AFTER INSERT OR UPDATE OF subject, body ON ticket "
        "FOR EACH ROW EXECUTE FUNCTION desk_search_words()"
    )
    op.execute(
        "INSERT INTO search_word (word) SELECT DISTINCT w FROM ticket, "
        "regexp_split_to_table(ticket.search_doc, '[^[:alnum:]]+') AS w WHERE length(w) BETWEEN 3 AND 40 "
        "ON CONFLICT DO NOTHING"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_pg()
    op.create_table(
        "saved_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agent.id"), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agent_id", "name", name="uq_saved_view_agent_name"),
    )


def downgrade() -> None:
    op.drop_table("saved_view")
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ticket_trgm_ai", "ticket_trgm_ad", "ticket_trgm_au",
                        "customer_trgm_ai", "customer_trgm_ad", "customer_trgm_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        for table in ("ticket_fts_vocab", "ticket_trgm", "customer_trgm"):
            op.execute(f"DROP TABLE IF EXISTS {table}")
    else:
        op.execute("DROP TRIGGER IF EXISTS ticket_search_words ON ticket")
        op.execute("DROP FUNCTION IF EXISTS desk_search_words()")
        op.execute("DROP TABLE IF EXISTS search_word")
        op.execute("DROP INDEX IF EXISTS ix_ticket_trgm")
        op.execute("DROP INDEX IF EXISTS ix_customer_trgm")
        op.execute("ALTER TABLE ticket DROP COLUMN IF EXISTS search_doc")
        op.execute("ALTER TABLE customer DROP COLUMN IF EXISTS name_key")
        op.execute("DROP FUNCTION IF EXISTS desk_fold(text)")
        op.execute(
            "CREATE INDEX ix_ticket_fts ON ticket USING gin "
            "(to_tsvector('simple', coalesce(subject, '') || ' ' || coalesce(body, '')))"
        )
