"""What the multi-symbol families share: moving a spot book to target weights.

On a spot account a rebalance must sell before it buys: the cash a buy needs is only
there once the sells have filled, and the venue refuses a buy the free cash cannot
cover. ``Rebalancer`` therefore works in two phases: the step that decides new weights
sends the sells (down to each symbol's target), and the first later step on which the
bot has no order working sends the buys (up to target, with the cash now free).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from task_station.domain.money import ZERO
from task_station.strategies.base import StrategyContext


class Rebalancer:
    """Targets (fraction of equity per symbol) reached sells first, buys next."""

    def __init__(self) -> None:
        self.targets: dict[str, Decimal] = {}
        self._buys_due = False

    @property
    def busy(self) -> bool:
        """A rebalance is between its sells and its buys."""
        return self._buys_due

    def rebalance(self, ctx: StrategyContext, targets: Mapping[str, Decimal]) -> None:
        """Aim at ``targets`` (symbols left out go to zero); the sells go now."""
        self.targets = {s: targets.get(s, ZERO) for s in ctx.symbols}
        for symbol, weight in self.targets.items():
            quantity = ctx.position_of(symbol)
            if quantity == ZERO:
                continue  # nothing to sell (and maybe no price yet)
            held = quantity * ctx.price(symbol)
            if held > ctx.equity * weight:
                if weight == ZERO:
                    ctx.target_position(ZERO, symbol=symbol, tag="rebalance out")
                else:
                    ctx.target_percent(weight, symbol=symbol, tag="rebalance")
        self._buys_due = any(w > ZERO for w in self.targets.values())

    def step(self, ctx: StrategyContext) -> None:
        """Call every step: sends the pending buys once nothing is working."""
        if not self._buys_due or ctx.has_open_orders:
            return
        self._buys_due = False
        for symbol, weight in self.targets.items():
            if weight > ZERO:
                ctx.target_percent(weight, symbol=symbol, tag="rebalance")
