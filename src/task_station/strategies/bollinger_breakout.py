"""Bollinger breakout, long only: buy a close above the upper band, exit at the middle.

**Idea.** Bollinger Bands sit ``k`` standard deviations around a simple moving
average. A close above the upper band is an unusually strong move; in trending markets
such volatility expansions tend to continue.

**Rules.** Bands: SMA(close, ``period``) ± ``k`` population standard deviations of the
same closes. A flat bot that sees close > upper buys with ``fraction`` of its free
quote balance; a long bot that sees close < middle (the SMA) sells everything. Orders
fill at the next bar's open.

**Parameters.** ``period`` (bars), ``k`` (band width in standard deviations),
``fraction``.

**When it fails.** False breakouts: in a range, a spike through the band reverses at
once and the bot buys the top; ``bollinger_reversion`` bets on exactly that instead.
"""

from __future__ import annotations

from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.strategies.base import StrategyContext
from task_station.strategies.common import FRACTION, LongOnlySignal, period_param
from task_station.strategies.params import Param
from task_station.strategies.ta import BollingerBands


def band_params() -> tuple[Param, Param]:
    return (
        period_param("period", 20, "bars in the moving average and deviation", minimum=2),
        Param(
            "k", Decimal, Decimal(2), "band width in standard deviations",
            minimum=Decimal("0.1"), maximum=Decimal(10), step=Decimal("0.1"),
        ),
    )  # fmt: skip


class BollingerBreakout(LongOnlySignal):
    name = "bollinger_breakout"
    description = "Buy a close above the upper Bollinger band; sell a close below the middle."
    params = (*band_params(), FRACTION)

    def on_start(self, ctx: StrategyContext) -> None:
        self._bands = BollingerBands(self.integer("period"), self.dec("k"))

    def signal(self, candle: Candle) -> int:
        self._bands.update(candle.close)
        if not self._bands.ready:
            return 0
        close = float(candle.close)
        return 1 if close > self._bands.upper else -1 if close < self._bands.middle else 0
