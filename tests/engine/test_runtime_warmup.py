"""A resumed bot's warm-up: the strategy sees the bars it already saw and trades none."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.clock import ManualClock
from task_station.engine.bus import EventBus
from task_station.engine.feeds import ReplayFeed
from task_station.engine.memory import MemoryOrderStore
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.runtime import BotRuntime
from task_station.strategies.base import Strategy, StrategyContext
from task_station.venues.paper import PaperVenue
from tests.engine.test_runtime import INST, bars


class BuysEveryBar(Strategy):
    """Orders on every bar, in every way the context offers, and counts what it saw."""

    name = "buys_every_bar"

    def on_start(self, ctx: StrategyContext) -> None:
        self.seen: list[Candle] = []
        self.history_len: list[int] = []
        ctx.set_timer(2, "tick", repeat=True)
        self.ticks = 0

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        self.seen.append(candle)
        self.history_len.append(len(ctx.history(100)))
        ctx.buy(quantity=Decimal("0.01"))
        ctx.limit("buy", Decimal("0.01"), Decimal(50))
        ctx.stop("sell", Decimal("0.01"), Decimal(10))

    def on_timer(self, ctx: StrategyContext, name: str) -> None:
        self.ticks += 1


def runtime(
    strategy: Strategy, candles: list[Candle], start: int, store: MemoryOrderStore
) -> BotRuntime:
    clock = ManualClock(candles[start].ts)
    bus = EventBus()
    venue = PaperVenue(INST, {"USDT": Decimal("1000")}, clock)
    portfolio = Portfolio("b", "USDT", {"USDT": Decimal("1000")})
    orders = OrderManager(venue=venue, store=store, portfolio=portfolio, bus=bus, clock=clock)
    return BotRuntime(
        bot_id="b", strategy=strategy, instrument=INST, timeframe="1h",
        feed=ReplayFeed(candles, start=start), venue=venue, orders=orders,
        portfolio=portfolio, bus=bus, clock=clock, warmup=candles[:start],
    )  # fmt: skip


async def test_warm_up_bars_reach_the_strategy_but_no_order_leaves() -> None:
    candles = bars(10)
    store = MemoryOrderStore()
    strategy = BuysEveryBar()
    bot = runtime(strategy, candles, 7, store)
    bot.start()  # on_start
    await bot.warm_up(candles[:7])
    assert strategy.seen == candles[:7]
    assert strategy.history_len == list(range(1, 8))  # ctx.history grew as in a live run
    assert strategy.ticks == 3  # bars 2, 4 and 6: timers fire, their orders are dropped too
    assert store.list() == [] and not bot.orders.open_orders
    assert bot.bars_seen == 0


async def test_a_run_with_warm_up_trades_only_the_feed_bars() -> None:
    candles = bars(10)
    store = MemoryOrderStore()
    strategy = BuysEveryBar()
    assert await runtime(strategy, candles, 7, store).run() is not None
    assert strategy.seen == candles  # 7 warm-up bars, then 3 live ones
    first_order = min(o.created_at for o in store.list())
    assert first_order == candles[7].ts + timedelta(hours=1)  # the close of the first live bar
