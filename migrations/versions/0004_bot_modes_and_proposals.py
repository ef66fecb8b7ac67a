"""Bot control modes (automated, mixed, manual), proposals and approval rules.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 00:00:00

``bots.control_mode`` is separate from ``bots.mode`` (paper or live): who decides a
bot's orders is independent of where they go. Existing bots keep trading on their own
(``automated``). Money and prices are unconstrained NUMERIC on PostgreSQL and the exact
decimal string on SQLite, like every other money column (see ``persistence/types.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def money(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=nullable)


def ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def text(name: str, length: int = 255, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def bot_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["bot_id"], ["bots.id"], name=op.f(f"fk_{table}_bot_id_bots"), ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.add_column(
            sa.Column("control_mode", sa.String(16), nullable=False, server_default="automated")
        )
    op.create_table(
        "proposals",
        text("id", 64),
        text("bot_id", 64),
        text("symbol", 64),
        text("side", 8),
        text("type", 16),
        money("quantity", nullable=True),
        money("quote_quantity", nullable=True),
        money("price", nullable=True),
        money("trigger_price", nullable=True),
        text("time_in_force", 8),
        sa.Column("post_only", sa.Boolean(), nullable=False),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        money("reference_price"),
        ts("created_at"),
        ts("expires_at"),
        text("status", 16),
        text("decided_by", 128, nullable=True),
        ts("decided_at", nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("edited", sa.Boolean(), nullable=False),
        money("edited_quantity", nullable=True),
        money("edited_quote_quantity", nullable=True),
        money("edited_price", nullable=True),
        text("client_order_id", 64, nullable=True),
        bot_fk("proposals"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    op.create_index(op.f("ix_proposals_bot_id_created_at"), "proposals", ["bot_id", "created_at"])
    op.create_index(op.f("ix_proposals_status"), "proposals", ["status"])
    op.create_table(
        "approval_rules",
        text("bot_id", 64),
        sa.Column("expiry_seconds", sa.Integer(), nullable=False),
        money("max_drift_bps", nullable=True),
        money("auto_approve_below", nullable=True),
        money("auto_approve_within_bps", nullable=True),
        ts("updated_at"),
        bot_fk("approval_rules"),
        sa.PrimaryKeyConstraint("bot_id", name=op.f("pk_approval_rules")),
    )


def downgrade() -> None:
    op.drop_table("approval_rules")
    op.drop_index(op.f("ix_proposals_status"), table_name="proposals")
    op.drop_index(op.f("ix_proposals_bot_id_created_at"), table_name="proposals")
    op.drop_table("proposals")
    with op.batch_alter_table("bots") as batch:
        batch.drop_column("control_mode")
