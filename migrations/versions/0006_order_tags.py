"""Orders (and proposed orders) say why they were sent: ``orders.tag``, ``proposals.tag``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 00:00:00

A strategy names the reason of each order ("sma cross up", "stop loss", "take profit");
the trade table shows it as the entry and exit reason of every round trip. Existing
orders have none (read as "signal").
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("orders", "proposals"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("tag", sa.String(128), nullable=True))


def downgrade() -> None:
    for table in ("proposals", "orders"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tag")
