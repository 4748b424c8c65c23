"""customer contact addresses and the shop reference of hour packages

Revision ID: 0005
Revises: 0004

``customer_email`` holds one or more contact addresses per customer in the billing
system's order (``position``); ``address_key`` is the lower-cased address that incoming
mail is matched on (an ordinary index: one mailbox may serve two customers).
``customer.email`` stays and mirrors the first address. Existing customers get their one
address copied over.

``hour_package.shop_ref`` is the shop's booking reference: a unique index makes a shop
booking idempotent (NULLs, the packages booked by hand, do not collide).
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("address_key", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "address_key"),
    )
    op.create_index("ix_customer_email_customer_id", "customer_email", ["customer_id"])
    op.create_index("ix_customer_email_key", "customer_email", ["address_key"])
    op.execute(
        "INSERT INTO customer_email (customer_id, position, address, address_key) "
        "SELECT id, 0, email, lower(email) FROM customer WHERE email <> ''"
    )
    with op.batch_alter_table("hour_package") as batch:
        batch.add_column(sa.Column("shop_ref", sa.String(length=64), nullable=True))
    op.create_index("ux_hour_package_shop_ref", "hour_package", ["shop_ref"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_hour_package_shop_ref", table_name="hour_package")
    with op.batch_alter_table("hour_package") as batch:
        batch.drop_column("shop_ref")
    op.drop_index("ix_customer_email_key", table_name="customer_email")
    op.drop_index("ix_customer_email_customer_id", table_name="customer_email")
    op.drop_table("customer_email")
