"""dca: base order, safety orders at the configured deviations and sizes, a take-profit
that follows the average price, and a new cycle after each take-profit; real candles."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

import pytest

from task_station.domain.errors import ValidationError
from task_station.domain.orders import Order, OrderSide, OrderStatus, OrderType
from task_station.strategies.registry import build_strategy
from tests.strategies.helpers import BTC_1H, backtest, candles, floor12

PARAMS = {
    "base_order": "1000", "safety_order": "1000", "max_safety_orders": 4,
    "deviation": "0.01", "step_scale": "1.5", "volume_scale": "2", "take_profit": "0.01",
}  # fmt: skip
DEVIATIONS = [Decimal("0.01"), Decimal("0.025"), Decimal("0.0475"), Decimal("0.08125")]
HOUR = timedelta(hours=1)


def ceil12(x: Decimal) -> Decimal:
    return x.quantize(Decimal("1e-12"), rounding=ROUND_CEILING)


def split_cycles(orders: list[Order]) -> list[list[Order]]:
    cycles: list[list[Order]] = []
    for o in sorted(orders, key=lambda o: o.created_at):
        if o.type is OrderType.MARKET:
            cycles.append([])
        cycles[-1].append(o)
    return cycles


def test_safety_orders_take_profit_and_cycles(shared_data: Path) -> None:
    bars = candles(shared_data, BTC_1H, 20_000, 1000)
    result = backtest("dca", PARAMS, bars)
    cycles = split_cycles(result.orders)
    assert len(cycles) > 20
    deepest = 0
    for n, cycle in enumerate(cycles):
        base, *rest = cycle
        assert base.side is OrderSide.BUY and base.quote_quantity == Decimal(1000)
        if base.status is not OrderStatus.FILLED:
            assert n == len(cycles) - 1, "only the last base order may still wait"
            continue
        (base_fill,) = base.fills
        safety = [o for o in rest if o.side is OrderSide.BUY]
        tps = [o for o in rest if o.side is OrderSide.SELL]
        # safety orders: placed at the base fill's close, at the cumulative deviations
        assert [o.created_at for o in safety] == [base_fill.ts + HOUR] * 4
        prices = [floor12(base_fill.price * (1 - d)) for d in DEVIATIONS]
        assert [o.price for o in safety] == prices
        quotes = [Decimal(1000) * 2**k for k in range(4)]
        assert [o.quantity for o in safety] == [
            floor12(q / p) for q, p in zip(quotes, prices, strict=True)
        ]
        # a take-profit after every bar with buys, for all that is held, at the average
        # (cost) price * 1.01; a bar can fill a safety order and the take-profit together
        ids = {o.client_order_id for o in cycle}
        fills = [f for f in result.fills if f.client_order_id in ids]
        buy_fills = [f for f in fills if f.side is OrderSide.BUY]
        assert len(tps) == len({f.ts for f in buy_fills})
        for tp in tps:
            held = cost = Decimal(0)
            for f in fills:
                if f.ts >= tp.created_at:
                    break
                if f.side is OrderSide.BUY:
                    held, cost = held + f.quantity, cost + f.price * f.quantity
                else:
                    held, cost = held - f.quantity, cost - cost / held * f.quantity
            assert tp.quantity == held
            assert tp.price == ceil12(cost / held * Decimal("1.01"))
        for old, new in itertools.pairwise(tps):  # replaced, never two at once
            assert old.status in (OrderStatus.CANCELED, OrderStatus.FILLED)
            assert old.updated_at is not None and old.updated_at <= new.created_at
        deepest = max(deepest, sum(o.status is OrderStatus.FILLED for o in safety))
        if tps[-1].status is OrderStatus.FILLED:  # the cycle closed: leftovers canceled
            (tp_fill,) = tps[-1].fills
            sold = sum((f.quantity for f in fills if f.side is OrderSide.SELL), Decimal(0))
            assert sold == sum((f.quantity for f in buy_fills), Decimal(0))
            for o in safety:
                assert o.status in (OrderStatus.FILLED, OrderStatus.CANCELED)
                if o.status is OrderStatus.CANCELED:
                    assert o.updated_at == tp_fill.ts + HOUR
            if n + 1 < len(cycles):
                assert cycles[n + 1][0].created_at == tp_fill.ts + 2 * HOUR
        else:
            assert n == len(cycles) - 1
    assert deepest == 4, "the data reaches the last safety order"


def test_without_restart_there_is_one_cycle(shared_data: Path) -> None:
    bars = candles(shared_data, BTC_1H, 20_000, 600)
    result = backtest("dca", {**PARAMS, "restart": False}, bars)
    cycles = split_cycles(result.orders)
    assert len(cycles) == 1
    assert cycles[0][-1].status is OrderStatus.FILLED and result.final_position == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"deviation": "0.9"}, "'deviation' must be at most 0.5"),
        ({"max_safety_orders": -1}, "'max_safety_orders' must be at least 0"),
        ({"take_profit": "0"}, "'take_profit' must be at least 0.0001"),
        ({"volume_scale": "x"}, "'volume_scale' must be a number"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_strategy("dca", params)
