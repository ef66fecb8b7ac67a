"""Bodies of the proposal, mode and order-ticket routes (money as exact strings).

Kept apart from ``schemas.py`` so the REST routes and the WebSocket converters share
one rendering of a proposal, whichever face decided it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from task_station.api.schemas import Money, MoneyIn
from task_station.domain.commands import SubmitOrder
from task_station.domain.proposals import (
    MAX_EXPIRY_SECONDS,
    MIN_EXPIRY_SECONDS,
    ApprovalRules,
    ControlMode,
    Proposal,
)
from task_station.services.proposals import BotControl, ProposalView


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt rule must not be ignored


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- requests ----------------------------------------------------------------------------


class ProposalEdit(_Request):
    """The trader's quantity (base units) and/or limit price; at least one."""

    quantity: MoneyIn | None = None
    price: MoneyIn | None = None


class ProposalReject(_Request):
    reason: str | None = Field(default=None, max_length=500)


class ApprovalRulesIn(_Request):
    """The whole rule set (``PUT`` semantics): a rule left out takes its default."""

    expiry_seconds: int = Field(default=300, ge=MIN_EXPIRY_SECONDS, le=MAX_EXPIRY_SECONDS)
    max_drift_bps: MoneyIn | None = Decimal(100)
    auto_approve_below: MoneyIn | None = None
    auto_approve_within_bps: MoneyIn | None = None


class ModeIn(_Request):
    mode: ControlMode
    rules: ApprovalRulesIn | None = None


class OrderTicket(_Request):
    side: str = Field(min_length=1, max_length=8)
    quantity: MoneyIn
    type: str = Field(default="market", min_length=1, max_length=16)
    price: MoneyIn | None = None


# -- responses ---------------------------------------------------------------------------


class OrderRequestOut(_Response):
    symbol: str
    side: str
    type: str
    quantity: Money | None
    quote_quantity: Money | None
    price: Money | None


class ProposalOut(_Response):
    """``order`` is what was (or would be) sent: the trader's edit if there is one.
    ``mark`` and ``drift_bps`` are the price now and its move since the proposal, while
    the bot runs and the proposal is pending."""

    id: str
    bot_id: str
    bot_name: str | None
    status: str
    proposed: OrderRequestOut
    order: OrderRequestOut
    edited: bool
    reference_price: Money
    notional: Money
    created_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    client_order_id: str | None
    mark: Money | None = None
    drift_bps: Money | None = None
    expires_in_seconds: int | None = None


class ApprovalRulesOut(_Response):
    expiry_seconds: int
    max_drift_bps: Money | None
    auto_approve_below: Money | None
    auto_approve_within_bps: Money | None


class BotControlOut(_Response):
    bot_id: str
    mode: str
    rules: ApprovalRulesOut
    running: bool


# -- conversions -------------------------------------------------------------------------


def order_request_out(command: SubmitOrder) -> OrderRequestOut:
    return OrderRequestOut(
        symbol=command.symbol,
        side=command.side.value,
        type=command.type.value,
        quantity=command.quantity,
        quote_quantity=command.quote_quantity,
        price=command.price,
    )


def proposal_out(proposal: Proposal, view: ProposalView | None = None) -> ProposalOut:
    return ProposalOut(
        id=proposal.id,
        bot_id=proposal.bot_id,
        bot_name=None if view is None else view.bot_name,
        status=proposal.status.value,
        proposed=order_request_out(proposal.command),
        order=order_request_out(proposal.order),
        edited=proposal.edited is not None,
        reference_price=proposal.reference_price,
        notional=proposal.notional,
        created_at=proposal.created_at,
        expires_at=proposal.expires_at,
        decided_by=proposal.decided_by,
        decided_at=proposal.decided_at,
        reason=proposal.reason,
        client_order_id=proposal.client_order_id,
        mark=None if view is None else view.mark,
        drift_bps=None if view is None else view.drift_bps,
        expires_in_seconds=None if view is None else view.expires_in_seconds,
    )


def view_out(view: ProposalView) -> ProposalOut:
    return proposal_out(view.proposal, view)


def rules_in(body: ApprovalRulesIn) -> ApprovalRules:
    return ApprovalRules(
        expiry_seconds=body.expiry_seconds,
        max_drift_bps=body.max_drift_bps,
        auto_approve_below=body.auto_approve_below,
        auto_approve_within_bps=body.auto_approve_within_bps,
    )


def control_out(control: BotControl) -> BotControlOut:
    rules = control.rules
    return BotControlOut(
        bot_id=control.bot_id,
        mode=control.mode.value,
        rules=ApprovalRulesOut(
            expiry_seconds=rules.expiry_seconds,
            max_drift_bps=rules.max_drift_bps,
            auto_approve_below=rules.auto_approve_below,
            auto_approve_within_bps=rules.auto_approve_within_bps,
        ),
        running=control.running,
    )
