"""outbox delivery states and threading: a fixed Message-ID per mail, its ticket, the SMTP reply

Revision ID: 0007
Revises: 0005

``outgoing_mail.message_id`` is fixed when a mail is queued and sent unchanged on every
attempt, so copies collapse in the recipient's mail program (unique index). Existing rows
get one here, on the domain of ``DESK_MAIL_FROM`` when it is set (else
``deskapp.invalid``): the migration does not read the settings file. ``ticket_id``,
``in_reply_to`` and ``references`` thread the mail into its ticket's conversation;
``smtp_reply`` keeps the server's last answer; ``uncertain_count`` counts attempts whose
outcome stayed unknown. The new statuses ``failed`` and ``uncertain`` need no schema change.
"""
import os
import uuid

from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _domain() -> str:
    address = os.environ.get("DESK_MAIL_FROM", "").strip().rstrip(">")
    domain = address.rpartition("@")[2].strip().lower()
    if domain and all(c.isalnum() or c in ".-" for c in domain):
        return domain
    return "deskapp.invalid"


def upgrade() -> None:
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.add_column(sa.Column("message_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("ticket_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("in_reply_to", sa.Text(), nullable=True))
        batch.add_column(sa.Column("references", sa.Text(), nullable=True))
        batch.add_column(sa.Column("smtp_reply", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("uncertain_count", sa.Integer(), nullable=False, server_default="0"))
    conn = op.get_bind()
    mail = sa.table("outgoing_mail", sa.column("id", sa.Integer), sa.column("message_id", sa.String))
    domain = _domain()
    ids = conn.execute(sa.select(mail.c.id)).scalars().all()
    for mail_id in ids:
        conn.execute(
            sa.update(mail).where(mail.c.id == mail_id)
            .values(message_id=f"<outbox-{mail_id}.{uuid.uuid4().hex}@{domain}>")
        )
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.alter_column("message_id", existing_type=sa.String(length=255), nullable=False)
        batch.alter_column("smtp_reply", existing_type=sa.Text(), server_default=None)
        batch.alter_column("uncertain_count", existing_type=sa.Integer(), server_default=None)
        batch.create_foreign_key("fk_outgoing_mail_ticket_id", "ticket", ["ticket_id"], ["id"])
    op.create_index("ux_outgoing_mail_message_id", "outgoing_mail", ["message_id"], unique=True)
    op.create_index("ix_outgoing_mail_ticket", "outgoing_mail", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_outgoing_mail_ticket", table_name="outgoing_mail")
    op.drop_index("ux_outgoing_mail_message_id", table_name="outgoing_mail")
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.drop_constraint("fk_outgoing_mail_ticket_id", type_="foreignkey")
        for column in ("uncertain_count", "smtp_reply", "references", "in_reply_to", "ticket_id", "message_id"):
            batch.drop_column(column)
