"""Background jobs and notifications: the persistent job queue, the in-app feed and the
notification channels.

Revision ID: 0009
Revises: 0008
Create Date: 2027-01-05 00:00:00

``jobs`` is the queue: one row per job with its kind, payload, state, attempts, the
time it may next run, its lease (``lease_until``, ``worker``, ``claim_token``) and what
came out. ``notifications`` is the feed; ``notification_channels`` the channels with
their routing rule and rate limit (their secrets stay in the keyring: ``secret_ref``
only names the entry).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def text(name: str, length: int = 255, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def integer(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "jobs",
        text("id", 64),
        text("kind", 64),
        text("title"),
        sa.Column("payload", sa.JSON(), nullable=False),
        text("state", 16),
        integer("priority"),
        integer("attempts"),
        integer("max_attempts"),
        text("idempotency_key", nullable=True),
        text("created_by", 128, nullable=True),
        ts("created_at"),
        ts("run_after"),
        ts("started_at", nullable=True),
        ts("finished_at", nullable=True),
        ts("lease_until", nullable=True),
        text("worker", 128, nullable=True),
        text("claim_token", 64, nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("progress_text", sa.Text(), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_jobs_idempotency_key")),
    )
    op.create_index(op.f("ix_jobs_kind"), "jobs", ["kind"])
    op.create_index(op.f("ix_jobs_state_run_after"), "jobs", ["state", "run_after"])
    op.create_index(op.f("ix_jobs_created_at"), "jobs", ["created_at"])
    op.create_table(
        "notifications",
        text("id", 64),
        ts("ts"),
        text("kind", 64),
        integer("severity"),
        text("title"),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        ts("read_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_ts"), "notifications", ["ts"])
    op.create_table(
        "notification_channels",
        text("name", 64),
        text("type", 16),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        integer("min_severity"),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("rate_per_minute", sa.Float(), nullable=False),
        integer("burst"),
        text("secret_ref", 128, nullable=True),
        ts("created_at"),
        ts("updated_at"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notification_channels")),
    )


def downgrade() -> None:
    op.drop_table("notification_channels")
    op.drop_index(op.f("ix_notifications_ts"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_index(op.f("ix_jobs_created_at"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_state_run_after"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_kind"), table_name="jobs")
    op.drop_table("jobs")
