"""orders as a two-step protocol: the shop's order reference and the pending attempt

Revision ID: 0006
Revises: 0005

docs/rules.md#credit-limit: an order is committed as ``pending`` before the registry is
asked (no new column for that: ``status`` is a plain string). ``attempted_at`` is when
the order last went to the registry; ``deskapp orders recover`` resolves orders left
pending longer than ``order_pending_stale_minutes``. ``shop_ref`` is the shop's order
reference (``deskapp order --ref``): a unique index makes a shop order idempotent (NULLs,
the orders placed at the desk, do not collide).
"""
from alembic import op
import sqlalchemy as sa

import models.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_") as batch:
        batch.add_column(sa.Column("shop_ref", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("attempted_at", models.types.UTCDateTime(timezone=True), nullable=True))
    op.create_index("ux_order_shop_ref", "order_", ["shop_ref"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_order_shop_ref", table_name="order_")
    with op.batch_alter_table("order_") as batch:
        batch.drop_column("attempted_at")
        batch.drop_column("shop_ref")
