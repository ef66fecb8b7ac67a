"""Momentum rotation: hold the strongest few of a basket, rotate on a schedule.

**Idea.** Over weeks to months, assets that rose most tend to keep outperforming those
that rose least (cross-sectional momentum); an absolute filter keeps the bot in cash
when even the best of the basket is falling (dual momentum).

**Rules.** The bot trades every symbol it is given (its first symbol is the primary).
Every ``rebalance_every`` steps, each symbol with at least ``lookback`` + 1 closes gets
a score: its return over the last ``lookback`` bars, close[t] / close[t - lookback] - 1,
divided by the standard deviation of its bar returns over that window when
``risk_adjusted`` is on. The ``top_n`` best scores above ``min_momentum`` are held,
each at ``invested`` / ``top_n`` of the bot's equity; everything else is sold. Ties go
to the symbol that sorts first. Sells go out on the rebalance step and buys on the
next step with nothing working (spot cash must be freed first); orders fill at the
next bar's open.

**Parameters.** ``lookback`` and ``rebalance_every`` (bars), ``top_n``,
``min_momentum`` (a return: 0 means "only hold what went up"), ``invested``
(fraction of equity), ``risk_adjusted``.

**When it fails.** Momentum crashes: at sharp market turns the past winners fall
hardest, and a monthly schedule reacts late. Turnover costs add up on short
lookbacks; a small basket of highly correlated coins gives little to choose from.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.money import ZERO
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.common import fraction_param, period_param
from task_station.strategies.params import Param
from task_station.strategies.rebalancing import Rebalancer


def momentum_score(closes: list[float], risk_adjusted: bool) -> float:
    """Return over the window (first to last close), optionally per unit of volatility."""
    change = closes[-1] / closes[0] - 1.0
    if not risk_adjusted:
        return change
    returns = [b / a - 1.0 for a, b in itertools.pairwise(closes)]
    mean = sum(returns) / len(returns)
    var = sum((r - mean) ** 2 for r in returns) / max(1, len(returns) - 1)
    return change / math.sqrt(var) if var > 0 else 0.0


class MomentumRotation(Strategy):
    name = "momentum_rotation"
    description = (
        "Hold the top N symbols of a basket by trailing return, re-ranked on a schedule; "
        "cash when none is rising."
    )
    min_symbols = 2
    params = (
        period_param("lookback", 48, "bars of trailing return used to rank the symbols", 2),
        period_param("rebalance_every", 24, "bars between two re-rankings"),
        Param("top_n", int, 1, "how many of the best-ranked symbols are held", 1, 50, step=1),
        Param(
            "min_momentum", Decimal, Decimal(0),
            "a symbol is held only if its score beats this (0: only rising symbols)",
            Decimal(-1), Decimal(10),
        ),
        fraction_param("invested", "0.99", "share of equity held in the chosen symbols", minimum="0.01"),
        Param("risk_adjusted", bool, False, "rank by return per unit of volatility"),
    )  # fmt: skip

    def check_params(self) -> None:
        if not isinstance(self.p["top_n"], int):
            raise ValidationError("momentum_rotation: top_n must be a whole number")

    def on_start(self, ctx: StrategyContext) -> None:
        if len(ctx.symbols) < 2:
            raise ValidationError(
                "momentum_rotation ranks several symbols: give the bot at least two"
            )
        self._steps = 0
        self._rebalancer = Rebalancer()
        #: The symbols chosen at each rebalance, for reports and tests: (time, symbols).
        self.choices: list[tuple[object, tuple[str, ...]]] = []

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        """Unused: the rotation works on whole time steps (``on_bars``)."""

    def on_bars(self, ctx: StrategyContext, bars: Mapping[str, Candle]) -> None:
        self._rebalancer.step(ctx)
        self._steps += 1
        lookback = int(self.p["lookback"])  # type: ignore[arg-type]
        if self._steps < lookback + 1 or (self._steps - lookback - 1) % int(
            self.p["rebalance_every"]  # type: ignore[arg-type]
        ):
            return
        if ctx.has_open_orders:
            return  # the previous rotation is still filling; rank again next time
        winners = self.rank(ctx)
        self.choices.append((ctx.now, winners))
        invested = self.p["invested"]
        assert isinstance(invested, Decimal)
        weight = (invested / len(winners)) if winners else ZERO
        self._rebalancer.rebalance(ctx, {s: weight for s in winners})

    def rank(self, ctx: StrategyContext) -> tuple[str, ...]:
        """The symbols to hold now, best first."""
        lookback = int(self.p["lookback"])  # type: ignore[arg-type]
        floor = float(self.p["min_momentum"])  # type: ignore[arg-type]
        scored = []
        for symbol in ctx.symbols:
            history = ctx.history(lookback + 1, symbol)
            if len(history) < lookback + 1:
                continue
            closes = [float(c.close) for c in history]
            score = momentum_score(closes, bool(self.p["risk_adjusted"]))
            if score > floor:
                scored.append((-score, symbol))
        scored.sort()
        return tuple(symbol for _, symbol in scored[: int(self.p["top_n"])])  # type: ignore[arg-type]
