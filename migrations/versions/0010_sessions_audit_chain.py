"""Refresh-token sessions and the audit trail's hash chain.

Revision ID: 0010
Revises: 0009
Create Date: 2027-01-12 00:00:00

``sessions`` become links of a login *family*: ``family_id`` (an existing session is a
family of its own), the SHA-256 of the link's refresh token (never the token),
``rotated_at`` when it was exchanged for the next link, and the client it was issued
to. ``audit_events`` get the face an action came through, the state before and after,
and the hash chain (``prev_hash``, ``hash``); existing events are chained in id order
here, so ``task-station audit verify`` holds from the first event on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from task_station.domain.audit import GENESIS_HASH, event_hash

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_audit = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("ts", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("subject", sa.String()),
    sa.column("detail", sa.Text()),
    sa.column("face", sa.String()),
    sa.column("before", sa.Text()),
    sa.column("after", sa.Text()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
_sessions = sa.table("sessions", sa.column("id", sa.String()), sa.column("family_id", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("family_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("refresh_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("client", sa.String(255), nullable=True))
    op.execute(_sessions.update().values(family_id=_sessions.c.id))
    with op.batch_alter_table("sessions") as batch:
        batch.alter_column("family_id", existing_type=sa.String(64), nullable=False)
        batch.create_index(batch.f("ix_sessions_family_id"), ["family_id"])
        batch.create_unique_constraint(batch.f("uq_sessions_refresh_hash"), ["refresh_hash"])

    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("face", sa.String(16), nullable=False, server_default="system"))
        batch.add_column(sa.Column("before", sa.Text(), nullable=True))
        batch.add_column(sa.Column("after", sa.Text(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    _chain_existing_events()
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint(batch.f("uq_audit_events_hash"), ["hash"])
        batch.create_index(batch.f("ix_audit_events_action"), ["action"])


def _chain_existing_events() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            _audit.c.id, _audit.c.ts, _audit.c.actor, _audit.c.action, _audit.c.subject,
            _audit.c.detail, _audit.c.face,
        ).order_by(_audit.c.id)
    ).all()  # fmt: skip
    previous = GENESIS_HASH
    for row in rows:
        ts = row.ts if isinstance(row.ts, datetime) else datetime.fromisoformat(str(row.ts))
        own = event_hash(
            id=row.id, ts=ts, actor=row.actor, action=row.action, subject=row.subject,
            detail=row.detail, face=row.face, before=None, after=None, prev_hash=previous,
        )  # fmt: skip
        bind.execute(
            _audit.update().where(_audit.c.id == row.id).values(prev_hash=previous, hash=own)
        )
        previous = own


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index(batch.f("ix_audit_events_action"))
        batch.drop_constraint(batch.f("uq_audit_events_hash"), type_="unique")
        for column in ("hash", "prev_hash", "after", "before", "face"):
            batch.drop_column(column)
    with op.batch_alter_table("sessions") as batch:
        batch.drop_constraint(batch.f("uq_sessions_refresh_hash"), type_="unique")
        batch.drop_index(batch.f("ix_sessions_family_id"))
        for column in ("client", "rotated_at", "refresh_hash", "family_id"):
            batch.drop_column(column)
