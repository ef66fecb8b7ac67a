"""Task automation: missed-run policies, webhook hooks and receipts, run history, schedules.

Revision ID: 0008
Revises: 0007
Create Date: 2027-01-02 00:00:00

The ``tasks``, ``triggers``, ``actions`` and ``runs`` tables of 0001 get what running
tasks needs: each task's policy for runs missed while the station was down
(``missed_runs``: skip, run_once or run_all, within ``grace_seconds``); each webhook
trigger's public ``hook_id`` (its secret is in the keyring, never here); each run's
cause, the time it was scheduled for, its log lines, the outcome of each action, its
error and the signal that fired it (never a secret). ``webhook_receipts`` holds the
fingerprint of every accepted alert, unique per trigger, so the same alert delivered
twice (even at the same moment) runs once. ``task_schedules`` is APScheduler's job
store (its own column layout): cron and interval schedules and their next run time
survive a restart.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(
            sa.Column("missed_runs", sa.String(16), nullable=False, server_default="skip")
        )
        batch.add_column(sa.Column("grace_seconds", sa.Integer(), nullable=True))
    with op.batch_alter_table("triggers") as batch:
        batch.add_column(sa.Column("hook_id", sa.String(64), nullable=True))
        batch.create_unique_constraint(op.f("uq_triggers_hook_id"), ["hook_id"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("cause", sa.String(64), nullable=False, server_default="manual"))
        batch.add_column(ts("scheduled_for", nullable=True))
        batch.add_column(sa.Column("logs", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("outcomes", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch.create_index(op.f("ix_runs_status"), ["status"])
    op.create_table(
        "webhook_receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trigger_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        ts("received_at"),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["trigger_id"],
            ["triggers.id"],
            name=op.f("fk_webhook_receipts_trigger_id_triggers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_webhook_receipts_run_id_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_receipts")),
        sa.UniqueConstraint(
            "trigger_id", "fingerprint", name=op.f("uq_webhook_receipts_trigger_id_fingerprint")
        ),
    )
    op.create_index(op.f("ix_webhook_receipts_received_at"), "webhook_receipts", ["received_at"])
    op.create_table(
        "task_schedules",
        sa.Column("id", sa.String(191), nullable=False),
        sa.Column("next_run_time", sa.Float(), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_schedules")),
    )
    op.create_index(op.f("ix_task_schedules_next_run_time"), "task_schedules", ["next_run_time"])


def downgrade() -> None:
    op.drop_index(op.f("ix_task_schedules_next_run_time"), table_name="task_schedules")
    op.drop_table("task_schedules")
    op.drop_index(op.f("ix_webhook_receipts_received_at"), table_name="webhook_receipts")
    op.drop_table("webhook_receipts")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index(op.f("ix_runs_status"))
        for column in ("payload", "error", "outcomes", "logs", "scheduled_for", "cause"):
            batch.drop_column(column)
    with op.batch_alter_table("triggers") as batch:
        batch.drop_constraint(op.f("uq_triggers_hook_id"), type_="unique")
        batch.drop_column("hook_id")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("grace_seconds")
        batch.drop_column("missed_runs")
