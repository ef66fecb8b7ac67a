"""Pairs trading (statistical arbitrage) on a spot account: hold the cheap leg.

**Idea.** Two assets that move together (BTC and ETH, two coins of one sector) keep a
fairly stable relation between their log prices. When that spread stretches far from
its recent mean, it tends to come back; the leg that lagged is cheap relative to the
other.

**Rules.** With A the bot's first symbol and B its second, over the last ``lookback``
closes: beta = cov(ln A, ln B) / var(ln B) (least squares), the spread
s = ln A - beta ln B, and z = (s[t] - mean(s)) / std(s) (sample standard deviation,
all over the same window, the current bar included). Then:

- z <= -``entry_z``: A is cheap against B: hold A with ``invested`` of equity;
- z >= ``entry_z``: B is cheap against A: hold B;
- |z| <= ``exit_z``: the spread came back: go flat;
- |z| >= ``stop_z`` (when not 0): the relation may have broken: go flat and stay out
  until |z| falls back below ``entry_z``.

A switch from one leg to the other sells first and buys on the next step with nothing
working. Orders fill at the next bar's open.

**Spot, not market neutral.** The textbook trade is long the cheap leg *and short* the
dear one, which needs margin or perpetuals. On a spot account this family expresses
the same view long-only: it holds the cheap leg, so it keeps the market exposure of
that leg. The bot's P&L is therefore not hedged against a fall of both.

**Parameters.** ``lookback`` (bars), ``entry_z``, ``exit_z``, ``stop_z`` (0: off),
``invested`` (fraction of equity).

**When it fails.** When the relation itself changes (a coin's own news, a depeg), the
spread trends instead of reverting; the stop only limits how long the bot believes in a
broken pair. A hedge ratio fitted on a short window is noisy.
"""

from __future__ import annotations

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


def spread_zscore(a: list[float], b: list[float]) -> tuple[float, float] | None:
    """(z, beta) of the log spread over the window; None when it is degenerate."""
    la = [math.log(x) for x in a]
    lb = [math.log(x) for x in b]
    n = len(la)
    ma, mb = sum(la) / n, sum(lb) / n
    var_b = sum((x - mb) ** 2 for x in lb)
    if var_b <= 0:
        return None
    beta = sum((x - ma) * (y - mb) for x, y in zip(la, lb, strict=True)) / var_b
    spread = [x - beta * y for x, y in zip(la, lb, strict=True)]
    mean = sum(spread) / n
    var = sum((s - mean) ** 2 for s in spread) / (n - 1)
    if var <= 0:
        return None
    return (spread[-1] - mean) / math.sqrt(var), beta


class PairsTrading(Strategy):
    name = "pairs_trading"
    description = (
        "Statistical arbitrage on two related symbols: when their log-price spread "
        "stretches, hold the leg that lagged until the spread reverts."
    )
    min_symbols = 2
    params = (
        period_param("lookback", 120, "bars used to fit the hedge ratio and the spread's mean", 10),
        Param("entry_z", Decimal, Decimal(2), "z-score that opens a position", Decimal("0.1"), Decimal(10)),
        Param("exit_z", Decimal, Decimal("0.5"), "z-score inside which the position is closed", ZERO, Decimal(10)),
        Param("stop_z", Decimal, Decimal(4), "z-score beyond which the pair is abandoned (0: off)", ZERO, Decimal(20)),
        fraction_param("invested", "0.99", "share of equity put into the cheap leg", minimum="0.01"),
    )  # fmt: skip

    def check_params(self) -> None:
        entry, exit_, stop = self.p["entry_z"], self.p["exit_z"], self.p["stop_z"]
        assert isinstance(entry, Decimal) and isinstance(exit_, Decimal)
        assert isinstance(stop, Decimal)
        if exit_ >= entry:
            raise ValidationError(
                f"pairs_trading: exit_z ({exit_}) must be smaller than entry_z ({entry})"
            )
        if stop and stop <= entry:
            raise ValidationError(
                f"pairs_trading: stop_z ({stop}) must be 0 (off) or above entry_z ({entry})"
            )

    def on_start(self, ctx: StrategyContext) -> None:
        if len(ctx.symbols) != 2:
            raise ValidationError(
                f"pairs_trading trades exactly two symbols; this bot has {len(ctx.symbols)}"
            )
        self._rebalancer = Rebalancer()
        self._leg: str | None = None
        self._stopped_out = False
        #: Every change of position, for reports and tests: (time, z, the leg held after
        #: it or None, why: "entry", "exit", "stop" or "after stop").
        self.decisions: list[tuple[object, float, str | None, str]] = []

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        """Unused: a pair needs both legs' bars (``on_bars``)."""

    def on_bars(self, ctx: StrategyContext, bars: Mapping[str, Candle]) -> None:
        self._rebalancer.step(ctx)
        a, b = ctx.symbols
        if a not in bars or b not in bars:
            return  # one leg did not trade this step: no fresh spread
        n = int(self.p["lookback"])  # type: ignore[arg-type]
        ha, hb = ctx.history(n, a), ctx.history(n, b)
        if len(ha) < n or len(hb) < n or ha[-1].ts != hb[-1].ts:
            return
        fitted = spread_zscore([float(c.close) for c in ha], [float(c.close) for c in hb])
        if fitted is None:
            return
        z = fitted[0]
        leg, why = self._decide(z, a, b)
        if leg == self._leg or ctx.has_open_orders:
            return
        self._leg = leg
        self.decisions.append((ctx.now, z, leg, why))
        invested = self.p["invested"]
        assert isinstance(invested, Decimal)
        self._rebalancer.rebalance(ctx, {} if leg is None else {leg: invested})

    def _decide(self, z: float, a: str, b: str) -> tuple[str | None, str]:
        entry = float(self.p["entry_z"])  # type: ignore[arg-type]
        exit_ = float(self.p["exit_z"])  # type: ignore[arg-type]
        stop = float(self.p["stop_z"])  # type: ignore[arg-type]
        if self._stopped_out:
            if abs(z) >= entry:
                return None, "after stop"
            self._stopped_out = False
        if stop and abs(z) >= stop:
            self._stopped_out = True
            return None, "stop"
        if z <= -entry:
            return a, "entry"
        if z >= entry:
            return b, "entry"
        if abs(z) <= exit_:
            return None, "exit"
        return self._leg, "hold"  # between exit and entry: keep what is held
