"""The bot runtime: signals fill on the next bar; a failing strategy pauses only its bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from task_station.domain.candles import Candle
from task_station.domain.clock import ManualClock
from task_station.domain.errors import StrategyError
from task_station.domain.instruments import Instrument
from task_station.engine.bus import EventBus
from task_station.engine.feeds import ReplayFeed
from task_station.engine.memory import MemoryOrderStore
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.runtime import BotRuntime
from task_station.strategies.base import Strategy, StrategyContext
from task_station.venues.paper import PaperVenue

T0 = datetime(2024, 1, 1, tzinfo=UTC)
INST = Instrument.from_symbol("BTC/USDT")


def bars(n: int) -> list[Candle]:
    return [
        Candle(
            T0 + timedelta(hours=i),
            Decimal(100 + i),
            Decimal(101 + i),
            Decimal(99 + i),
            Decimal(100 + i),
            Decimal(1),
        )
        for i in range(n)
    ]


class BuyOnSecondBar(Strategy):
    name = "buy_second"

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        if candle.ts == T0 + timedelta(hours=1):
            ctx.buy(quantity=Decimal("1"))


class Explodes(Strategy):
    name = "explodes"

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        raise ZeroDivisionError("oops")


def runtime(strategy: Strategy, n: int, store: MemoryOrderStore) -> BotRuntime:
    clock = ManualClock(T0)
    bus = EventBus()
    venue = PaperVenue(INST, {"USDT": Decimal("1000")}, clock)
    portfolio = Portfolio("b", "USDT", {"USDT": Decimal("1000")})
    orders = OrderManager(venue=venue, store=store, portfolio=portfolio, bus=bus, clock=clock)
    return BotRuntime(
        bot_id="b", strategy=strategy, instrument=INST, timeframe="1h", feed=ReplayFeed(bars(n)),
        venue=venue, orders=orders, portfolio=portfolio, bus=bus, clock=clock,
    )  # fmt: skip


async def test_signal_on_bar_t_fills_at_open_of_bar_t_plus_one() -> None:
    store = MemoryOrderStore()
    await runtime(BuyOnSecondBar(), 5, store).run()
    (fill,) = store.list_fills()
    assert fill.price == Decimal(102)  # bar 2's open
    assert fill.ts == T0 + timedelta(hours=2)


async def test_signal_on_last_bar_never_fills_and_is_canceled_at_the_end() -> None:
    from task_station.domain.orders import OrderStatus

    store = MemoryOrderStore()
    await runtime(BuyOnSecondBar(), 2, store).run()
    assert store.list_fills() == []
    assert [o.status for o in store.list()] == [OrderStatus.CANCELED]


async def test_strategy_failing_repeatedly_raises_strategy_error_with_advice() -> None:
    with pytest.raises(StrategyError, match="3 times in a row.*ZeroDivisionError"):
        await runtime(Explodes(), 10, MemoryOrderStore()).run()


async def test_fast_forward_replays_early_bars_unpaced() -> None:
    import time

    feed = ReplayFeed(bars(30), pace=0.1, fast_forward=29)
    started = time.perf_counter()
    seen = [c async for c in feed]
    elapsed = time.perf_counter() - started
    assert len(seen) == 30
    # one paced wait (0.1 s) instead of thirty (3 s): a behaviour check, not a benchmark
    assert 0.1 <= elapsed < 1.5
