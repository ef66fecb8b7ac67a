"""Proposal transitions: who may decide what, when, and what gets sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from task_station.domain.commands import SubmitOrder
from task_station.domain.errors import ConflictError, ValidationError
from task_station.domain.orders import OrderSide, OrderType
from task_station.domain.proposals import (
    SYSTEM_ACTOR,
    ApprovalRules,
    Proposal,
    ProposalExpired,
    ProposalStatus,
    approve,
    auto_approve,
    drift_bps,
    edit,
    expire,
    propose,
    reject,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
RULES = ApprovalRules(expiry_seconds=60, max_drift_bps=Decimal(50))
MARKET_BUY = SubmitOrder("BTC/USDT", OrderSide.BUY, quantity=Decimal("0.5"))
LIMIT_SELL = SubmitOrder(
    "BTC/USDT", OrderSide.SELL, OrderType.LIMIT, Decimal(1), price=Decimal(101)
)


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def pending(command: SubmitOrder = MARKET_BUY, rules: ApprovalRules = RULES) -> Proposal:
    return propose("p-1", "bot-1", command, Decimal(100), T0, rules)


def test_propose_sets_expiry_and_bot_and_estimates_value() -> None:
    p = pending()
    assert p.status is ProposalStatus.PENDING
    assert p.expires_at == later(60)
    assert p.command.bot_id == "bot-1"
    assert p.notional == Decimal("50.0")  # 0.5 at the reference price 100
    quote = propose(
        "p-2",
        "b",
        SubmitOrder("X/Y", OrderSide.BUY, quote_quantity=Decimal(7)),
        Decimal(3),
        T0,
        RULES,
    )
    assert quote.notional == Decimal(7)


def test_propose_without_size_or_with_bad_reference_is_refused() -> None:
    with pytest.raises(ValidationError, match="quantity"):
        propose("p", "b", SubmitOrder("X/Y", OrderSide.BUY), Decimal(1), T0, RULES)
    with pytest.raises(ValidationError, match="reference price"):
        propose("p", "b", MARKET_BUY, Decimal(0), T0, RULES)


def test_approve_within_drift_returns_approved_by_actor() -> None:
    decided = approve(pending(), actor="alice", now=later(10), mark=Decimal("100.49"), rules=RULES)
    assert decided.status is ProposalStatus.APPROVED
    assert (decided.decided_by, decided.decided_at) == ("alice", later(10))
    assert decided.order == replace(MARKET_BUY, bot_id="bot-1")


def test_approve_beyond_drift_returns_refused_with_reason() -> None:
    decided = approve(pending(), actor="alice", now=later(10), mark=Decimal("99.4"), rules=RULES)
    assert decided.status is ProposalStatus.REFUSED_DRIFT
    assert not decided.status.is_sent
    assert (
        decided.reason is not None and "60.0 bps" in decided.reason and "50 bps" in decided.reason
    )


def test_drift_guard_off_allows_any_move() -> None:
    rules = ApprovalRules(max_drift_bps=None)
    decided = approve(pending(rules=rules), actor="a", now=later(1), mark=Decimal(500), rules=rules)
    assert decided.status is ProposalStatus.APPROVED


def test_approve_after_expiry_raises_expired_with_message() -> None:
    with pytest.raises(ProposalExpired, match=r"expired at .* \(5s ago\) .*nothing was sent"):
        approve(pending(), actor="alice", now=later(65), mark=Decimal(100), rules=RULES)


def test_second_decision_raises_conflict_naming_state() -> None:
    rejected = reject(pending(), actor="bob", now=later(1))
    with pytest.raises(ConflictError, match="already rejected"):
        approve(rejected, actor="alice", now=later(2), mark=Decimal(100), rules=RULES)


def test_edit_quantity_replaces_quote_size_and_is_what_is_sent() -> None:
    quote_buy = SubmitOrder("BTC/USDT", OrderSide.BUY, quote_quantity=Decimal(1000))
    decided = edit(
        pending(quote_buy), actor="a", now=later(1), mark=Decimal(100), rules=RULES,
        quantity=Decimal("0.25"),
    )  # fmt: skip
    assert decided.status is ProposalStatus.EDITED
    assert decided.order.quantity == Decimal("0.25") and decided.order.quote_quantity is None
    assert decided.command.quote_quantity == Decimal(1000)  # the proposal itself is kept


def test_edit_price_on_limit_skips_drift_guard() -> None:
    p = pending(LIMIT_SELL)
    far = Decimal(120)
    repriced = edit(p, actor="a", now=later(1), mark=far, rules=RULES, price=Decimal(119))
    assert repriced.status is ProposalStatus.EDITED and repriced.order.price == Decimal(119)
    resized = edit(p, actor="a", now=later(1), mark=far, rules=RULES, quantity=Decimal(2))
    assert resized.status is ProposalStatus.REFUSED_DRIFT


@pytest.mark.parametrize(
    ("command", "changes", "message"),
    [
        (MARKET_BUY, {}, "needs a new quantity"),
        (MARKET_BUY, {"quantity": Decimal(0)}, "quantity must be positive"),
        (MARKET_BUY, {"price": Decimal(100)}, "market order has no price"),
        (LIMIT_SELL, {"price": Decimal(-1)}, "price must be positive"),
    ],
)
def test_edit_invalid_values_are_refused(
    command: SubmitOrder, changes: dict[str, Decimal], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        edit(pending(command), actor="a", now=later(1), mark=Decimal(100), rules=RULES, **changes)


def test_reject_after_expiry_records_expired_not_rejected() -> None:
    decided = reject(pending(), actor="bob", now=later(61), reason="no")
    assert decided.status is ProposalStatus.EXPIRED and decided.decided_by == SYSTEM_ACTOR


def test_expire_before_expiry_needs_a_reason() -> None:
    with pytest.raises(ConflictError, match="valid until"):
        expire(pending(), now=later(1))
    stopped = expire(pending(), now=later(1), reason="the bot stopped")
    assert (stopped.status, stopped.reason) == (ProposalStatus.EXPIRED, "the bot stopped")
    due = expire(pending(), now=later(60))
    assert due.reason == "not decided within 60s"


@pytest.mark.parametrize(
    ("rules", "mark", "auto"),
    [
        (ApprovalRules(), Decimal(100), False),  # no rule: a person decides
        (ApprovalRules(auto_approve_below=Decimal(51)), Decimal(100), True),
        (ApprovalRules(auto_approve_below=Decimal(50)), Decimal(100), False),  # not below
        (ApprovalRules(auto_approve_within_bps=Decimal(10)), Decimal("100.1"), True),
        (ApprovalRules(auto_approve_within_bps=Decimal(10)), Decimal("100.2"), False),
        (
            ApprovalRules(auto_approve_below=Decimal(51), auto_approve_within_bps=Decimal(10)),
            Decimal(101),
            False,
        ),
    ],
)
def test_auto_approve_applies_every_rule_set(
    rules: ApprovalRules, mark: Decimal, auto: bool
) -> None:
    decided = auto_approve(pending(rules=rules), now=T0, mark=mark, rules=rules)
    assert (decided is not None) is auto
    if decided is not None:
        assert decided.status is ProposalStatus.AUTO_APPROVED and decided.status.is_sent
        assert decided.reason is not None and decided.reason.startswith("auto-approved")


def test_rules_from_mapping_converts_and_refuses_unknown_names() -> None:
    rules = ApprovalRules.from_mapping(
        {"expiry_seconds": "30", "auto_approve_below": 0.1, "max_drift_bps": None}
    )
    assert rules == ApprovalRules(30, None, Decimal("0.1"), None)
    with pytest.raises(ValidationError, match="unknown approval rule"):
        ApprovalRules.from_mapping({"max_drfit_bps": 5})
    with pytest.raises(ValidationError, match="expiry_seconds"):
        ApprovalRules.from_mapping({"expiry_seconds": 1})
    with pytest.raises(ValidationError, match="between 0 and 10000"):
        ApprovalRules(max_drift_bps=Decimal(-1))


def test_drift_bps_is_exact() -> None:
    assert drift_bps(Decimal(3), Decimal("3.0003")) == Decimal(1)
