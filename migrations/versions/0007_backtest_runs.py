"""Backtest runs: submitted to worker processes, followed, stored and compared.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-22 00:00:00

One row per run: its inputs (strategy, resolved parameters, data source, cash, fee),
its state (queued, running, finished, failed, cancelled) and progress, and what came
out: the final equity (exact, like every money column: NUMERIC on PostgreSQL, the
decimal string on SQLite), the trade count, the metrics, a capped result document
(trades and a downsampled equity curve) and the path of the report files.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def money(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=nullable)


def ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def text(name: str, length: int = 255, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "backtest_runs",
        text("id", 64),
        ts("created_at"),
        ts("started_at", nullable=True),
        ts("finished_at", nullable=True),
        text("created_by", 128, nullable=True),
        text("status", 16),
        sa.Column("progress", sa.Float(), nullable=False),
        text("strategy", 128),
        sa.Column("params", sa.JSON(), nullable=False),
        text("symbol", 64),
        text("timeframe", 16),
        sa.Column("data_source", sa.Text(), nullable=False),
        sa.Column("bars", sa.Integer(), nullable=False),
        money("cash"),
        money("fee_bps"),
        money("final_equity", nullable=True),
        sa.Column("trade_count", sa.Integer(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("report_path", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_runs")),
    )
    op.create_index(op.f("ix_backtest_runs_created_at"), "backtest_runs", ["created_at"])
    op.create_index(op.f("ix_backtest_runs_status"), "backtest_runs", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_backtest_runs_status"), table_name="backtest_runs")
    op.drop_index(op.f("ix_backtest_runs_created_at"), table_name="backtest_runs")
    op.drop_table("backtest_runs")
