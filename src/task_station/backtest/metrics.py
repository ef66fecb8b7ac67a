"""Risk and performance metrics of a backtest.

Money figures stay ``Decimal``; ratios (Sharpe, drawdown) are floats because they are
statistics, not amounts.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from task_station.domain.money import ZERO
from task_station.domain.orders import Fill, OrderSide


@dataclass(frozen=True, slots=True)
class RoundTrip:
    entry_ts: str
    exit_ts: str
    quantity: Decimal
    entry_cost: Decimal  # quote paid, fees included
    exit_proceeds: Decimal  # quote received, fees deducted

    @property
    def pnl(self) -> Decimal:
        return self.exit_proceeds - self.entry_cost


def round_trips(fills: Sequence[Fill]) -> list[RoundTrip]:
    """Pair long entries with the sells that close them (flat -> long -> flat)."""
    trips: list[RoundTrip] = []
    qty = cost = ZERO
    entry_ts = ""
    proceeds = ZERO
    for f in fills:
        if f.side is OrderSide.BUY:
            if qty == ZERO:
                entry_ts, proceeds = f.ts.isoformat(), ZERO
            qty += f.quantity
            cost += f.notional + f.fee
        else:
            proceeds += f.notional - f.fee
            qty -= f.quantity
            if qty <= ZERO:
                trips.append(RoundTrip(entry_ts, f.ts.isoformat(), f.quantity, cost, proceeds))
                qty = cost = ZERO
    return trips


def max_drawdown(equity: Sequence[Decimal]) -> float:
    """Largest peak-to-trough fall as a fraction of the peak (0.25 = 25 %)."""
    peak = ZERO
    worst = 0.0
    for value in equity:
        peak = max(peak, value)
        if peak > ZERO:
            worst = max(worst, float((peak - value) / peak))
    return worst


def _returns(equity: Sequence[Decimal]) -> list[float]:
    return [float(b / a - 1) for a, b in itertools.pairwise(equity) if a > ZERO]


def sharpe(equity: Sequence[Decimal], periods_per_year: float) -> float:
    rets = _returns(equity)
    if len(rets) < 2:
        return 0.0
    mean = sum(rets) / len(rets)
    var = sum((r - mean) ** 2 for r in rets) / (len(rets) - 1)
    return 0.0 if var == 0 else mean / math.sqrt(var) * math.sqrt(periods_per_year)


def sortino(equity: Sequence[Decimal], periods_per_year: float) -> float:
    rets = _returns(equity)
    if len(rets) < 2:
        return 0.0
    mean = sum(rets) / len(rets)
    downside = [min(0.0, r) ** 2 for r in rets]
    dd = math.sqrt(sum(downside) / len(rets))
    return 0.0 if dd == 0 else mean / dd * math.sqrt(periods_per_year)


def summarize(
    *,
    starting_cash: Decimal,
    final_equity: Decimal,
    equity: Sequence[Decimal],
    fills: Sequence[Fill],
    bar_seconds: int,
    bars_in_market: int,
) -> dict[str, object]:
    """The metrics block of a backtest result (JSON-ready: Decimals as strings)."""
    trips = round_trips(fills)
    wins = [t for t in trips if t.pnl > ZERO]
    gross_win = sum((t.pnl for t in wins), ZERO)
    gross_loss = -sum((t.pnl for t in trips if t.pnl < ZERO), ZERO)
    periods = 365 * 24 * 3600 / bar_seconds
    total_return = (final_equity / starting_cash - 1) if starting_cash > ZERO else ZERO
    return {
        "total_return": str(total_return),
        "max_drawdown": max_drawdown(equity),
        "sharpe": sharpe(equity, periods),
        "sortino": sortino(equity, periods),
        "round_trips": len(trips),
        "win_rate": (len(wins) / len(trips)) if trips else 0.0,
        "profit_factor": (float(gross_win / gross_loss) if gross_loss > ZERO else None),
        "fees_paid": str(sum((f.fee for f in fills), ZERO)),
        "exposure": (bars_in_market / len(equity)) if equity else 0.0,
    }
