"""Parameter sweeps: every row is the run it names, on one core or many."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from task_station.backtest.metrics import drawdown_series, periods_per_year, sharpe, simple_returns
from task_station.backtest.runner import BacktestConfig, run_backtest_sync
from task_station.backtest.sweep import (
    EVENT_DRIVEN,
    VECTORIZED,
    SweepCancelled,
    SweepRow,
    expand_grid,
    rank,
    risk_figures,
    sweep,
)
from task_station.backtest.vectorized import Bars, run_vectorized
from task_station.domain.errors import TaskStationError, ValidationError
from task_station.domain.instruments import Instrument
from task_station.marketdata.candle_files import frame_to_candles, read_frame

GRID = {"fast": [5, 10, 20], "slow": [10, 30, 50]}  # (10, 10) and (20, 10) are invalid


@pytest.fixture(scope="module")
def bars(shared_data: Path) -> Bars:
    frame = read_frame(shared_data / "candles/binance/ETH_USDT-1h.parquet").iloc[:8_000]
    return Bars.from_frame(frame)


def test_every_row_is_run_vectorized_for_its_combination(bars: Bars) -> None:
    rows = sweep("sma_cross", GRID, bars, cash=10_000, fee=0.001, processes=1)
    assert len(rows) == 9
    for row in rows:
        if row.error is not None:
            continue
        result = run_vectorized("sma_cross", row.params, bars, cash=10_000, fee=0.001)
        drawdown, ratio = risk_figures(10_000.0, result.equity, bars.timeframe)
        assert row == SweepRow(
            row.params,
            final_equity=result.final_equity,
            total_return=result.final_equity / 10_000 - 1,
            trade_count=result.trade_count,
            max_drawdown=drawdown,
            sharpe=ratio,
            engine=VECTORIZED,
        )
    returns = [r.total_return for r in rows if r.total_return is not None]
    assert returns == sorted(returns, reverse=True)


def test_invalid_combinations_are_error_rows_ranked_last(bars: Bars) -> None:
    rows = sweep("sma_cross", GRID, bars, cash=10_000, fee=0, processes=1)
    errors = [r for r in rows if r.error is not None]
    assert [r.params for r in errors] == [{"fast": 10, "slow": 10}, {"fast": 20, "slow": 10}]
    assert all("must be smaller than slow" in (r.error or "") for r in errors)
    assert rows[-2:] == errors and errors[0].final_equity is None


def test_many_processes_give_the_single_process_result(bars: Bars) -> None:
    calls: list[tuple[int, int]] = []
    grid = [{"fast": f, "slow": s} for f in (3, 5, 8, 13) for s in (21, 34, 55)]
    one = sweep("sma_cross", grid, bars, cash=10_000, fee=0.001, processes=1)
    many = sweep("sma_cross", grid, bars, cash=10_000, fee=0.001, processes=2,
                 progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert many == one
    assert calls[-1] == (12, 12) and [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_progress_reaches_the_total_counting_invalid_combinations(bars: Bars) -> None:
    calls: list[tuple[int, int]] = []
    sweep("ema_cross", GRID, bars, cash=10_000, fee=0, processes=1,
          progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls[0][0] >= 2 and calls[-1] == (9, 9)


@pytest.mark.parametrize("processes", [1, 2])
def test_should_stop_cancels_the_sweep(bars: Bars, processes: int) -> None:
    calls: list[int] = []
    grid = {"fast": list(range(2, 12)), "slow": list(range(40, 120, 10))}
    with pytest.raises(SweepCancelled, match="cancelled") as caught:
        sweep("sma_cross", grid, bars, cash=10_000, fee=0, processes=processes,
              progress=lambda done, total: calls.append(done),
              should_stop=lambda: len(calls) >= 1)  # fmt: skip
    assert isinstance(caught.value, TaskStationError)
    assert len(calls) >= 1 and calls[-1] < 80


def test_families_without_a_vectorized_form_run_event_driven_in_the_workers(
    bars: Bars, shared_data: Path
) -> None:
    frame = read_frame(shared_data / "candles/bitstamp/BTC_USD-1d.parquet").iloc[:600]
    daily = Bars.from_frame(frame)
    grid = {"entry_period": [20, 30], "exit_period": [10, 25]}
    rows = sweep("donchian_breakout", grid, daily, cash=10_000, fee=0.001, processes=2)
    ran = [r for r in rows if r.error is None]
    assert len(ran) == 3 and all(r.engine == EVENT_DRIVEN for r in rows)
    for row in ran:
        result = run_backtest_sync(BacktestConfig(
            strategy="donchian_breakout", params=row.params, candles=frame_to_candles(frame),
            instrument=Instrument.from_symbol("BTC/USD"), timeframe="1d",
            cash=Decimal(10_000), maker_fee=Decimal("0.001"), taker_fee=Decimal("0.001"),
        ))  # fmt: skip
        assert row.final_equity == float(result.final_equity)
        assert row.trade_count == result.trade_count > 0


def test_rows_rank_by_the_chosen_metric(bars: Bars) -> None:
    by_drawdown = sweep("sma_cross", GRID, bars, cash=10_000, fee=0, sort_by="max_drawdown",
                        processes=1)  # fmt: skip
    drawdowns = [r.max_drawdown for r in by_drawdown if r.max_drawdown is not None]
    assert drawdowns == sorted(drawdowns)
    shuffled = list(reversed(by_drawdown))
    assert rank(shuffled, "max_drawdown")[:7] == by_drawdown[:7]


def test_risk_figures_match_backtest_metrics() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 2, 50, 5_000):
        equity = 1_000 * np.cumprod(1 + rng.normal(0, 0.01, n), dtype=np.float64)
        equity[n // 3 : n // 2] = equity[n // 3]
        curve = np.concatenate(([1_000.0], equity))
        drawdown, ratio = risk_figures(1_000.0, equity, "1h")
        assert drawdown == float(drawdown_series(curve).max())
        expected = sharpe(simple_returns(curve), periods_per_year(3600))
        assert ratio == (None if expected is None else pytest.approx(expected, rel=1e-9))


@pytest.mark.parametrize(
    ("strategy", "grid", "kwargs", "message"),
    [
        ("no_such_strategy", {"fast": [1]}, {}, "unknown strategy"),
        ("sma_cross", {"fast": 5}, {}, "must be lists"),
        ("sma_cross", {"fast": []}, {}, "no combinations"),
        ("sma_cross", {"fast": [5]}, {"sort_by": "luck"}, "cannot rank"),
        ("sma_cross", {"fast": [5]}, {"processes": 0}, "at least 1"),
        ("sma_cross", {"fast": [5]}, {"cash": 0}, "cash must be positive"),
        ("sma_cross", {"fast": [5]}, {"fee": "0.5%"}, "not a number"),
    ],
)
def test_bad_sweeps_are_refused(
    bars: Bars, strategy: str, grid: dict[str, object], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        sweep(strategy, grid, bars, **{"cash": 10_000, "fee": 0, **kwargs})  # type: ignore[arg-type]


def test_expand_grid_takes_a_product_or_a_list() -> None:
    assert expand_grid({"a": [1, 2], "b": ["x"]}) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
    assert expand_grid([{"a": 1}, {"a": 3}]) == [{"a": 1}, {"a": 3}]
