"""EIP-1559 fee choice with a hard ceiling the trader sets."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from task_station.domain.errors import ValidationError

GWEI = 10**9


@dataclass(frozen=True, slots=True)
class GasPolicy:
    """How much a swap may pay for gas.

    ``max_fee_gwei`` is the ceiling: a swap is refused, not sent, when the base fee alone
    is above it. ``priority_fee_gwei`` None asks the node (``eth_maxPriorityFeePerGas``).
    The max fee leaves room for the base fee to double in the next block, as wallets do.
    """

    max_fee_gwei: Decimal = Decimal(200)
    priority_fee_gwei: Decimal | None = None
    base_fee_multiplier: int = 2
    gas_limit_margin: Decimal = Decimal("1.25")

    def __post_init__(self) -> None:
        if self.max_fee_gwei <= 0:
            raise ValidationError("the maximum gas price must be positive")
        if self.priority_fee_gwei is not None and self.priority_fee_gwei < 0:
            raise ValidationError("the priority fee cannot be negative")
        if self.base_fee_multiplier < 1:
            raise ValidationError("the base fee multiplier must be at least 1")

    @property
    def max_fee_wei(self) -> int:
        return int(self.max_fee_gwei * GWEI)


@dataclass(frozen=True, slots=True)
class FeeQuote:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


def choose_fees(policy: GasPolicy, base_fee: int, node_tip: int) -> FeeQuote:
    """The fees for the next transaction, or ``ValidationError`` if gas is too dear."""
    cap = policy.max_fee_wei
    if base_fee > cap:
        raise ValidationError(
            f"gas is too expensive: base fee {Decimal(base_fee) / GWEI:.3f} gwei is above "
            f"your maximum of {policy.max_fee_gwei} gwei; raise it or wait"
        )
    tip = node_tip if policy.priority_fee_gwei is None else int(policy.priority_fee_gwei * GWEI)
    max_fee = min(base_fee * policy.base_fee_multiplier + tip, cap)
    return FeeQuote(max_fee_per_gas=max_fee, max_priority_fee_per_gas=min(tip, max_fee))
