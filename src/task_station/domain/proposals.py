"""Who decides a bot's orders: the strategy alone, the trader on its proposals, or the
trader alone; and the life of a proposal ("the bot proposes, the trader approves").

A proposal is the order a strategy asked for, held until a person (or a rule the person
set) decides. The decisions are pure functions returning a new ``Proposal``: the engine
stores and publishes the result, so one transition table serves the runtime, the
service and the tests. A decision on a proposal that is no longer pending is refused
with a message naming its state, because a trader clicking a stale row must learn that
nothing was sent rather than see the click silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from task_station.domain.commands import SubmitOrder
from task_station.domain.errors import ConflictError, ValidationError
from task_station.domain.money import BPS, ZERO, to_decimal

#: ``decided_by`` of decisions nobody clicked: expiry, auto-approval, a stopping bot.
SYSTEM_ACTOR = "system"

#: Bounds on a proposal's lifetime: a second is too short to read, a day is stale.
MIN_EXPIRY_SECONDS = 5
MAX_EXPIRY_SECONDS = 86_400


class ControlMode(StrEnum):
    """Who decides a bot's orders.

    Named ``ControlMode`` (not ``BotMode``) because ``domain.bots.BotMode`` already means
    paper versus live, which is independent of who decides.
    """

    AUTOMATED = "automated"  # the strategy's orders go straight out
    MIXED = "mixed"  # the strategy proposes, the trader (or an auto-approve rule) decides
    MANUAL = "manual"  # the strategy is not consulted; the trader sends every order


class ProposalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    EDITED = "edited"  # approved with the trader's quantity and/or price
    REJECTED = "rejected"
    EXPIRED = "expired"
    REFUSED_DRIFT = "refused_drift"  # approval came after the price moved too far
    AUTO_APPROVED = "auto_approved"

    @property
    def is_sent(self) -> bool:
        """Whether a decision in this state hands the order to the order manager."""
        return self in (
            ProposalStatus.APPROVED,
            ProposalStatus.EDITED,
            ProposalStatus.AUTO_APPROVED,
        )


class ProposalExpired(ConflictError):
    """The proposal outlived its expiry; it was not (and will not be) sent."""


def drift_bps(reference: Decimal, price: Decimal) -> Decimal:
    """How far ``price`` is from ``reference``, in basis points of ``reference`` (>= 0)."""
    if reference <= ZERO:
        raise ValidationError(f"a reference price must be positive, got {reference}")
    return abs(price - reference) * BPS / reference


_RULE_FIELDS = frozenset(
    {"expiry_seconds", "max_drift_bps", "auto_approve_below", "auto_approve_within_bps"}
)


@dataclass(frozen=True, slots=True)
class ApprovalRules:
    """A trader's standing instructions for a mixed-mode bot.

    ``max_drift_bps`` guards approvals: a proposal made at one price and approved after
    the market moved further than this is refused, because the trader approved the
    decision at the old price, not at the new one. ``None`` switches the guard off.

    Auto-approval applies when a proposal is made. Each condition that is set must hold:
    ``auto_approve_below`` (the order's estimated value in quote currency is below it)
    and ``auto_approve_within_bps`` (the market has not moved further than this since the
    strategy's reference price). With neither set, every proposal waits for a person.
    """

    expiry_seconds: int = 300
    max_drift_bps: Decimal | None = Decimal(100)
    auto_approve_below: Decimal | None = None
    auto_approve_within_bps: Decimal | None = None

    def __post_init__(self) -> None:
        if isinstance(self.expiry_seconds, bool) or not isinstance(self.expiry_seconds, int):
            raise ValidationError("expiry_seconds must be a whole number of seconds")
        if not MIN_EXPIRY_SECONDS <= self.expiry_seconds <= MAX_EXPIRY_SECONDS:
            raise ValidationError(
                f"expiry_seconds must be between {MIN_EXPIRY_SECONDS} and "
                f"{MAX_EXPIRY_SECONDS}, got {self.expiry_seconds}"
            )
        for name in ("max_drift_bps", "auto_approve_within_bps"):
            value = getattr(self, name)
            if value is not None and not (value.is_finite() and ZERO <= value <= BPS):
                raise ValidationError(f"{name} must be between 0 and 10000, got {value}")
        below = self.auto_approve_below
        if below is not None and not (below.is_finite() and below > ZERO):
            raise ValidationError(f"auto_approve_below must be positive, got {below}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, object] | None) -> ApprovalRules:
        """Rules from a face's plain values (numbers or numeric strings; None: unset).

        Unknown names are refused rather than ignored: a misspelt limit must not leave
        the trader believing a rule protects them.
        """
        values = dict(values or {})
        unknown = sorted(set(values) - _RULE_FIELDS)
        if unknown:
            raise ValidationError(
                f"unknown approval rule(s) {', '.join(unknown)}; known: "
                f"{', '.join(sorted(_RULE_FIELDS))}"
            )
        defaults = cls()
        expiry = values.get("expiry_seconds", defaults.expiry_seconds)
        seconds = to_decimal(expiry, name="expiry_seconds")
        if seconds != seconds.to_integral_value():
            raise ValidationError(f"expiry_seconds must be whole seconds, got {expiry}")

        def optional(name: str) -> Decimal | None:
            value = values.get(name, getattr(defaults, name))
            return None if value is None or value == "" else to_decimal(value, name=name)

        return cls(
            expiry_seconds=int(seconds),
            max_drift_bps=optional("max_drift_bps"),
            auto_approve_below=optional("auto_approve_below"),
            auto_approve_within_bps=optional("auto_approve_within_bps"),
        )

    @property
    def auto_approves_anything(self) -> bool:
        return self.auto_approve_below is not None or self.auto_approve_within_bps is not None

    def allows_auto_approval(self, notional: Decimal, drift: Decimal) -> bool:
        if not self.auto_approves_anything:
            return False
        if self.auto_approve_below is not None and not notional < self.auto_approve_below:
            return False
        within = self.auto_approve_within_bps
        return within is None or drift <= within

    def allows_drift(self, drift: Decimal) -> bool:
        return self.max_drift_bps is None or drift <= self.max_drift_bps


@dataclass(frozen=True, slots=True)
class Proposal:
    """An order a strategy asked for, and what became of it.

    ``reference_price`` is the market price the strategy saw when it asked; the drift
    guard and the auto-approve rule measure the market against it. ``edited`` is the
    order as the trader changed it (status EDITED); ``client_order_id`` names the order
    that was sent, once it was.
    """

    id: str
    bot_id: str
    command: SubmitOrder
    reference_price: Decimal
    created_at: datetime
    expires_at: datetime
    status: ProposalStatus = ProposalStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    edited: SubmitOrder | None = None
    client_order_id: str | None = None

    @property
    def is_pending(self) -> bool:
        return self.status is ProposalStatus.PENDING

    @property
    def order(self) -> SubmitOrder:
        """The order that is (or would be) sent: the trader's edit if there is one."""
        return self.edited if self.edited is not None else self.command

    @property
    def notional(self) -> Decimal:
        """The order's estimated value in quote currency, at its price or the reference."""
        order = self.order
        if order.quote_quantity is not None:
            return order.quote_quantity
        price = order.price if order.price is not None else self.reference_price
        return (order.quantity or ZERO) * price

    def drift_bps(self, mark: Decimal) -> Decimal:
        return drift_bps(self.reference_price, mark)

    def expires_in(self, now: datetime) -> timedelta:
        """Time left to decide (negative once expired)."""
        return self.expires_at - now

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def describe(self) -> str:
        """One line for the audit log and messages: side, size, symbol, type, price."""
        order = self.order
        size = (
            f"{order.quantity}" if order.quantity is not None else f"{order.quote_quantity} (quote)"
        )
        price = f" @ {order.price}" if order.price is not None else ""
        return (
            f"bot {self.bot_id}: {order.side.value} {size} {order.symbol} "
            f"{order.type.value}{price} (reference {self.reference_price})"
        )


# -- transitions -------------------------------------------------------------------------


def propose(
    proposal_id: str,
    bot_id: str,
    command: SubmitOrder,
    reference_price: Decimal,
    now: datetime,
    rules: ApprovalRules,
) -> Proposal:
    """A new pending proposal that expires ``rules.expiry_seconds`` from ``now``."""
    if not (reference_price.is_finite() and reference_price > ZERO):
        raise ValidationError(f"a reference price must be positive, got {reference_price}")
    if command.quantity is None and command.quote_quantity is None:
        raise ValidationError("a proposed order needs a quantity or a quote quantity")
    return Proposal(
        id=proposal_id,
        bot_id=bot_id,
        command=replace(command, bot_id=bot_id),
        reference_price=reference_price,
        created_at=now,
        expires_at=now + timedelta(seconds=rules.expiry_seconds),
    )


def _require_pending(proposal: Proposal, verb: str) -> None:
    if not proposal.is_pending:
        raise ConflictError(
            f"proposal {proposal.id} is already {proposal.status.value}; it cannot be {verb}"
        )


def _require_live(proposal: Proposal, now: datetime, verb: str) -> None:
    _require_pending(proposal, verb)
    if proposal.is_expired(now):
        late = int((now - proposal.expires_at).total_seconds())
        raise ProposalExpired(
            f"proposal {proposal.id} expired at {proposal.expires_at.isoformat()} "
            f"({late}s ago) and cannot be {verb}; nothing was sent"
        )


def _decided(
    proposal: Proposal,
    status: ProposalStatus,
    actor: str,
    now: datetime,
    reason: str | None = None,
    edited: SubmitOrder | None = None,
) -> Proposal:
    return replace(
        proposal, status=status, decided_by=actor, decided_at=now, reason=reason, edited=edited
    )


def _drift_refusal(proposal: Proposal, mark: Decimal, rules: ApprovalRules) -> str | None:
    drift = proposal.drift_bps(mark)
    if rules.allows_drift(drift):
        return None
    return (
        f"the price moved {drift.quantize(Decimal('0.1'))} bps (from {proposal.reference_price} "
        f"to {mark}), more than the {rules.max_drift_bps} bps allowed; nothing was sent"
    )


def approve(
    proposal: Proposal, *, actor: str, now: datetime, mark: Decimal, rules: ApprovalRules
) -> Proposal:
    """APPROVED, or REFUSED_DRIFT (with the reason) when the market ran away.

    Raises ``ProposalExpired`` past the expiry and ``ConflictError`` once decided.
    """
    _require_live(proposal, now, "approved")
    refusal = _drift_refusal(proposal, mark, rules)
    if refusal is not None:
        return _decided(proposal, ProposalStatus.REFUSED_DRIFT, actor, now, refusal)
    return _decided(proposal, ProposalStatus.APPROVED, actor, now)


def edit(
    proposal: Proposal,
    *,
    actor: str,
    now: datetime,
    mark: Decimal,
    rules: ApprovalRules,
    quantity: Decimal | None = None,
    price: Decimal | None = None,
) -> Proposal:
    """Approve with the trader's base quantity and/or limit price (status EDITED).

    A new quantity replaces a quote-currency size, so what fills is exactly what the
    trader typed. The drift guard applies unless the trader set a new price: whoever
    re-prices a limit order has priced the move in.
    """
    _require_live(proposal, now, "edited")
    if quantity is None and price is None:
        raise ValidationError("an edit needs a new quantity, a new price, or both")
    if quantity is not None and not (quantity.is_finite() and quantity > ZERO):
        raise ValidationError(f"quantity must be positive, got {quantity}")
    command = proposal.command
    if price is not None:
        if not command.type.has_limit_price:
            raise ValidationError(
                f"a {command.type.value} order has no price to edit; reject it and place a "
                "limit order from the order ticket instead"
            )
        if not (price.is_finite() and price > ZERO):
            raise ValidationError(f"price must be positive, got {price}")
    edited = command
    if quantity is not None:
        edited = replace(edited, quantity=quantity, quote_quantity=None)
    if price is not None:
        edited = replace(edited, price=price)
    else:
        refusal = _drift_refusal(proposal, mark, rules)
        if refusal is not None:
            return _decided(proposal, ProposalStatus.REFUSED_DRIFT, actor, now, refusal)
    return _decided(proposal, ProposalStatus.EDITED, actor, now, edited=edited)


def reject(proposal: Proposal, *, actor: str, now: datetime, reason: str | None = None) -> Proposal:
    """REJECTED; a proposal that expired meanwhile becomes EXPIRED instead (nothing is
    sent either way, and the record says truthfully why)."""
    _require_pending(proposal, "rejected")
    if proposal.is_expired(now):
        return expire(proposal, now=now)
    return _decided(proposal, ProposalStatus.REJECTED, actor, now, reason or None)


def expire(proposal: Proposal, *, now: datetime, reason: str | None = None) -> Proposal:
    """EXPIRED. Without a ``reason`` only a proposal past its expiry may expire; with one
    (the bot stopped, the station restarted) it ends now."""
    _require_pending(proposal, "expired")
    if reason is None:
        if not proposal.is_expired(now):
            raise ConflictError(
                f"proposal {proposal.id} is valid until {proposal.expires_at.isoformat()}"
            )
        reason = f"not decided within {int((proposal.expires_at - proposal.created_at).total_seconds())}s"
    return _decided(proposal, ProposalStatus.EXPIRED, SYSTEM_ACTOR, now, reason)


def auto_approve(
    proposal: Proposal, *, now: datetime, mark: Decimal, rules: ApprovalRules
) -> Proposal | None:
    """AUTO_APPROVED when the trader's rules allow it, else None (it waits for a person)."""
    _require_live(proposal, now, "auto-approved")
    if not rules.allows_auto_approval(proposal.notional, proposal.drift_bps(mark)):
        return None
    reason = _auto_reason(proposal, mark, rules)
    return _decided(proposal, ProposalStatus.AUTO_APPROVED, SYSTEM_ACTOR, now, reason)


def _auto_reason(proposal: Proposal, mark: Decimal, rules: ApprovalRules) -> str:
    parts = []
    if rules.auto_approve_below is not None:
        parts.append(f"value {proposal.notional} below {rules.auto_approve_below}")
    if rules.auto_approve_within_bps is not None:
        drift = proposal.drift_bps(mark).quantize(Decimal("0.1"))
        parts.append(f"drift {drift} bps within {rules.auto_approve_within_bps}")
    return "auto-approved: " + ", ".join(parts)
