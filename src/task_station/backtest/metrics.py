"""Risk and performance metrics of a backtest, and its round-trip trade table.

Money (P&L, fees, trade prices) stays ``Decimal``; statistics (returns, ratios,
volatility) are floats because they are estimates, not amounts. Every function here is
pure: arrays and fills in, values out.

The equity *curve* the statistics read is the starting cash followed by the equity at
each bar's close, so a backtest of ``n`` bars has ``n`` per-bar returns and a fall on the
very first bar (fees of an opening trade) counts as drawdown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal, TypedDict

import numpy as np
import numpy.typing as npt

from task_station.domain.errors import DataError, ValidationError
from task_station.domain.money import ZERO
from task_station.domain.orders import Fill

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
TradeSide = Literal["long", "short"]

SECONDS_PER_YEAR = 365 * 24 * 3600  # crypto trades every day of the year
DEFAULT_REASON = "signal"
OPEN_REASON = "open at end"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_REASONS: Mapping[str, str] = {}


# --------------------------------------------------------------------------- trades


@dataclass(frozen=True, slots=True)
class Trade:
    """One round trip: a position that goes flat -> long -> flat or flat -> short -> flat.

    A fill that flips the position closes this trade and opens the next one with the
    rest of its quantity (its fee is shared pro rata). ``exit_ts`` is None for a trade
    still open at the end; its remainder is then valued at the mark price.
    """

    symbol: str
    side: TradeSide
    entry_ts: datetime
    exit_ts: datetime | None
    quantity: Decimal  # the largest size held
    entry_price: Decimal  # average price of every entry fill
    exit_price: Decimal | None  # average exit price (open remainder at the mark)
    pnl: Decimal  # net of every fee of the trade, in quote
    return_pct: float  # pnl / entry notional (0.05 = 5 %)
    fees: Decimal
    bars_held: int | None
    entry_reason: str
    exit_reason: str

    @property
    def is_open(self) -> bool:
        return self.exit_ts is None


@dataclass(slots=True)
class _Building:
    """A trade being assembled from fills (mutable, private)."""

    symbol: str
    sign: int  # +1 long, -1 short
    entry_ts: datetime
    entry_reason: str
    held: Decimal = ZERO
    max_held: Decimal = ZERO
    entry_qty: Decimal = ZERO
    entry_notional: Decimal = ZERO
    exit_qty: Decimal = ZERO
    exit_notional: Decimal = ZERO
    fees: Decimal = ZERO
    exit_ts: datetime | None = None
    exit_reason: str = OPEN_REASON

    def enter(self, qty: Decimal, price: Decimal, fee: Decimal) -> None:
        self.held += qty
        self.max_held = max(self.max_held, self.held)
        self.entry_qty += qty
        self.entry_notional += qty * price
        self.fees += fee

    def leave(self, qty: Decimal, price: Decimal, fee: Decimal, ts: datetime, why: str) -> None:
        self.held -= qty
        self.exit_qty += qty
        self.exit_notional += qty * price
        self.fees += fee
        self.exit_ts, self.exit_reason = ts, why

    def finish(
        self, mark: Decimal | None, bar_seconds: int | None, as_of: datetime | None
    ) -> Trade:
        is_open = self.held > ZERO
        entry_price = self.entry_notional / self.entry_qty
        marked = self.held * mark if mark is not None else ZERO
        valued = self.exit_qty + (self.held if mark is not None else ZERO)
        exit_price = (self.exit_notional + marked) / valued if valued else None
        # unmarked, the open remainder is worth what it cost: no unrealized P&L
        exit_value = self.exit_notional + (marked if mark is not None else self.held * entry_price)
        pnl = self.sign * (exit_value - self.entry_notional) - self.fees
        end = as_of if is_open else self.exit_ts
        return Trade(
            symbol=self.symbol,
            side="long" if self.sign > 0 else "short",
            entry_ts=self.entry_ts,
            exit_ts=None if is_open else self.exit_ts,
            quantity=self.max_held,
            entry_price=entry_price,
            exit_price=exit_price,
            pnl=pnl,
            return_pct=float(pnl / self.entry_notional) if self.entry_notional else 0.0,
            fees=self.fees,
            bars_held=_bars_between(self.entry_ts, end, bar_seconds),
            entry_reason=self.entry_reason,
            exit_reason=OPEN_REASON if is_open else self.exit_reason,
        )


def _bars_between(start: datetime, end: datetime | None, bar_seconds: int | None) -> int | None:
    if end is None or not bar_seconds:
        return None
    return round((end - start).total_seconds() / bar_seconds)


def trade_table(
    fills: Sequence[Fill],
    reasons: Mapping[str, str] = _NO_REASONS,
    *,
    last_price: Mapping[str, Decimal] | None = None,
    bar_seconds: int | None = None,
    as_of: datetime | None = None,
) -> list[Trade]:
    """Group fills (oldest first) into round trips, long and short, per symbol.

    Parameters
    ----------
    reasons
        Why each order was sent, by client order id; a missing one reads ``"signal"``.
    last_price
        Mark price per symbol for a trade still open at the end. Without one the open
        remainder is valued at its entry price (no unrealized P&L) and ``exit_price``
        covers only what was actually closed.
    bar_seconds, as_of
        Give ``bars_held``: closed trades need ``bar_seconds``; open ones also ``as_of``
        (the end of the backtest).
    """
    marks = last_price or {}
    building: dict[str, _Building] = {}
    done: list[Trade] = []
    for fill in fills:
        why = reasons.get(fill.client_order_id, DEFAULT_REASON)
        closed = _apply(fill, why, building)
        if closed is not None:
            done.append(closed.finish(None, bar_seconds, None))
    for trade in building.values():
        done.append(trade.finish(marks.get(trade.symbol), bar_seconds, as_of))
    done.sort(key=lambda t: t.entry_ts)  # stable: same-instant trades keep fill order
    return done


def _apply(fill: Fill, why: str, building: dict[str, _Building]) -> _Building | None:
    """Book one fill; return the trade it closed, if any (a flip also opens the next)."""
    if fill.quantity <= ZERO:
        raise DataError(f"fill {fill.trade_id} of {fill.symbol} has quantity {fill.quantity}")
    sign, rest, closed, exit_fee = fill.side.sign, fill.quantity, None, ZERO
    current = building.get(fill.symbol)
    if current is not None and current.sign != sign:
        closing = min(rest, current.held)
        exit_fee = fill.fee * closing / fill.quantity
        current.leave(closing, fill.price, exit_fee, fill.ts, why)
        rest -= closing
        if current.held == ZERO:
            closed = building.pop(fill.symbol)
            current = None
    if rest > ZERO:
        if current is None:
            current = building[fill.symbol] = _Building(fill.symbol, sign, fill.ts, why)
        current.enter(rest, fill.price, fill.fee - exit_fee)  # the shares sum to the fee
    return closed


# ----------------------------------------------------------------------- statistics


def periods_per_year(bar_seconds: int) -> float:
    """Bars in a year of round-the-clock trading: the annualization factor."""
    if bar_seconds <= 0:
        raise ValidationError(f"bar_seconds must be positive, got {bar_seconds}")
    return SECONDS_PER_YEAR / bar_seconds


def simple_returns(curve: FloatArray) -> FloatArray:
    """Per-step simple returns ``c[i] / c[i-1] - 1``; 0 after a non-positive value."""
    prev, cur = curve[:-1], curve[1:]
    out = np.zeros(len(cur), dtype=np.float64)
    np.divide(cur, prev, out=out, where=prev > 0)
    return np.where(prev > 0, out - 1.0, 0.0)


def drawdown_series(curve: FloatArray) -> FloatArray:
    """Fall below the running peak as a fraction of that peak at each step (0 at a peak)."""
    peak = np.maximum.accumulate(curve)
    ratio = np.ones(len(curve), dtype=np.float64)
    np.divide(curve, peak, out=ratio, where=peak > 0)
    return np.where(peak > 0, 1.0 - ratio, 0.0)


def max_drawdown(curve: Sequence[float] | Sequence[Decimal] | FloatArray) -> float:
    """Largest peak-to-trough fall as a fraction of the peak (0.25 = 25 %)."""
    values = np.fromiter((float(x) for x in curve), np.float64)
    return float(drawdown_series(values).max()) if len(values) else 0.0


def longest_drawdown(curve: FloatArray) -> tuple[int, int]:
    """Indices (peak, end) of the longest underwater stretch: from the peak it fell
    from to the first step back at that peak, or to the last step if it never came back.
    (0, 0) when the curve never falls below a peak."""
    under = np.concatenate([[False], curve < np.maximum.accumulate(curve), [False]])
    edges = np.flatnonzero(np.diff(under.astype(np.int8)))
    if len(edges) == 0:
        return 0, 0
    starts, stops = edges[0::2], edges[1::2]  # underwater steps are [start, stop)
    peaks, ends = starts - 1, np.minimum(stops, len(curve) - 1)
    k = int(np.argmax(ends - peaks))
    return int(peaks[k]), int(ends[k])


def sharpe(returns: FloatArray, periods: float) -> float | None:
    """Annualized Sharpe ratio (risk-free rate 0); None when the volatility is 0."""
    if len(returns) < 2:
        return None
    std = float(np.std(returns, ddof=1))
    return float(np.mean(returns)) / std * math.sqrt(periods) if std > 0 else None


def sortino(returns: FloatArray, periods: float) -> float | None:
    """Annualized Sortino ratio; None when no step lost anything."""
    if len(returns) == 0:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    return float(np.mean(returns)) / downside * math.sqrt(periods) if downside > 0 else None


def value_at_risk(returns: FloatArray, level: float = 0.95) -> tuple[float, float] | None:
    """Historical (VaR, CVaR) of per-step returns at ``level``, as positive losses."""
    if len(returns) == 0:
        return None
    cut = float(np.quantile(returns, 1.0 - level))  # linear interpolation
    return -cut, -float(np.mean(returns[returns <= cut]))


def alpha_beta(
    returns: FloatArray, market: FloatArray, periods: float
) -> tuple[float, float] | None:
    """Least-squares (annualized alpha, beta) of ``returns`` on ``market`` returns."""
    if len(returns) < 2 or float(np.var(market)) == 0.0:
        return None
    m_mean, r_mean = float(np.mean(market)), float(np.mean(returns))
    beta = float(np.mean((market - m_mean) * (returns - r_mean))) / float(np.var(market))
    return (r_mean - beta * m_mean) * periods, beta


def cagr(total_growth: float, years: float) -> float | None:
    """Compound annual growth rate of a growth factor (final / start) over ``years``."""
    if years <= 0:
        return None
    if total_growth <= 0:
        return -1.0
    try:
        return math.exp(math.log(total_growth) / years) - 1.0
    except OverflowError:
        return math.inf


def monthly_returns(
    timestamps: npt.NDArray[np.int64], equity: FloatArray, starting_cash: float
) -> dict[tuple[int, int], float]:
    """Return of every calendar month (UTC) in range, keyed by (year, month).

    A month's return is its last bar's equity over the previous month's last bar's (the
    starting cash for the first month), minus one. ``timestamps`` are int64 ns.
    """
    if len(equity) == 0:
        return {}
    months = timestamps.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    last = np.append(np.flatnonzero(months[1:] != months[:-1]), len(months) - 1)
    ends = equity[last]
    bases = np.concatenate([[starting_cash], ends[:-1]])
    rets = simple_returns(np.concatenate([bases[:1], ends]))
    return {
        (1970 + int(m) // 12, int(m) % 12 + 1): float(r)
        for m, r in zip(months[last].tolist(), rets.tolist(), strict=True)
    }


def position_mask(fills: Sequence[Fill], close_ns: npt.NDArray[np.int64]) -> BoolArray:
    """Whether a position was held at each bar's close, from the fills alone.

    A fill belongs to the first bar that closes after it (a fill at a bar's open, the
    previous close, lands in that bar).
    """
    n = len(close_ns)
    delta = np.zeros(n, dtype=np.float64)
    if fills:
        at = np.searchsorted(close_ns, [_to_ns(f.ts) for f in fills], side="right")
        for j, f in zip(np.clip(at, 0, n - 1).tolist(), fills, strict=True):
            delta[j] += float(f.side.sign * f.quantity)
    held = np.cumsum(delta)
    return np.abs(held) > 1e-12


def _to_ns(ts: datetime) -> int:
    return (ts - _EPOCH) // timedelta(microseconds=1) * 1000


def _streaks(pnls: Sequence[Decimal]) -> tuple[int, int]:
    """Longest runs of winning and of losing trades (a break-even trade ends both)."""
    best_win = best_loss = win = loss = 0
    for pnl in pnls:
        win = win + 1 if pnl > ZERO else 0
        loss = loss + 1 if pnl < ZERO else 0
        best_win, best_loss = max(best_win, win), max(best_loss, loss)
    return best_win, best_loss


# -------------------------------------------------------------------------- metrics


@dataclass(frozen=True, slots=True)
class BacktestMetrics:
    """The figures a trader reads to judge a backtest.

    ``r`` below is the per-bar simple return of the equity curve (starting cash, then
    the equity at each bar's close) and ``P`` the periods per year. A ratio that is
    undefined for the run (no volatility, no loss, no trade) is None, never NaN.
    """

    bars: int
    """Number of bars replayed."""
    periods_per_year: float
    """Annualization factor ``P = 365 * 24 * 3600 / bar_seconds`` (crypto never closes)."""
    starting_cash: Decimal
    final_equity: Decimal
    net_profit: Decimal
    """``final_equity - starting_cash``, in quote."""
    total_return: float
    """``final_equity / starting_cash - 1``: what the run made, with no time scaling."""
    cagr: float | None
    """Compound annual growth ``(final / start) ** (1 / years) - 1``, years from the
    first bar's open to the last bar's close: compares runs of different lengths."""
    volatility: float | None
    """Annualized volatility ``std(r, ddof=1) * sqrt(P)``: how bumpy the ride is."""
    sharpe: float | None
    """``mean(r) / std(r, ddof=1) * sqrt(P)`` (risk-free rate 0): return per unit of
    total risk; None when the equity never moved."""
    sortino: float | None
    """``mean(r) / sqrt(mean(min(r, 0) ** 2)) * sqrt(P)``: like Sharpe but only losing
    bars count as risk, so upside swings are not punished; None when no bar lost."""
    calmar: float | None
    """``cagr / max_drawdown``: yearly growth per unit of the worst fall; None without a
    drawdown."""
    max_drawdown: float
    """Largest fall from a running peak, ``max(1 - equity / peak)`` (0.25 = 25 %): the
    pain a trader must sit through."""
    max_drawdown_bars: int
    """Longest peak-to-recovery span in bars (to the end when never recovered)."""
    max_drawdown_duration: timedelta
    """The same span as time: how long the capital stayed under water."""
    var_95: float | None
    """Historical value at risk: ``-quantile(r, 0.05)`` (linear interpolation), the bar
    loss exceeded on only one bar in twenty (negative when even that bar gained)."""
    cvar_95: float | None
    """Expected shortfall: ``-mean(r[r <= quantile(r, 0.05)])``, the average loss of
    those worst bars: what the tail actually costs."""
    round_trips: int
    """Closed trades (flat -> long/short -> flat); the trade figures below use these."""
    open_trades: int
    """Trades still open at the end (marked to the last close in the trade table)."""
    win_rate: float | None
    """Share of closed trades with a positive net P&L."""
    profit_factor: float | None
    """``gross profit / gross loss`` of closed trades; above 1 the winners pay for the
    losers. None when no trade lost (or none closed)."""
    expectancy: Decimal | None
    """Mean net P&L of a closed trade, in quote: what one more trade is worth."""
    expectancy_pct: float | None
    """Mean ``return_pct`` of a closed trade (P&L over entry notional)."""
    best_trade: Decimal | None
    """Net P&L of the best closed trade, in quote."""
    worst_trade: Decimal | None
    """Net P&L of the worst closed trade, in quote."""
    max_win_streak: int
    """Longest run of consecutive winning trades (a break-even trade ends a run)."""
    max_loss_streak: int
    """Longest run of consecutive losing trades: sizes the bankroll a trader needs."""
    exposure: float
    """Share of bars that closed with a non-zero position: time the capital was at risk."""
    turnover: float | None
    """``sum(|fill notional|) / mean(equity)``: how many times the book was traded over
    (a fee and slippage multiplier); None when the mean equity is not positive."""
    fees_paid: Decimal
    """Sum of every fill's fee, in quote."""
    slippage_paid: Decimal
    """Cost of filling away from the reference price, as the venue's model reported it."""
    buy_and_hold_return: float | None
    """``last close / first close - 1`` of the traded instrument: the lazy alternative."""
    alpha: float | None
    """Intercept of the least-squares fit of per-bar strategy returns on per-bar
    close-to-close price returns, times ``P``: return not explained by the market."""
    beta: float | None
    """Slope of that fit, ``cov(r, m) / var(m)``: 1 moves like holding the coin, 0 is
    market-neutral, 2 is twice as sensitive."""

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict: Decimals as strings, time spans as seconds, no NaN or inf
        (undefined or infinite figures are None)."""
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def compute_metrics(
    *,
    equity: FloatArray,
    timestamps: npt.NDArray[np.int64],
    prices: FloatArray,
    fills: Sequence[Fill],
    starting_cash: Decimal,
    final_equity: Decimal,
    bar_seconds: int,
    in_market: BoolArray | None = None,
    reasons: Mapping[str, str] = _NO_REASONS,
    slippage: Decimal = ZERO,
) -> BacktestMetrics:
    """Every metric of one instrument's backtest.

    Parameters
    ----------
    equity, timestamps, prices
        Per bar: the equity at the close (float64), the close time (int64 ns UTC) and
        the traded instrument's close (float64); the same length, at least one bar.
    fills
        The run's fills, oldest first (for the trade table, fees and turnover).
    in_market
        Whether a position was held at each close; derived from the fills when None.
    reasons
        Why each order was sent, by client order id (see ``trade_table``).
    slippage
        Slippage paid in quote, as the venue's model measured it (only reported).
    """
    n = _check_lengths(equity, timestamps, prices)
    periods = periods_per_year(bar_seconds)
    require_nanoseconds(timestamps, bar_seconds)
    start = float(starting_cash)
    curve = np.concatenate([[start], equity.astype(np.float64)])
    returns = simple_returns(curve)
    growth = float(final_equity / starting_cash) if starting_cash > ZERO else 0.0
    years = (int(timestamps[-1]) - int(timestamps[0])) / 1e9 / SECONDS_PER_YEAR
    years += bar_seconds / SECONDS_PER_YEAR
    annual = cagr(growth, years)
    drawdown = float(drawdown_series(curve).max())
    peak, end = longest_drawdown(curve)
    tail = value_at_risk(returns)
    held = in_market if in_market is not None else position_mask(fills, timestamps)
    market = alpha_beta(simple_returns(equity), simple_returns(prices), periods)
    std = float(np.std(returns, ddof=1)) if len(returns) > 1 else None
    trades = _trades_for(fills, reasons, prices, bar_seconds, timestamps)
    return BacktestMetrics(
        bars=n,
        periods_per_year=periods,
        starting_cash=starting_cash,
        final_equity=final_equity,
        net_profit=final_equity - starting_cash,
        total_return=growth - 1.0,
        cagr=annual,
        volatility=None if std is None else std * math.sqrt(periods),
        sharpe=sharpe(returns, periods),
        sortino=sortino(returns, periods),
        calmar=annual / drawdown if annual is not None and drawdown > 0 else None,
        max_drawdown=drawdown,
        max_drawdown_bars=end - peak,
        max_drawdown_duration=timedelta(seconds=(end - peak) * bar_seconds),
        var_95=None if tail is None else tail[0],
        cvar_95=None if tail is None else tail[1],
        exposure=float(np.mean(held)),
        turnover=_turnover(fills, curve),
        fees_paid=sum((f.fee for f in fills), ZERO),
        slippage_paid=slippage,
        buy_and_hold_return=_buy_and_hold(prices),
        alpha=None if market is None else market[0],
        beta=None if market is None else market[1],
        **_trade_stats(trades),
    )


def _check_lengths(
    equity: FloatArray, timestamps: npt.NDArray[np.int64], prices: FloatArray
) -> int:
    n = len(equity)
    if n == 0:
        raise ValidationError("metrics need at least one bar of equity")
    if len(timestamps) != n or len(prices) != n:
        raise DataError(
            f"metrics inputs differ in length: {n} equity values, "
            f"{len(timestamps)} timestamps, {len(prices)} prices"
        )
    return n


def require_nanoseconds(timestamps: npt.NDArray[np.int64], bar_seconds: int) -> None:
    """Refuse bar times that cannot be nanoseconds (``BarColumns.ts`` is milliseconds).

    Gaps only stretch the span, so a span shorter than a hundredth of what the bars
    need means the unit is wrong.
    """
    n = len(timestamps)
    if n >= 2 and bar_seconds > 0:
        span = int(timestamps[-1]) - int(timestamps[0])
        if span * 100 < (n - 1) * bar_seconds * 1_000_000_000:
            raise DataError(
                f"{n} bars of {bar_seconds} s span only {span} timestamp units: bar times "
                "must be int64 nanoseconds (multiply milliseconds by 1_000_000)"
            )


def _trades_for(
    fills: Sequence[Fill],
    reasons: Mapping[str, str],
    prices: FloatArray,
    bar_seconds: int,
    timestamps: npt.NDArray[np.int64],
) -> list[Trade]:
    symbols = {f.symbol for f in fills}
    # the prices are one instrument's: they can mark only a single-symbol book
    mark = {s: Decimal(repr(float(prices[-1]))) for s in symbols} if len(symbols) == 1 else {}
    as_of = _EPOCH + timedelta(microseconds=int(timestamps[-1]) // 1000)
    return trade_table(fills, reasons, last_price=mark, bar_seconds=bar_seconds, as_of=as_of)


def _turnover(fills: Sequence[Fill], curve: FloatArray) -> float | None:
    mean = float(np.mean(curve))
    traded = sum((abs(f.notional) for f in fills), ZERO)
    return float(traded) / mean if mean > 0 else None


def _buy_and_hold(prices: FloatArray) -> float | None:
    first, last = float(prices[0]), float(prices[-1])
    return last / first - 1.0 if first > 0 else None


class _TradeStats(TypedDict):
    round_trips: int
    open_trades: int
    win_rate: float | None
    profit_factor: float | None
    expectancy: Decimal | None
    expectancy_pct: float | None
    best_trade: Decimal | None
    worst_trade: Decimal | None
    max_win_streak: int
    max_loss_streak: int


def _trade_stats(trades: Sequence[Trade]) -> _TradeStats:
    closed = [t for t in trades if not t.is_open]
    pnls = [t.pnl for t in closed]
    gross_win = sum((p for p in pnls if p > ZERO), ZERO)
    gross_loss = -sum((p for p in pnls if p < ZERO), ZERO)
    wins, losses = _streaks(pnls)
    count = len(closed)
    return {
        "round_trips": count,
        "open_trades": len(trades) - count,
        "win_rate": sum(p > ZERO for p in pnls) / count if count else None,
        "profit_factor": float(gross_win / gross_loss) if gross_loss > ZERO else None,
        "expectancy": sum(pnls, ZERO) / count if count else None,
        "expectancy_pct": math.fsum(t.return_pct for t in closed) / count if count else None,
        "best_trade": max(pnls) if pnls else None,
        "worst_trade": min(pnls) if pnls else None,
        "max_win_streak": wins,
        "max_loss_streak": losses,
    }


def summarize(
    *,
    starting_cash: Decimal,
    final_equity: Decimal,
    equity: Sequence[Decimal] | FloatArray,
    fills: Sequence[Fill],
    bar_seconds: int,
    bars_in_market: int | None = None,
    timestamps: npt.NDArray[np.int64] | None = None,
    prices: FloatArray | None = None,
    in_market: BoolArray | None = None,
    reasons: Mapping[str, str] = _NO_REASONS,
    slippage: Decimal = ZERO,
) -> dict[str, object]:
    """The metrics block of a backtest result, JSON-ready (``compute_metrics().to_json()``).

    Without ``timestamps`` the bars are taken as gapless, ``bar_seconds`` apart; without
    ``prices`` the market figures (buy and hold, alpha, beta) are None. Exposure comes
    from ``in_market``, else ``bars_in_market``, else the fills against ``timestamps``.
    """
    curve = np.fromiter((float(x) for x in equity), np.float64)
    n = len(curve)
    if timestamps is None:
        if in_market is None and bars_in_market is None:
            raise ValidationError(
                "summarize needs timestamps, in_market or bars_in_market to measure exposure"
            )
        timestamps = np.arange(1, n + 1, dtype=np.int64) * (bar_seconds * 1_000_000_000)
    metrics = compute_metrics(
        equity=curve,
        timestamps=timestamps,
        prices=prices if prices is not None else np.ones(n, dtype=np.float64),
        fills=fills,
        starting_cash=starting_cash,
        final_equity=final_equity,
        bar_seconds=bar_seconds,
        in_market=in_market,
        reasons=reasons,
        slippage=slippage,
    )
    if in_market is None and bars_in_market is not None:
        metrics = replace(metrics, exposure=bars_in_market / n if n else 0.0)
    if prices is None:
        metrics = replace(metrics, buy_and_hold_return=None, alpha=None, beta=None)
    return metrics.to_json()
