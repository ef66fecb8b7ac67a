"""A backtest states its fill assumptions (slippage, latency, volume cap), reports what
they cost, and its result feeds the report with the trade table's reasons."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.backtest.report import write_report
from task_station.backtest.runner import BacktestConfig, BacktestResult, run_backtest_sync
from task_station.domain.bar_columns import BarColumns
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.orders import OrderSide
from task_station.marketdata.candle_files import read_frame


@pytest.fixture(scope="module")
def bars(shared_data: Path) -> BarColumns:
    return BarColumns.from_frame(
        read_frame(shared_data / "candles/binance/BTC_USDT-1h.parquet").iloc[:3000]
    )


def run(bars: BarColumns, **options: object) -> BacktestResult:
    return run_backtest_sync(
        BacktestConfig(
            strategy="sma_cross",
            params={"fast": 10, "slow": 30},
            candles=(),
            bars=bars,
            instrument=Instrument.from_symbol("BTC/USDT"),
            timeframe="1h",
            cash=Decimal(100_000),
            **options,  # type: ignore[arg-type]
        )
    )


def bar_at(bars: BarColumns, when: object) -> int:
    return next(i for i in range(len(bars)) if bars.time(i) == when)


def test_slippage_moves_every_taker_fill_against_the_trader_and_is_counted(
    bars: BarColumns,
) -> None:
    plain, slipped = run(bars), run(bars, slippage_bps=Decimal(10))
    assert len(plain.fills) == len(slipped.fills) > 10
    paid = Decimal(0)
    for fill in slipped.fills:
        reference = bars.exact("open", bar_at(bars, fill.ts))
        if fill.side is OrderSide.BUY:
            assert fill.price > reference
        else:
            assert fill.price < reference
        assert abs(fill.price - reference) <= reference * Decimal("0.001") + Decimal("0.01")
        paid += abs(fill.price - reference) * fill.quantity
    assert slipped.slippage_paid == paid
    assert slipped.metrics["slippage_paid"] == str(paid)
    assert plain.slippage_paid == 0
    assert slipped.final_equity < plain.final_equity


def test_latency_delays_the_first_possible_fill(bars: BarColumns) -> None:
    """An order asked at bar t's close reaches the venue ``latency`` later and trades in
    the first bar that opens after it arrived: never mid-bar, at a price it could not
    have known."""
    plain = run(bars)
    for latency, bars_later in ((timedelta(minutes=30), 1), (timedelta(minutes=90), 2)):
        late = run(bars, latency=latency)
        assert late.orders[0].created_at == plain.orders[0].created_at
        assert late.fills[0].ts - plain.fills[0].ts == timedelta(hours=bars_later)


def test_a_volume_cap_fills_big_orders_over_several_bars(bars: BarColumns) -> None:
    capped = run(bars, volume_participation=Decimal("0.0001"))
    per_order: dict[str, int] = {}
    for fill in capped.fills:
        per_order[fill.client_order_id] = per_order.get(fill.client_order_id, 0) + 1
    assert max(per_order.values()) > 1


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("slippage_bps", Decimal(-1), "slippage must be 0 to 10000 bps"),
        ("latency", timedelta(seconds=-1), "latency cannot be negative"),
        ("volume_participation", Decimal(0), "volume participation is a fraction"),
        ("warmup", -3, "warm-up must be 0 or more bars"),
    ],
)
def test_impossible_assumptions_are_refused(
    bars: BarColumns, option: str, value: object, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        run(bars, **{option: value})


def test_the_result_feeds_a_report_with_entry_and_exit_reasons(
    bars: BarColumns, tmp_path: Path
) -> None:
    result = run(bars, taker_fee=Decimal("0.001"), maker_fee=Decimal("0.001"))
    trades = result.trades()
    assert trades and {t.entry_reason for t in trades} == {"sma cross up"}
    assert {t.exit_reason for t in trades if t.exit_ts is not None} == {"sma cross down"}
    closed_pnl = sum((t.pnl for t in trades), Decimal(0))
    # every trade is a round trip of the whole book: their P&L is the equity change
    assert abs(closed_pnl - (result.final_equity - result.config.cash)) < Decimal("1e-6")
    files = write_report(result.report_data(), tmp_path / "sma.html")
    html = files[0].read_text()
    assert "sma cross up" in html and "BTC/USDT" in html
    assert result.to_json()["round_trips"][0]["entry_reason"] == "sma cross up"  # type: ignore[index]
