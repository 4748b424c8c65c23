"""indexes for the sidebar counts and the flagged view

Revision ID: 0003
Revises: 0002

The sidebar counts active tickets per queue, the agent's own, the unassigned and the
flagged ones. Without these indexes each count scanned the ticket table (237 ms for the
sidebar at 100,000 tickets). ``(status, queue)`` and ``(status, assignee_id)`` make the
queue, "mine" and "unassigned" counts index-only scans over the few active tickets;
``(extension_request_id, status)`` serves the "requests" view.

Flags are a space-separated string matched with ``' ' || flags || ' ' LIKE '% x %'``,
which no ordinary index serves. The partial index holds only tickets with any flag
(a few percent), in inbox order and carrying status and flags, so the flagged count
is an index-only scan of that small index and the flagged list reads it in order.
The query must repeat the predicate literally (``flags <> ''``, see
``deskapp.services.tickets._flag_clause``) for SQLite and PostgreSQL to use it.
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Keep in step with models.tables.Ticket and deskapp.services.tickets._flag_clause.
FLAGGED_PREDICATE = "flags <> ''"


def upgrade() -> None:
    op.create_index("ix_ticket_status_queue", "ticket", ["status", "queue"])
    op.create_index("ix_ticket_status_assignee", "ticket", ["status", "assignee_id"])
    # The "requests" view counts the agent's extension requests still open.
    op.create_index("ix_ticket_extension_request", "ticket", ["extension_request_id", "status"])
    op.execute(
        "CREATE INDEX ix_ticket_flagged ON ticket (priority, created_at, id, status, flags) "
        f"WHERE {FLAGGED_PREDICATE}"
    )
    # Fresh statistics for a filled desk, so the planners know how selective the new
    # indexes are. Not for an empty one: statistics of empty tables would mislead later.
    bind = op.get_bind()
    if bind.exec_driver_sql("SELECT 1 FROM ticket LIMIT 1").first() is not None:
        op.execute("ANALYZE ticket")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_ticket_flagged")
    op.drop_index("ix_ticket_extension_request", table_name="ticket")
    op.drop_index("ix_ticket_status_assignee", table_name="ticket")
    op.drop_index("ix_ticket_status_queue", table_name="ticket")
