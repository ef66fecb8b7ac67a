"""Market making after Avellaneda and Stoikov: quote both sides around a reservation
price that leans against the inventory.

**Idea.** A market maker earns the spread by resting a bid below and an ask above the
mid price, but each fill leaves it holding inventory that the market can move against.
Avellaneda and Stoikov (2008) derive where a risk-averse maker should quote: around a
*reservation price* shifted away from the inventory it holds, with a spread that
grows with volatility and with how rarely orders far from the mid get filled.

**Rules** (prices measured relative to the mid s = the bar's close, so the parameters
do not depend on the asset's price level):
- sigma^2: the variance of the last ``vol_window`` one-bar log returns; tau =
  ``horizon_bars``; q = (base held) / ``order_size`` - ``target_inventory`` (lots).
- Reservation price r = s * (1 - q * gamma * sigma^2 * tau): long inventory lowers
  both quotes (sell sooner, buy later); short of target raises them.
- Spread delta = s * (gamma * sigma^2 * tau + (2 / gamma) * ln(1 + gamma / kappa)),
  at least ``min_spread`` of s; bid = r - delta/2, ask = r + delta/2, and neither may
  cross the mid (a post-only order would be refused).
- Each bar every quote is canceled and fresh post-only limits of ``order_size`` base
  are placed: the bid while q < ``max_inventory`` and the cash pays for it, the ask
  while there is base to sell (spot: never short).

**Parameters.** ``gamma`` (risk aversion), ``kappa`` (order-book liquidity: the fill
rate decays as exp(-kappa * distance)), ``vol_window``, ``horizon_bars``,
``order_size`` (base per quote), ``target_inventory`` and ``max_inventory`` (lots),
``min_spread`` (fraction).

**When it fails.** Trends: the maker keeps buying into a falling market (or selling out
of a rising one) and the inventory loss exceeds the spreads earned; a volatility
estimate from past bars is late when the market suddenly moves. On candles, a quote
fills whenever the next bar trades through it, which flatters the fill rate.
"""

from __future__ import annotations

import math
from collections import deque
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.money import ZERO
from task_station.domain.orders import OrderSide
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.common import period_param, round_price, round_size, to_decimal
from task_station.strategies.params import Param


def reservation_and_spread(
    mid: float, q: float, variance: float, tau: float, gamma: float, kappa: float
) -> tuple[float, float]:
    """Avellaneda-Stoikov reservation price and optimal total spread, in price units."""
    reservation = mid * (1 - q * gamma * variance * tau)
    spread = mid * (gamma * variance * tau + (2 / gamma) * math.log(1 + gamma / kappa))
    return reservation, spread


class MarketMaking(Strategy):
    name = "market_making"
    description = (
        "Avellaneda-Stoikov quotes: post-only bid and ask around an inventory-skewed price."
    )
    params = (
        Param("gamma", Decimal, Decimal(10), "risk aversion: how hard inventory skews the quotes",
              minimum=Decimal("0.0001"), maximum=Decimal(1_000_000)),
        Param("kappa", Decimal, Decimal(1000), "liquidity: higher means tighter optimal spreads",
              minimum=Decimal("0.0001"), maximum=Decimal(1_000_000_000)),
        period_param("vol_window", 50, "one-bar returns in the volatility estimate", minimum=2),
        period_param("horizon_bars", 1, "bars of risk the inventory is held for (tau)"),
        Param("order_size", Decimal, Decimal("0.01"), "base quantity of each quote (one lot)",
              minimum=Decimal(0)),
        Param("target_inventory", Decimal, Decimal(0), "inventory the quotes lean toward, in lots",
              minimum=Decimal(0)),
        Param("max_inventory", Decimal, Decimal(5), "stop bidding at this inventory, in lots",
              minimum=Decimal(0)),
        Param("min_spread", Decimal, Decimal("0.001"), "narrowest bid-ask spread, fraction of mid",
              minimum=Decimal(0), maximum=Decimal("0.5")),
    )  # fmt: skip

    def _dec(self, name: str) -> Decimal:
        value = self.p[name]
        assert isinstance(value, Decimal)
        return value

    def on_start(self, ctx: StrategyContext) -> None:
        window, horizon = self.p["vol_window"], self.p["horizon_bars"]
        assert isinstance(window, int) and isinstance(horizon, int)
        self._returns: deque[float] = deque(maxlen=window)
        self._prev: float | None = None
        self._tau = float(horizon)

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        mid = float(candle.close)
        if self._prev is not None and self._prev > 0 and mid > 0:
            self._returns.append(math.log(mid / self._prev))
        self._prev = mid
        ctx.cancel_all()  # refresh: the last bar's quotes are stale
        if len(self._returns) < (self._returns.maxlen or 0):
            return
        n = len(self._returns)
        mean = math.fsum(self._returns) / n
        variance = math.fsum((r - mean) ** 2 for r in self._returns) / n
        lot = self._dec("order_size")
        if lot <= ZERO:
            return
        q = float(ctx.position / lot - self._dec("target_inventory"))
        r, spread = reservation_and_spread(
            mid, q, variance, self._tau, float(self._dec("gamma")), float(self._dec("kappa"))
        )
        half = max(spread, mid * float(self._dec("min_spread"))) / 2
        edge = mid * float(self._dec("min_spread")) / 2  # nearest a quote may come to mid
        bid_f, ask_f = min(r - half, mid - edge), max(r + half, mid + edge)
        inst = ctx.instrument
        if bid_f > 0 and q < float(self._dec("max_inventory")):
            bid = round_price(inst, to_decimal(bid_f))
            if ZERO < bid < candle.close and ctx.cash >= lot * bid * Decimal("1.01"):
                ctx.limit(OrderSide.BUY, lot, bid, post_only=True, tag="quote bid")
        sell = round_size(inst, min(lot, ctx.position))
        ask = round_price(inst, to_decimal(ask_f), up=True)
        if sell > ZERO and ask > candle.close:
            ctx.limit(OrderSide.SELL, sell, ask, post_only=True, tag="quote ask")
