"""Backtest metrics agree with hand computations written out here.

The expected figures come from plain ``statistics``/``math`` (or literal arithmetic in
the comments), never from the module under test.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from task_station.backtest.metrics import (
    BacktestMetrics,
    compute_metrics,
    max_drawdown,
    monthly_returns,
    position_mask,
    summarize,
    trade_table,
)
from task_station.domain.errors import DataError, ValidationError
from task_station.domain.orders import Fill, OrderSide

DAY = 86_400
T0 = datetime(2024, 1, 1, tzinfo=UTC)
D = Decimal


def closes_ns(n: int, bar_seconds: int, start: datetime = T0) -> np.ndarray:
    """Close times of ``n`` gapless bars opening at ``start`` (int64 ns)."""
    first = int(start.timestamp()) + bar_seconds
    return (first + np.arange(n, dtype=np.int64) * bar_seconds) * 1_000_000_000


def fill(
    n: int, side: OrderSide, qty: str, price: str, fee: str, *, hours: int, symbol: str = "BTC/USDT"
) -> Fill:
    return Fill(
        trade_id=f"t{n}",
        client_order_id=f"o{n}",
        symbol=symbol,
        side=side,
        price=D(price),
        quantity=D(qty),
        fee=D(fee),
        fee_currency="USDT",
        liquidity="taker",
        ts=T0 + timedelta(hours=hours),
    )


BUY, SELL = OrderSide.BUY, OrderSide.SELL


def metrics_of(
    equity: Sequence[float],
    *,
    cash: str = "100",
    prices: Sequence[float] | None = None,
    fills: Sequence[Fill] = (),
    bar_seconds: int = DAY,
    **extra: object,
) -> BacktestMetrics:
    eq = np.array(equity, dtype=np.float64)
    px = np.array(prices if prices is not None else [1.0] * len(eq), dtype=np.float64)
    return compute_metrics(
        equity=eq,
        timestamps=closes_ns(len(eq), bar_seconds),
        prices=px,
        fills=fills,
        starting_cash=D(cash),
        final_equity=D(repr(float(eq[-1]))) if len(eq) else D(cash),
        bar_seconds=bar_seconds,
        **extra,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------ equity statistics

# Daily equity after a start of 100: up 10 %, down 5 %, down ~5.3 %, then a recovery
# past the old peak, a second smaller dip and new highs.
EQUITY = [100.0, 110.0, 104.5, 99.0, 108.0, 118.8, 112.86, 120.0, 126.0]
CURVE = [100.0, *EQUITY]  # the starting cash comes first
RETURNS = [b / a - 1 for a, b in itertools.pairwise(CURVE)]


def test_equity_statistics_match_a_hand_computation() -> None:
    m = metrics_of(EQUITY)
    mean, stdev = statistics.mean(RETURNS), statistics.stdev(RETURNS)
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in RETURNS) / len(RETURNS))
    years = 9 / 365  # nine daily bars
    cagr = 1.26 ** (1 / years) - 1
    assert m.bars == 9
    assert m.total_return == pytest.approx(0.26, rel=1e-12)
    assert m.cagr == pytest.approx(cagr, rel=1e-9)
    assert m.volatility == pytest.approx(stdev * math.sqrt(365), rel=1e-12)
    assert m.sharpe == pytest.approx(mean / stdev * math.sqrt(365), rel=1e-12)
    assert m.sortino == pytest.approx(mean / downside * math.sqrt(365), rel=1e-12)
    # worst fall: 110 -> 99 is 10 %; the later 118.8 -> 112.86 is only 5 %
    assert m.max_drawdown == pytest.approx(0.10, rel=1e-12)
    assert m.calmar == pytest.approx(cagr / 0.10, rel=1e-9)
    # under water from the 110 peak (day 2) until 118.8 (day 6) tops it: 4 bars
    assert m.max_drawdown_bars == 4
    assert m.max_drawdown_duration == timedelta(days=4)


def test_var_and_cvar_are_the_historical_five_percent_tail() -> None:
    m = metrics_of(EQUITY)
    cut = statistics.quantiles(RETURNS, n=20, method="inclusive")[0]
    tail = [r for r in RETURNS if r <= cut]
    assert m.var_95 == pytest.approx(-cut, rel=1e-12)
    assert m.cvar_95 == pytest.approx(-statistics.mean(tail), rel=1e-12)
    assert m.cvar_95 >= m.var_95  # type: ignore[operator]


def test_an_unrecovered_drawdown_lasts_until_the_last_bar() -> None:
    m = metrics_of([100.0, 120.0, 90.0, 100.0, 110.0], bar_seconds=3600)
    assert m.max_drawdown == pytest.approx(0.25)  # 120 -> 90
    assert m.max_drawdown_bars == 3  # peak at bar 2 (curve index), still under at 5
    assert m.max_drawdown_duration == timedelta(hours=3)


def test_annualization_follows_the_bar_length() -> None:
    hourly, daily = metrics_of(EQUITY, bar_seconds=3600), metrics_of(EQUITY)
    assert hourly.periods_per_year == 8760 and daily.periods_per_year == 365
    assert hourly.sharpe == pytest.approx(daily.sharpe * math.sqrt(24))  # type: ignore[operator]


def test_buy_and_hold_alpha_and_beta_of_a_twice_levered_copy() -> None:
    rng = np.random.default_rng(3)
    market = rng.normal(0.0, 0.01, 400)
    prices = 50.0 * np.cumprod(1 + market)
    equity = 1000.0 * np.cumprod(1 + 2 * market)  # every bar twice the market's move
    m = metrics_of(equity.tolist(), cash="1000", prices=prices.tolist(), bar_seconds=3600)
    assert m.beta == pytest.approx(2.0, rel=1e-9)
    assert m.alpha == pytest.approx(0.0, abs=1e-9)
    assert m.buy_and_hold_return == pytest.approx(prices[-1] / prices[0] - 1, rel=1e-12)


def test_alpha_is_the_annualized_intercept() -> None:
    rng = np.random.default_rng(4)
    market = rng.normal(0.0, 0.01, 300)
    prices = 10.0 * np.cumprod(1 + market)
    equity = 500.0 * np.cumprod(1 + 0.0002 + 0.5 * market)
    m = metrics_of(equity.tolist(), cash="500", prices=prices.tolist(), bar_seconds=3600)
    assert m.beta == pytest.approx(0.5, rel=1e-9)
    assert m.alpha == pytest.approx(0.0002 * 8760, rel=1e-6)


def test_monthly_returns_chain_month_end_equity() -> None:
    days = 31 + 29 + 10  # Jan, Feb (leap year) and ten days of March 2024
    equity = np.full(days, 100.0)
    equity[30] = 110.0  # Jan 31 closes at 110
    equity[31:60] = 99.0  # February ends at 99
    equity[60:] = 118.8  # March so far
    opens = closes_ns(days, DAY) - DAY * 1_000_000_000
    months = monthly_returns(opens, equity, starting_cash=100.0)
    assert list(months) == [(2024, 1), (2024, 2), (2024, 3)]
    assert months[(2024, 1)] == pytest.approx(0.10)
    assert months[(2024, 2)] == pytest.approx(99 / 110 - 1)
    assert months[(2024, 3)] == pytest.approx(118.8 / 99 - 1)


# --------------------------------------------------------------------- trades

REASONS = {
    "o1": "sma cross up",
    "o2": "take profit",
    "o3": "sma cross down",
    "o5": "cover",
    "o6": "short signal",
    "o7": "flip long",
    "o8": "stop loss",
}

FILLS = [
    # T1 long, closed in two parts: +44 + 63 - 100 - fees 0.207 = 6.793
    fill(1, BUY, "1", "100", "0.10", hours=0),
    fill(2, SELL, "0.4", "110", "0.044", hours=1),
    fill(3, SELL, "0.6", "105", "0.063", hours=2),
    # T2 short: sold 2 @ 50, bought back @ 45: 100 - 90 - 0.19 = 9.81
    fill(4, SELL, "2", "50", "0.10", hours=3),
    fill(5, BUY, "2", "45", "0.09", hours=4),
    # T3 short 1 @ 60; the flip buys 3 @ 55: 1 closes T3 (fee 0.165 / 3 = 0.055) ...
    fill(6, SELL, "1", "60", "0.06", hours=5),
    fill(7, BUY, "3", "55", "0.165", hours=6),
    # ... and 2 open T4 long (fee 0.110), stopped out @ 50: 100 - 110 - 0.21 = -10.21
    fill(8, SELL, "2", "50", "0.10", hours=7),
    # T5 long scaled in (avg 95), sold @ 92: 184 - 190 - 0.374 = -6.374
    fill(9, BUY, "1", "100", "0.10", hours=8),
    fill(10, BUY, "1", "90", "0.09", hours=9),
    fill(11, SELL, "2", "92", "0.184", hours=10),
    # T6 long still open at the end, marked at 44: 44 - 40 - 0.04 = 3.96
    fill(12, BUY, "1", "40", "0.04", hours=11),
]
CLOSED_PNL = [D("6.793"), D("9.81"), D("4.885"), D("-10.21"), D("-6.374")]


def test_trade_table_books_long_short_partial_exits_flips_and_fees() -> None:
    trades = trade_table(FILLS, REASONS, last_price={"BTC/USDT": D(44)}, bar_seconds=3600)
    assert [t.side for t in trades] == ["long", "short", "short", "long", "long", "long"]
    assert [t.pnl for t in trades] == [*CLOSED_PNL, D("3.96")]
    assert [t.fees for t in trades] == [
        D("0.207"), D("0.19"), D("0.115"), D("0.210"), D("0.374"), D("0.04"),
    ]  # fmt: skip
    assert sum(t.fees for t in trades) == sum(f.fee for f in FILLS)  # no fee lost or doubled
    t1, t2, t3, t4, t5, t6 = trades
    assert (t1.quantity, t1.entry_price, t1.exit_price) == (D(1), D(100), D(107))
    assert (t1.entry_reason, t1.exit_reason, t1.bars_held) == ("sma cross up", "sma cross down", 2)
    assert t1.return_pct == pytest.approx(0.06793)
    assert (t2.entry_reason, t2.exit_reason) == ("signal", "cover")  # o4 gave no reason
    assert t3.exit_ts == t4.entry_ts == T0 + timedelta(hours=6)  # the flip fill
    assert (t3.exit_reason, t4.entry_reason) == ("flip long", "flip long")
    assert (t4.quantity, t4.entry_price, t4.exit_price) == (D(2), D(55), D(50))
    assert (t5.quantity, t5.entry_price, t5.exit_price) == (D(2), D(95), D(92))
    assert t6.is_open and t6.exit_ts is None and t6.exit_price == D(44)
    assert t6.exit_reason == "open at end"


def test_an_unmarked_open_trade_shows_no_unrealized_pnl() -> None:
    [trade] = trade_table(FILLS[-1:])
    assert trade.is_open and trade.exit_price is None
    assert trade.pnl == D("-0.04")  # only its fee


def test_trade_statistics_of_closed_round_trips() -> None:
    equity = [100.0] * 12
    prices = [40.0] * 11 + [44.0]
    m = metrics_of(equity, prices=prices, fills=FILLS, reasons=REASONS, bar_seconds=3600)
    assert (m.round_trips, m.open_trades) == (5, 1)
    assert m.win_rate == pytest.approx(3 / 5)
    gross_win, gross_loss = D("6.793") + D("9.81") + D("4.885"), D("10.21") + D("6.374")
    assert m.profit_factor == pytest.approx(float(gross_win / gross_loss))
    assert m.expectancy == sum(CLOSED_PNL) / 5 == D("0.9808")
    assert m.expectancy_pct == pytest.approx(
        statistics.mean([6.793 / 100, 9.81 / 100, 4.885 / 60, -10.21 / 110, -6.374 / 190])
    )
    assert (m.best_trade, m.worst_trade) == (D("9.81"), D("-10.21"))
    assert (m.max_win_streak, m.max_loss_streak) == (3, 2)  # win win win, loss loss
    assert m.fees_paid == D("1.136")


def test_exposure_and_turnover_come_from_the_fills() -> None:
    # long from bar 1 to bar 3 of 5 daily bars
    fills = [
        fill(1, BUY, "1", "100", "0.1", hours=24),
        fill(2, SELL, "1", "100", "0.1", hours=24 * 4),
    ]
    equity = [1000.0] * 5
    m = metrics_of(equity, cash="1000", fills=fills, slippage=D("0.37"))
    expected = np.array([False, True, True, True, False])
    assert position_mask(fills, closes_ns(5, DAY)).tolist() == expected.tolist()
    assert m.exposure == pytest.approx(3 / 5)
    assert m.turnover == pytest.approx(200 / 1000)
    assert m.slippage_paid == D("0.37")
    given_mask = metrics_of(equity, cash="1000", fills=fills, in_market=~expected)
    assert given_mask.exposure == pytest.approx(2 / 5)  # the caller's mask wins


# ----------------------------------------------------------------- edge cases


def assert_json_clean(m: BacktestMetrics) -> dict[str, object]:
    doc = m.to_json()
    json.dumps(doc, allow_nan=False)  # raises on NaN or inf
    return doc


def test_no_trades_and_flat_equity_give_none_not_nan() -> None:
    m = metrics_of([100.0] * 10)
    doc = assert_json_clean(m)
    assert m.round_trips == 0 and m.win_rate is None and m.profit_factor is None
    assert m.sharpe is None and m.sortino is None and m.calmar is None
    assert m.max_drawdown == 0.0 and m.max_drawdown_bars == 0
    assert doc["expectancy"] is None and doc["fees_paid"] == "0"
    assert m.exposure == 0.0 and m.turnover == 0.0


def test_a_single_bar_is_enough() -> None:
    m = metrics_of([101.0], bar_seconds=60)
    doc = assert_json_clean(m)
    assert m.bars == 1 and m.total_return == pytest.approx(0.01)
    assert m.sharpe is None and m.volatility is None
    assert doc["cagr"] is None  # 1 % a minute compounds past any float


def test_all_winning_trades_have_no_profit_factor_and_no_drawdown_no_calmar() -> None:
    fills = [
        fill(1, BUY, "1", "100", "0", hours=24),
        fill(2, SELL, "1", "110", "0", hours=48),
    ]
    m = metrics_of([100.0, 100.0, 110.0], fills=fills)
    assert_json_clean(m)
    assert m.win_rate == 1.0 and m.profit_factor is None
    assert m.max_drawdown == 0.0 and m.calmar is None
    assert m.sortino is None  # no bar lost anything


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(DataError, match="differ in length"):
        compute_metrics(
            equity=np.ones(3), timestamps=closes_ns(2, DAY), prices=np.ones(3), fills=[],
            starting_cash=D(1), final_equity=D(1), bar_seconds=DAY,
        )  # fmt: skip
    with pytest.raises(ValidationError, match="at least one bar"):
        metrics_of([])
    with pytest.raises(ValidationError, match="bar_seconds"):
        metrics_of([1.0], bar_seconds=0)
    millis = closes_ns(3, DAY) // 1_000_000  # what BarColumns.ts holds
    with pytest.raises(DataError, match="must be int64 nanoseconds"):
        compute_metrics(
            equity=np.ones(3), timestamps=millis, prices=np.ones(3), fills=[],
            starting_cash=D(1), final_equity=D(1), bar_seconds=DAY,
        )  # fmt: skip


def test_summarize_keeps_the_runner_contract() -> None:
    doc = summarize(
        starting_cash=D(100),
        final_equity=D(126),
        equity=[D(repr(x)) for x in EQUITY],
        fills=[],
        bar_seconds=DAY,
        bars_in_market=3,
    )
    json.dumps(doc, allow_nan=False)
    assert doc["max_drawdown"] == pytest.approx(0.10)
    assert isinstance(doc["sharpe"], float) and doc["total_return"] == pytest.approx(0.26)
    assert doc["exposure"] == pytest.approx(3 / 9)
    assert doc["beta"] is None and doc["buy_and_hold_return"] is None  # no prices given


# ------------------------------------------------------------------ properties


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=1e6), min_size=1, max_size=40))
def test_max_drawdown_is_a_fraction_equal_to_the_brute_force(curve: list[float]) -> None:
    brute = max(
        ((curve[i] - curve[j]) / curve[i] for i in range(len(curve)) for j in range(i, len(curve))),
        default=0.0,
    )
    dd = max_drawdown(curve)
    assert 0.0 <= dd <= 1.0
    assert dd == pytest.approx(brute, abs=1e-12)
