"""grid: resting limit orders only at the grid's levels, rebuilt as they fill, and never
more committed than the budget (checked on the book after every bar)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.orders import Order, OrderSide, OrderStatus, OrderType
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.strategies.registry import build_strategy
from tests.strategies.helpers import BTC_1H, candles, floor12, run_runtime

CASH = Decimal(100_000)


def run_grid(
    bars: list[Candle], params: dict[str, object]
) -> tuple[list[Order], list[Decimal], list[Decimal]]:
    """Run the grid; returns its orders, the committed quote and base held after each bar."""
    committed: list[Decimal] = []
    held: list[Decimal] = []

    def probe(book: Portfolio, orders: OrderManager) -> None:
        spent = CASH - book.balance("USDT").total  # net quote paid for what is held
        resting = sum(
            (o.price * (o.quantity or 0) for o in orders.open_orders
             if o.side is OrderSide.BUY and o.price is not None),
            Decimal(0),
        )  # fmt: skip
        committed.append(spent + resting)
        held.append(book.balance("BTC").total)

    store, _ = run_runtime(build_strategy("grid", params), bars, {"USDT": CASH}, probe=probe)
    return sorted(store.list(limit=10**6), key=lambda o: o.created_at), committed, held


def check_grid(orders: list[Order], levels: list[Decimal], sizes: list[Decimal]) -> None:
    """Orders only at levels with the slot's size; slots alternate buy and sell."""
    slot_of_buy = {p: i for i, p in enumerate(levels[:-1])}
    slot_of_sell = {p: i for i, p in enumerate(levels[1:])}
    fills_by_slot: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for o in orders:
        assert o.type is OrderType.LIMIT and o.price is not None
        slots = slot_of_buy if o.side is OrderSide.BUY else slot_of_sell
        assert o.price in slots, f"{o.side} at {o.price} is not a grid level"
        i = slots[o.price]
        if o.side is OrderSide.BUY:
            assert o.quantity == sizes[i]
        else:
            assert o.quantity == sizes[i], "a slot sells exactly what it bought"
        for f in o.fills:  # at the level or better (a bar that opens through it)
            assert f.price <= o.price if o.side is OrderSide.BUY else f.price >= o.price
            fills_by_slot[i].append((f.ts, o.side.value))
    for i, fills in fills_by_slot.items():
        sides = [side for _, side in sorted(fills)]
        assert sides == ["buy", "sell"] * (len(sides) // 2) + ["buy"] * (len(sides) % 2), i


def test_arithmetic_grid_around_the_first_close_stays_within_the_budget(
    shared_data: Path,
) -> None:
    bars = candles(shared_data, BTC_1H, 20_000, 1500)
    budget = Decimal(30_000)
    orders, committed, held = run_grid(bars, {"levels": 9, "budget": str(budget)})
    first = bars[0].close
    lower, upper = first * Decimal("0.9"), first * Decimal("1.1")
    levels = [floor12(lower + (upper - lower) * i / 8) for i in range(9)]
    share = budget / 8 / Decimal("1.002")
    sizes = [floor12(share / p) for p in levels[:-1]]
    check_grid(orders, levels, sizes)
    fills = [f for o in orders for f in o.fills]
    assert sum(f.side is OrderSide.SELL for f in fills) >= 10, "it round-trips"
    assert max(committed) <= budget
    assert max(committed) > budget / 2, "the bound is tight enough to mean something"
    assert max(held) <= sum(sizes)
    # rebuilt as fills happen: each filled buy is followed by its sell at the bar's close
    for o in orders:
        if o.side is OrderSide.BUY and o.status is OrderStatus.FILLED:
            i = levels.index(o.price or Decimal(0))
            close_time = o.fills[-1].ts + timedelta(hours=1)
            assert any(
                s.side is OrderSide.SELL and s.price == levels[i + 1] and s.created_at == close_time
                for s in orders
            )


def test_geometric_grid_has_equal_ratios_and_only_buys_below_the_price(
    shared_data: Path,
) -> None:
    bars = candles(shared_data, BTC_1H, 30_000, 1500)
    lower, upper = Decimal(9000), Decimal(13000)
    params = {"lower": "9000", "upper": "13000", "levels": 12, "spacing": "geometric"}
    orders, committed, _ = run_grid(bars, params)
    ratio = (13000 / 9000) ** (1 / 11)
    levels_f = [9000 * ratio**i for i in range(12)]
    prices = sorted({o.price for o in orders if o.price is not None})
    assert prices, "the grid trades"
    levels = [floor12(Decimal(repr(x))) for x in levels_f]
    # the station computes the levels in Decimal: equal to the float ones within 1e-9
    for p in prices:
        nearest = min(levels, key=lambda level: abs(level - p))
        assert abs(p / nearest - 1) < Decimal("1e-9")
    assert lower <= min(prices) and max(prices) <= upper
    index = {c.ts + timedelta(hours=1): c for c in bars}
    for o in orders:
        if o.side is OrderSide.BUY:
            placed_at = index[o.created_at]
            assert (o.price or 0) < placed_at.close, "buys rest below the market"
    assert max(committed) <= CASH  # budget 0: the whole free balance


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lower": "100"}, "give both lower and upper, or neither"),
        ({"lower": "200", "upper": "100"}, "lower \\(200\\) must be below upper \\(100\\)"),
        ({"spacing": "log"}, "'spacing' must be one of arithmetic, geometric"),
        ({"levels": 1}, "'levels' must be at least 2"),
        ({"budget": "-5"}, "'budget' must be at least 0"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_strategy("grid", params)
