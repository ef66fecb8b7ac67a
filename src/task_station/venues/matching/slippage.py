"""Slippage models: how much worse than the quoted price a taker fill lands.

Each model is a small class so a backtest names its assumption explicitly. Only taker
fills slip; a limit order's price is never exceeded (the engine caps it).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from task_station.domain.money import BPS, ZERO


@dataclass(frozen=True, slots=True)
class SlipContext:
    """What a model may look at: the fill, the bar's volume and the book's spread."""

    side: int  # +1 buy, -1 sell
    price: Decimal
    quantity: Decimal
    bar_volume: Decimal | None = None
    spread: Decimal | None = None


class SlippageModel(Protocol):
    def slipped_price(self, ctx: SlipContext) -> Decimal:
        """The execution price after slippage (worse for the taker, never better)."""
        ...


class NoSlippage:
    """Fill exactly at the quoted price (the v1 paper venue's behaviour)."""

    def slipped_price(self, ctx: SlipContext) -> Decimal:
        return ctx.price


@dataclass(frozen=True, slots=True)
class FixedBps:
    """A constant cost in basis points, e.g. to stand in for an average spread."""

    bps: Decimal

    def slipped_price(self, ctx: SlipContext) -> Decimal:
        return ctx.price * (1 + ctx.side * self.bps / BPS)


@dataclass(frozen=True, slots=True)
class SpreadBased:
    """Cross ``fraction`` of the spread; ``fallback_bps`` stands in when no book is known."""

    fraction: Decimal = Decimal("0.5")
    fallback_bps: Decimal = Decimal(2)

    def slipped_price(self, ctx: SlipContext) -> Decimal:
        if ctx.spread is not None:
            return ctx.price + ctx.side * ctx.spread * self.fraction
        return ctx.price * (1 + ctx.side * self.fallback_bps * self.fraction / BPS)


@dataclass(frozen=True, slots=True)
class SquareRootImpact:
    """Impact grows with the square root of participation: ``k * sqrt(qty / volume)``.

    The classic empirical law for large orders; a bar without volume costs ``max_bps``.
    """

    coefficient: Decimal = Decimal("0.1")
    max_bps: Decimal = Decimal(100)

    def slipped_price(self, ctx: SlipContext) -> Decimal:
        cap = self.max_bps / BPS
        if ctx.bar_volume is None or ctx.bar_volume <= ZERO:
            impact = cap
        else:
            impact = min(cap, self.coefficient * (ctx.quantity / ctx.bar_volume).sqrt())
        return ctx.price * (1 + ctx.side * impact)


NO_SLIPPAGE = NoSlippage()
