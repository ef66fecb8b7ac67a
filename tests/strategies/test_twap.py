"""twap: the parent quantity in equal market slices, evenly spaced, done within the horizon."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from task_station.domain.errors import ValidationError
from task_station.domain.orders import OrderSide
from task_station.strategies.registry import build_strategy
from tests.strategies.helpers import BTC_1H, backtest, bar_index, candles, floor12, run_runtime


@pytest.mark.parametrize(
    ("quantity", "horizon", "slices", "send_bars"),
    [("3", 10, 4, [0, 2, 5, 7]), ("2", 6, 6, [0, 1, 2, 3, 4, 5]), ("1", 24, 1, [0])],
)
def test_buys_the_parent_in_equal_slices_within_the_horizon(
    shared_data: Path, quantity: str, horizon: int, slices: int, send_bars: list[int]
) -> None:
    bars = candles(shared_data, BTC_1H, 45_000, 60)
    params = {"quantity": quantity, "horizon_bars": horizon, "slices": slices}
    result = backtest("twap", params, bars)
    index = bar_index(bars)
    fills = result.fills
    assert [index[f.ts] for f in fills] == [b + 1 for b in send_bars], "fills at the next open"
    assert all(f.side is OrderSide.BUY and f.price == bars[index[f.ts]].open for f in fills)
    piece = floor12(Decimal(quantity) / slices)
    assert [f.quantity for f in fills] == [piece] * (slices - 1) + [
        Decimal(quantity) - piece * (slices - 1)
    ]
    assert fills[-1].quantity - piece < Decimal("1e-11"), "equal up to the last lot"
    assert sum(f.quantity for f in fills) == Decimal(quantity) == result.final_position
    assert max(index[f.ts] for f in fills) <= horizon


def test_uneven_split_puts_the_rounding_remainder_in_the_last_slice(shared_data: Path) -> None:
    bars = candles(shared_data, BTC_1H, 45_000, 20)
    result = backtest("twap", {"quantity": "1", "horizon_bars": 3, "slices": 3}, bars)
    third = Decimal("0.333333333333")
    assert [f.quantity for f in result.fills] == [third, third, Decimal(1) - 2 * third]


def test_sells_a_holding(shared_data: Path) -> None:
    bars = candles(shared_data, BTC_1H, 45_000, 20)
    strategy = build_strategy(
        "twap", {"side": "sell", "quantity": "2", "horizon_bars": 8, "slices": 4}
    )
    store, book = run_runtime(strategy, bars, {"USDT": Decimal(0), "BTC": Decimal(2)})
    fills = store.list_fills()
    assert [f.side for f in fills] == [OrderSide.SELL] * 4
    assert [f.quantity for f in fills] == [Decimal("0.5")] * 4
    assert book.balance("BTC").total == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"slices": 11}, "slices \\(11\\) cannot exceed horizon_bars \\(10\\)"),
        ({"quantity": "0"}, "quantity must be positive"),
        ({"side": "hold"}, "'side' must be one of buy, sell"),
        ({"horizon_bars": 0}, "'horizon_bars' must be at least 1"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_strategy("twap", params)
