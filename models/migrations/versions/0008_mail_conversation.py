"""the conversation with the customer: incoming mail, raw messages, attachments

Revision ID: 0008
Revises: 0005

docs/rules.md#mail-incoming: ``mail_raw`` keeps every message as the mail server handed
it over (BLOB / bytea); ``mail_message`` is one message of a ticket's conversation, its
``message_id`` unique so the same message delivered twice is stored once (NULLs, messages
without one, do not collide); ``mail_attachment`` lists a message's attachments, their
bytes NULL when they were not kept (docs/rules.md#mail-content).
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_raw",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "mail_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("in_reply_to", sa.Text(), nullable=False),
        sa.Column("refs", sa.Text(), nullable=False),
        sa.Column("from_addr", sa.String(length=255), nullable=False),
        sa.Column("from_name", sa.String(length=255), nullable=False),
        sa.Column("to_addrs", sa.Text(), nullable=False),
        sa.Column("cc_addrs", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_auto", sa.Boolean(), nullable=False),
        sa.Column("auto_reason", sa.String(length=32), nullable=False),
        sa.Column("bounce_of", sa.Text(), nullable=False),
        sa.Column("sender_is_customer", sa.Boolean(), nullable=False),
        sa.Column("unreadable", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("raw_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.ForeignKeyConstraint(["raw_id"], ["mail_raw.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_mail_message_message_id", "mail_message", ["message_id"], unique=True)
    op.create_index("ix_mail_message_ticket", "mail_message", ["ticket_id", "created_at", "id"])
    op.create_table(
        "mail_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mail_message_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["mail_message_id"], ["mail_message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mail_attachment_mail_message_id", "mail_attachment", ["mail_message_id"])


def downgrade() -> None:
    op.drop_index("ix_mail_attachment_mail_message_id", table_name="mail_attachment")
    op.drop_table("mail_attachment")
    op.drop_index("ix_mail_message_ticket", table_name="mail_message")
    op.drop_index("ux_mail_message_message_id", table_name="mail_message")
    op.drop_table("mail_message")
    op.drop_table("mail_raw")
