"""Order execution options: stop trigger price, time in force, post-only, reduce-only.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column(
                "trigger_price", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=True
            )
        )
        batch.add_column(
            sa.Column("time_in_force", sa.String(8), nullable=False, server_default="gtc")
        )
        batch.add_column(
            sa.Column("post_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("reduce_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("reduce_only")
        batch.drop_column("post_only")
        batch.drop_column("time_in_force")
        batch.drop_column("trigger_price")
