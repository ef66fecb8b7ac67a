"""Bollinger reversion, long only: buy a close below the lower band, sell on the way back.

**Idea.** In a range-bound market a close below the lower Bollinger band is an
overreaction that tends to revert toward the average.

**Rules.** Bands: SMA(close, ``period``) ± ``k`` population standard deviations. A flat
bot that sees close < lower buys with ``fraction`` of its free quote balance; a long bot
sells everything when the close gets back above the middle band (``exit_at=middle``)
or above the upper band (``exit_at=upper``). Orders fill at the next bar's open.

**Parameters.** ``period``, ``k``, ``exit_at`` (middle or upper), ``fraction``.

**When it fails.** In a crash or a downtrend the price walks down the lower band: the
bot buys early and, without a stop, holds the loss until the price comes back.
"""

from __future__ import annotations

from task_station.domain.candles import Candle
from task_station.strategies.base import StrategyContext
from task_station.strategies.bollinger_breakout import band_params
from task_station.strategies.common import FRACTION, LongOnlySignal, choice
from task_station.strategies.params import Param
from task_station.strategies.ta import BollingerBands

EXITS = ("middle", "upper")


class BollingerReversion(LongOnlySignal):
    name = "bollinger_reversion"
    description = "Buy a close below the lower Bollinger band; sell back at the middle band."
    params = (
        *band_params(),
        Param("exit_at", str, "middle", "sell when the close is back above: middle or upper"),
        FRACTION,
    )

    def check_params(self) -> None:
        choice(self.name, "exit_at", self.p["exit_at"], EXITS)

    def on_start(self, ctx: StrategyContext) -> None:
        self._bands = BollingerBands(self.integer("period"), self.dec("k"))

    def signal(self, candle: Candle) -> int:
        self._bands.update(candle.close)
        if not self._bands.ready:
            return 0
        close = float(candle.close)
        target = self._bands.middle if self.p["exit_at"] == "middle" else self._bands.upper
        return 1 if close < self._bands.lower else -1 if close > target else 0
