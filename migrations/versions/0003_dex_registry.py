"""DEX registry: chains, wallets, DEXes and the tokens a trader follows on them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 00:00:00

Secrets stay out of these tables: ``chains.rpc_url`` is the URL's display form (API keys
masked) with the full URL in the vault under ``rpc_secret_ref``, and ``wallets.secret_ref``
names the vault entry of a signing wallet's private key.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def ts(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def text(name: str, length: int = 255, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def chain_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["chain_id"], ["chains.chain_id"], name=op.f(f"fk_{table}_chain_id_chains")
    )


def upgrade() -> None:
    op.create_table(
        "chains",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        text("name", 128),
        text("rpc_url", 1024),
        text("native_symbol", 32),
        text("rpc_secret_ref", 128, nullable=True),
        ts("created_at"),
        sa.PrimaryKeyConstraint("chain_id", name=op.f("pk_chains")),
        sa.UniqueConstraint("name", name=op.f("uq_chains_name")),
    )
    op.create_table(
        "wallets",
        text("id", 64),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        text("address", 42),
        text("label", 128),
        sa.Column("watch_only", sa.Boolean(), nullable=False),
        text("secret_ref", 128, nullable=True),
        ts("created_at"),
        chain_fk("wallets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallets")),
        sa.UniqueConstraint("chain_id", "address", name=op.f("uq_wallets_chain_id_address")),
    )
    op.create_table(
        "dexes",
        text("id", 64),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        text("name", 128),
        text("router", 42),
        text("factory", 42),
        sa.Column("fee_bps", sa.Integer(), nullable=False),
        ts("created_at"),
        chain_fk("dexes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dexes")),
        sa.UniqueConstraint("chain_id", "name", name=op.f("uq_dexes_chain_id_name")),
    )
    op.create_table(
        "dex_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        text("dex_id", 64),
        text("address", 42),
        text("symbol", 64),
        sa.Column("decimals", sa.Integer(), nullable=False),
        ts("created_at"),
        sa.ForeignKeyConstraint(
            ["dex_id"], ["dexes.id"], name=op.f("fk_dex_tokens_dex_id_dexes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dex_tokens")),
        sa.UniqueConstraint("dex_id", "address", name=op.f("uq_dex_tokens_dex_id_address")),
        sa.UniqueConstraint("dex_id", "symbol", name=op.f("uq_dex_tokens_dex_id_symbol")),
    )


def downgrade() -> None:
    op.drop_table("dex_tokens")
    op.drop_table("dexes")
    op.drop_table("wallets")
    op.drop_table("chains")
