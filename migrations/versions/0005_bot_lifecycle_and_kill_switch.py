"""Bot lifecycle: the feed position of each bot, and the kill switch, survive restarts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-15 00:00:00

``bots.bars_done`` is how many bars of its feed a bot has processed; a bot that was
running when the station stopped resumes there; ``bots.risk_marks`` keeps what its loss
limits had measured (peak equity, the start of its daily-loss day), so a restart does
not reset a drawdown or daily-loss limit. Existing bots start at 0 (a bot stored
as running under 0004 is resumed from its first bar, its strategy warmed up on nothing).
The new statuses (starting, paused, stopping) fit the existing ``bots.status`` column.
``kill_switch`` holds one row: whether the station refuses every new order, who engaged
or released it, why and when.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.add_column(sa.Column("bars_done", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("risk_marks", sa.JSON(), nullable=True))
    op.create_table(
        "kill_switch",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("engaged", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kill_switch")),
    )


def downgrade() -> None:
    # 0004 knows no starting, paused or stopping: the nearest state it does know
    op.execute("UPDATE bots SET status = 'running' WHERE status IN ('starting', 'paused')")
    op.execute("UPDATE bots SET status = 'stopped' WHERE status = 'stopping'")
    op.drop_table("kill_switch")
    with op.batch_alter_table("bots") as batch:
        batch.drop_column("risk_marks")
        batch.drop_column("bars_done")
