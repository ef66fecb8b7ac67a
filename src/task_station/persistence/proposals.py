"""``ProposalStore`` on SQL: proposals of mixed-mode bots and each bot's approval rules.

The proposed order is stored column by column (money as ``ExactDecimal``) rather than
as a JSON document, so the trader's approved quantity reads back to the last digit and
the proposals of a bot can be queried by status without parsing documents.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from task_station.domain.commands import SubmitOrder
from task_station.domain.errors import NotFoundError
from task_station.domain.orders import OrderSide, OrderType, TimeInForce
from task_station.domain.proposals import ApprovalRules, Proposal, ProposalStatus
from task_station.persistence._tx import SessionFactory, translated
from task_station.persistence.database import Database
from task_station.persistence.models import ApprovalRulesRow, ProposalRow


def _write(row: ProposalRow, proposal: Proposal) -> None:
    command = proposal.command
    row.bot_id = proposal.bot_id
    row.symbol = command.symbol
    row.side = command.side.value
    row.type = command.type.value
    row.quantity = command.quantity
    row.quote_quantity = command.quote_quantity
    row.price = command.price
    row.trigger_price = command.trigger_price
    row.time_in_force = command.time_in_force.value
    row.post_only = command.post_only
    row.reduce_only = command.reduce_only
    row.tag = command.tag
    row.reference_price = proposal.reference_price
    row.created_at = proposal.created_at
    row.expires_at = proposal.expires_at
    row.status = proposal.status.value
    row.decided_by = proposal.decided_by
    row.decided_at = proposal.decided_at
    row.reason = proposal.reason
    edited = proposal.edited
    row.edited = edited is not None
    row.edited_quantity = edited.quantity if edited is not None else None
    row.edited_quote_quantity = edited.quote_quantity if edited is not None else None
    row.edited_price = edited.price if edited is not None else None
    row.client_order_id = proposal.client_order_id


def _to_proposal(row: ProposalRow) -> Proposal:
    command = SubmitOrder(
        symbol=row.symbol,
        side=OrderSide(row.side),
        type=OrderType(row.type),
        quantity=row.quantity,
        quote_quantity=row.quote_quantity,
        price=row.price,
        bot_id=row.bot_id,
        trigger_price=row.trigger_price,
        time_in_force=TimeInForce(row.time_in_force),
        post_only=row.post_only,
        reduce_only=row.reduce_only,
        tag=row.tag,
    )
    edited = None
    if row.edited:
        edited = replace(
            command,
            quantity=row.edited_quantity,
            quote_quantity=row.edited_quote_quantity,
            price=row.edited_price,
        )
    return Proposal(
        id=row.id,
        bot_id=row.bot_id,
        command=command,
        reference_price=row.reference_price,
        created_at=row.created_at,
        expires_at=row.expires_at,
        status=ProposalStatus(row.status),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        reason=row.reason,
        edited=edited,
        client_order_id=row.client_order_id,
    )


def _to_rules(row: ApprovalRulesRow) -> ApprovalRules:
    return ApprovalRules(
        expiry_seconds=row.expiry_seconds,
        max_drift_bps=row.max_drift_bps,
        auto_approve_below=row.auto_approve_below,
        auto_approve_within_bps=row.auto_approve_within_bps,
    )


class SqlProposalStore:
    """Implements ``domain.ports.ProposalStore``. Each method is its own transaction."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @classmethod
    def on(cls, database: Database) -> SqlProposalStore:
        """A store over ``database``'s engine (its connection pool is shared)."""
        return cls(sessionmaker(database.engine, expire_on_commit=False))

    # -- proposals ---------------------------------------------------------------------

    def add(self, proposal: Proposal) -> None:
        record = f"proposal {proposal.id} of bot {proposal.bot_id}"
        with (
            translated(record, conflict=f"{record} already exists"),
            self._sessions.begin() as s,
        ):
            row = ProposalRow(id=proposal.id)
            _write(row, proposal)
            s.add(row)

    def update(self, proposal: Proposal) -> None:
        with translated(f"proposal {proposal.id}"), self._sessions.begin() as s:
            row = s.get(ProposalRow, proposal.id)
            if row is None:
                raise NotFoundError(f"proposal {proposal.id} does not exist")
            _write(row, proposal)

    def get(self, proposal_id: str) -> Proposal | None:
        with self._sessions.begin() as s:
            row = s.get(ProposalRow, proposal_id)
            return None if row is None else _to_proposal(row)

    def list(
        self,
        *,
        bot_id: str | None = None,
        statuses: Sequence[ProposalStatus] | None = None,
        limit: int = 500,
    ) -> builtins.list[Proposal]:
        """Newest first."""
        query = select(ProposalRow)
        if bot_id is not None:
            query = query.where(ProposalRow.bot_id == bot_id)
        if statuses is not None:
            query = query.where(ProposalRow.status.in_([s.value for s in statuses]))
        query = query.order_by(ProposalRow.created_at.desc(), ProposalRow.id.desc()).limit(limit)
        with self._sessions.begin() as s:
            return [_to_proposal(r) for r in s.scalars(query)]

    # -- rules -------------------------------------------------------------------------

    def get_rules(self, bot_id: str) -> ApprovalRules | None:
        with self._sessions.begin() as s:
            row = s.get(ApprovalRulesRow, bot_id)
            return None if row is None else _to_rules(row)

    def save_rules(self, bot_id: str, rules: ApprovalRules, when: datetime) -> None:
        with translated(f"approval rules of bot {bot_id}"), self._sessions.begin() as s:
            row = s.get(ApprovalRulesRow, bot_id)
            if row is None:
                row = ApprovalRulesRow(bot_id=bot_id)
                s.add(row)
            row.expiry_seconds = rules.expiry_seconds
            row.max_drift_bps = rules.max_drift_bps
            row.auto_approve_below = rules.auto_approve_below
            row.auto_approve_within_bps = rules.auto_approve_within_bps
            row.updated_at = when
