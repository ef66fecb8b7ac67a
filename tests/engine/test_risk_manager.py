"""The risk manager inside a real runtime: every limit denies with a reason a trader can
act on, the loss limits pause the bot, and the engine's stops close positions on real
candles (matching paper venue, exact decimals, no mocks)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.domain.candles import Candle
from task_station.domain.clock import ManualClock
from task_station.domain.commands import SubmitOrder
from task_station.domain.events import OrderDenied, OrderFilled, RiskBreached
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import Fill, OrderSide, OrderStatus
from task_station.domain.risk import PositionStops, RiskLimitKind, RiskLimits
from task_station.engine.bus import EventBus
from task_station.engine.feeds import ReplayFeed
from task_station.engine.memory import MemoryOrderStore
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.risk import GlobalRisk, RiskManager
from task_station.engine.runtime import BotRuntime
from task_station.strategies.base import Strategy, StrategyContext
from task_station.venues.matching.paper_venue import MatchingPaperVenue

T0 = datetime(2024, 1, 1, tzinfo=UTC)
INST = Instrument.from_symbol("BTC/USDT")
D = Decimal
Action = Callable[[StrategyContext], None]


def bars(closes: Sequence[int | str], start: datetime = T0) -> list[Candle]:
    """Hourly candles that open at the previous close and close at ``closes[i]``."""
    out, prev = [], D(closes[0])
    for i, c in enumerate(closes):
        close = D(c)
        out.append(
            Candle(
                start + timedelta(hours=i), prev, max(prev, close), min(prev, close), close, D(1)
            )
        )
        prev = close
    return out


class Script(Strategy):
    """Does on bar ``i`` what ``plan[i]`` says; counts the bars it was called on."""

    name = "script"

    def __init__(self, plan: dict[int, list[Action]] | None = None, every: Action | None = None):
        super().__init__({})
        self.plan = plan or {}
        self.every = every
        self.calls = 0

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        for action in self.plan.get(self.calls, []):
            action(ctx)
        if self.every is not None:
            self.every(ctx)
        self.calls += 1


def buy(qty: str, price: str | None = None) -> Action:
    return lambda ctx: ctx.buy(quantity=D(qty), price=D(price) if price else None)


def sell(qty: str) -> Action:
    return lambda ctx: ctx.sell(quantity=D(qty))


@dataclass
class Bot:
    runtime: BotRuntime
    orders: OrderManager
    portfolio: Portfolio
    risk: RiskManager
    store: MemoryOrderStore
    strategy: Strategy
    denied: list[OrderDenied] = field(default_factory=list)
    breaches: list[RiskBreached] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)

    def submit(self, side: OrderSide, qty: str) -> SubmitOrder:
        return SubmitOrder(symbol="BTC/USDT", side=side, quantity=D(qty), bot_id="bot-1")


def make_bot(
    strategy: Strategy,
    candles: Sequence[Candle],
    *,
    limits: RiskLimits | None = None,
    stops: PositionStops | None = None,
    cash: str = "100000",
    fee: Decimal = ZERO,
    global_risk: GlobalRisk | None = None,
    bot_id: str = "bot-1",
) -> Bot:
    clock = ManualClock(candles[0].ts)
    bus = EventBus()
    venue = MatchingPaperVenue(INST, {"USDT": D(cash)}, clock, maker_fee=fee, taker_fee=fee)
    portfolio = Portfolio(bot_id, "USDT", {"USDT": D(cash)})
    risk = RiskManager(bot_id, limits, stops, global_risk=global_risk, bus=bus)
    store = MemoryOrderStore()
    orders = OrderManager(
        venue=venue, store=store, portfolio=portfolio, bus=bus, clock=clock, risk=risk
    )
    runtime = BotRuntime(
        bot_id=bot_id, strategy=strategy, instrument=INST, timeframe="1h",
        feed=ReplayFeed(candles), venue=venue, orders=orders, portfolio=portfolio, bus=bus,
        clock=clock,
    )  # fmt: skip
    bot = Bot(runtime, orders, portfolio, risk, store, strategy)
    bus.subscribe(OrderDenied, bot.denied.append)
    bus.subscribe(RiskBreached, bot.breaches.append)
    bus.subscribe(OrderFilled, lambda e: bot.fills.append(e.fill))
    return bot


# -- one test per limit kind ---------------------------------------------------------------


async def test_max_position_denies_the_order_that_would_exceed_it_without_pausing() -> None:
    strategy = Script(every=buy("1"))
    bot = make_bot(strategy, bars([100] * 5), limits=RiskLimits(max_position=D("2.5")))
    await bot.runtime.run()
    first = bot.denied[0]
    assert first.order.status is OrderStatus.DENIED
    assert first.reason == (
        "BTC/USDT position would reach 3 BTC (holding 2, 0 on working orders, 1 on this order) "
        "above the bot's limit 2.5 BTC; trade smaller or raise the limit"
    )
    assert bot.store.get(first.order.client_order_id).reason == first.reason  # stored too
    assert bot.portfolio.position("BTC/USDT").quantity == D(2)
    assert strategy.calls == 5 and bot.runtime.paused_reason is None
    assert [b.paused for b in bot.breaches] == [False] * len(bot.denied)


async def test_working_orders_count_towards_max_position() -> None:
    # two resting bids far below the market never fill, but they could: the third is denied
    strategy = Script({0: [buy("1", "50"), buy("1", "50"), buy("1", "50")]})
    bot = make_bot(strategy, bars([100] * 3), limits=RiskLimits(max_position=D("2.5")))
    await bot.runtime.run()
    (denied,) = bot.denied
    assert "(holding 0, 2 on working orders, 1 on this order)" in denied.reason


async def test_max_order_notional_denies_the_big_order_naming_both_amounts() -> None:
    strategy = Script({0: [buy("1")], 1: [buy("2")]})
    bot = make_bot(strategy, bars([100, 100, 100]), limits=RiskLimits(max_order_notional=D(150)))
    await bot.runtime.run()
    (denied,) = bot.denied
    assert denied.reason == (
        "order notional 200 USDT above the bot's limit 150 USDT; "
        "make the order smaller or raise the limit"
    )
    assert [f.quantity for f in bot.fills] == [D(1)]
    assert bot.runtime.paused_reason is None


async def test_max_order_notional_with_thousands_reads_like_money() -> None:
    strategy = Script({0: [buy("0.5", "24000")]})
    bot = make_bot(strategy, bars([24000, 24000]), limits=RiskLimits(max_order_notional=D(10000)))
    await bot.runtime.run()
    assert bot.denied[0].reason.startswith(
        "order notional 12,000 USDT above the bot's limit 10,000 USDT"
    )


async def test_max_open_orders_denies_the_next_resting_order() -> None:
    strategy = Script(every=buy("0.1", "50"))  # bids far below the market: they stay open
    bot = make_bot(strategy, bars([100] * 4), limits=RiskLimits(max_open_orders=2))
    await bot.runtime.run()
    assert bot.denied[0].reason == (
        "2 orders already open, the bot's limit is 2 open orders; cancel one or wait for fills"
    )
    assert len(bot.denied) == 2  # bars 3 and 4
    assert bot.runtime.paused_reason is None


async def test_max_orders_per_minute_denies_a_burst_and_the_window_rolls_on() -> None:
    burst = [buy("0.1", "50"), buy("0.1", "50"), buy("0.1", "50")]
    strategy = Script({0: burst, 1: burst})
    bot = make_bot(strategy, bars([100] * 3), limits=RiskLimits(max_orders_per_minute=2))
    await bot.runtime.run()
    assert [d.reason for d in bot.denied] == [
        "2 orders sent in the last minute, the bot's limit is 2 per minute; "
        "the strategy may be looping: check it before raising the limit"
    ] * 2  # one per bar: an hour later the window is empty again
    assert bot.runtime.paused_reason is None


FALLING = [100, 100, 99, 98, 96, 95, 94, 93]  # bought 10 BTC at 100: -40 USDT at 96


async def test_max_daily_loss_pauses_the_bot_and_denies_new_orders() -> None:
    strategy = Script({0: [buy("10")]}, every=lambda ctx: None)
    bot = make_bot(strategy, bars(FALLING), limits=RiskLimits(max_daily_loss=D(30)))
    await bot.runtime.run()
    (breach,) = bot.breaches
    expected = (
        "daily loss 40 USDT since 00:00 UTC above the bot's limit 30 USDT; new orders are "
        "refused until the next UTC day (stop the bot and review the strategy, or raise the limit)"
    )
    assert (breach.limit, breach.scope, breach.message, breach.paused) == (
        "max_daily_loss", "bot", expected, True,
    )  # fmt: skip
    assert bot.runtime.paused_reason == expected
    assert strategy.calls == 4  # bars 0-3; from the bar that closed at 96 on it waits
    assert bot.runtime.bars_seen == len(FALLING)  # ... while the marks go on
    # an order that adds to the position is denied with the loss in its reason
    denied = await bot.orders.submit(bot.submit(OrderSide.BUY, "1"))
    assert denied.status is OrderStatus.DENIED
    assert bot.denied[-1].reason.startswith("the bot is paused by a risk limit (daily loss 40 USDT")
    # ... one that only reduces it goes through
    reduced = await bot.orders.submit(bot.submit(OrderSide.SELL, "10"))
    assert reduced.status is not OrderStatus.DENIED


async def test_max_daily_loss_without_pause_only_denies_and_resets_at_utc_midnight() -> None:
    evening = T0 + timedelta(hours=19)
    # bars open 19:00..01:00 and are marked at their close: the fifth is marked at 00:00
    closes = [100, 100, 99, 96, 96, 96, 96]
    strategy = Script({0: [buy("10")]}, every=buy("0.01"))
    limits = RiskLimits(max_daily_loss=D(30), pause_on=frozenset())
    bot = make_bot(strategy, bars(closes, evening), limits=limits)
    await bot.runtime.run()
    assert strategy.calls == len(closes) and bot.runtime.paused_reason is None
    # only the order of the bar marked at 23:00 is denied: that day had lost 40.11 ...
    assert [d.ts for d in bot.denied] == [T0 + timedelta(hours=23)]
    assert bot.denied[0].reason.startswith("daily loss 40.11 USDT since 00:00 UTC")
    assert all(not b.paused for b in bot.breaches)
    # ... the new day starts from the equity of its first mark, and the bot trades again
    assert bot.risk.daily_loss < D(30)
    assert sum(1 for f in bot.fills if f.ts >= T0 + timedelta(days=1)) == 2


async def test_max_drawdown_pauses_the_bot_and_names_the_peak() -> None:
    closes = [100, 100, 110, 104, 102, 100, 98]  # 9 BTC: equity 1,090 at the peak
    strategy = Script({0: [buy("9")]})
    bot = make_bot(strategy, bars(closes), cash="1000", limits=RiskLimits(max_drawdown=D("0.05")))
    await bot.runtime.run()
    (breach,) = bot.breaches
    assert breach.paused and breach.limit == "max_drawdown"
    # 1,090 -> 1,018 (close 102) is 6.61 %
    assert breach.message == (
        "drawdown 6.61 % from peak equity 1,090 USDT above the bot's limit 5 %; "
        "review the strategy, then resume or restart the bot"
    )
    assert strategy.calls == 4
    denied = await bot.orders.submit(bot.submit(OrderSide.BUY, "1"))
    assert denied.status is OrderStatus.DENIED
    assert "drawdown 6.61 %" in (denied.reason or "")
    # a trader resumes: the strategy is called again and drawdown is measured afresh
    bot.runtime.resume()
    assert bot.risk.pause_reason is None and bot.risk.drawdown == ZERO


async def test_a_pausing_limit_pauses_even_when_a_non_pausing_one_is_crossed_too() -> None:
    limits = RiskLimits(
        max_daily_loss=D(10),
        max_drawdown=D("0.02"),
        pause_on=frozenset({RiskLimitKind.MAX_DRAWDOWN}),
    )
    strategy = Script({0: [buy("9")]})
    bot = make_bot(strategy, bars([100, 100, 99, 97, 96]), cash="1000", limits=limits)
    await bot.runtime.run()
    (breach,) = bot.breaches  # at 97: lost 27 (> 10, no pause) and 2.7 % (> 2 %, pause)
    assert (breach.limit, breach.paused) == ("max_drawdown", True)
    assert strategy.calls == 3


async def test_reducing_orders_are_exempt_from_exposure_limits() -> None:
    strategy = Script({0: [buy("0.45")], 2: [sell("0.45")], 3: [buy("0.45")]})
    limits = RiskLimits(max_order_notional=D(50))
    bot = make_bot(strategy, bars([100, 100, 200, 200, 200]), limits=limits)
    await bot.runtime.run()
    assert [(f.side, f.quantity) for f in bot.fills] == [
        (OrderSide.BUY, D("0.45")),
        (OrderSide.SELL, D("0.45")),  # 90 USDT, above the limit, but it closes the position
    ]
    (denied,) = bot.denied
    assert denied.order.side is OrderSide.BUY and "order notional 90 USDT" in denied.reason


# -- station-wide limits and the kill switch ---------------------------------------------


async def test_global_position_limit_sums_the_bots() -> None:
    station = GlobalRisk(RiskLimits(max_position=D("1.5")))
    first = make_bot(Script({0: [buy("1")]}), bars([100] * 3), global_risk=station)
    second = make_bot(Script({0: [buy("1")]}), bars([100] * 3), global_risk=station, bot_id="bot-2")
    await first.runtime.run()
    await second.runtime.run()
    assert [f.quantity for f in first.fills] == [D(1)]
    (denied,) = second.denied
    assert denied.reason == (
        "BTC/USDT position would reach 2 BTC (holding 1, 0 on working orders, 1 on this order) "
        "above the station's limit 1.5 BTC; trade smaller or raise the limit"
    )
    first.risk.detach()  # the first bot stopped: its position no longer counts
    assert (await second.orders.submit(second.submit(OrderSide.BUY, "1"))).status is not (
        OrderStatus.DENIED
    )


async def test_global_daily_loss_sums_the_bots_losses() -> None:
    station = GlobalRisk(RiskLimits(max_daily_loss=D(50)))
    a = make_bot(Script({0: [buy("10")]}), bars(FALLING), global_risk=station, bot_id="a")
    b = make_bot(Script({0: [buy("10")]}), bars(FALLING[:5]), global_risk=station, bot_id="b")
    await b.runtime.run()  # loses 40: under the station's 50
    assert b.breaches == []
    await a.runtime.run()  # 40 + 20 (close 98) = 60 > 50
    (breach,) = a.breaches
    assert breach.scope == "global" and breach.paused
    assert breach.message.startswith(
        "daily loss 60 USDT since 00:00 UTC above the station's limit 50 USDT"
    )
    assert station.total_daily_loss == D(40) + D(70)  # a rode on to 93 while paused


async def test_kill_switch_denies_every_new_order_until_released() -> None:
    station = GlobalRisk()
    bot = make_bot(Script(), bars([100]), global_risk=station)
    await bot.runtime.run()
    station.engage("ann", "exchange outage", datetime(2024, 5, 1, 12, tzinfo=UTC))
    denied = await bot.orders.submit(bot.submit(OrderSide.BUY, "0.1"))
    assert denied.status is OrderStatus.DENIED
    assert denied.reason == (
        "kill switch engaged by ann at 2024-05-01 12:00:00 UTC: exchange outage; "
        "every new order is refused until it is released"
    )
    station.release("admin", datetime(2024, 5, 1, 13, tzinfo=UTC))
    sent = await bot.orders.submit(bot.submit(OrderSide.BUY, "0.1"))
    assert sent.status is not OrderStatus.DENIED


# -- the engine's stops on real candles ------------------------------------------------------


@pytest.fixture(scope="module")
def btc_hours(shared_data: Path) -> list[Candle]:
    from task_station.marketdata.candle_files import read_candles

    return read_candles(shared_data / "candles/binance/BTC_USDT-1h.parquet")[:3000]


FEE = D("0.001")


async def run_stop(candles: list[Candle], stops: PositionStops) -> tuple[Bot, Fill, Fill]:
    strategy = Script({0: [buy("0.1")]})
    bot = make_bot(strategy, candles, stops=stops, fee=FEE)
    await bot.runtime.run()
    entry_fill, exit_fill = bot.fills  # exactly one round trip, the exit by the engine
    assert entry_fill.side is OrderSide.BUY and exit_fill.side is OrderSide.SELL
    assert exit_fill.quantity == entry_fill.quantity
    assert bot.portfolio.position("BTC/USDT").is_flat
    assert strategy.calls == len(candles)  # the strategy never knew
    return bot, entry_fill, exit_fill


def first_bar(candles: list[Candle], hit: Callable[[int], bool]) -> int:
    """The first bar after the entry fill (bar 1) whose close triggers ``hit``."""
    return next(i for i in range(1, len(candles)) if hit(i))


def expect_exit_after(candles: list[Candle], i: int, exit_fill: Fill) -> None:
    """Decided at bar i's close, the market exit fills at bar i+1's open."""
    assert exit_fill.ts == candles[i + 1].ts
    assert exit_fill.price == candles[i + 1].open


async def test_stop_loss_closes_the_position_on_real_btc_candles(
    btc_hours: list[Candle],
) -> None:
    bot, entry, exit_fill = await run_stop(btc_hours, PositionStops(stop_loss_pct=D(3)))
    cost = (entry.notional + entry.fee) / entry.quantity  # the average entry, fees included
    i = first_bar(btc_hours, lambda k: (btc_hours[k].close - cost) / cost * 100 <= -3)
    expect_exit_after(btc_hours, i, exit_fill)
    assert exit_fill.price < cost
    assert bot.portfolio.position("BTC/USDT").realized_pnl < ZERO


async def test_take_profit_closes_the_position_on_real_btc_candles(
    btc_hours: list[Candle],
) -> None:
    bot, entry, exit_fill = await run_stop(btc_hours, PositionStops(take_profit_pct=D(4)))
    cost = (entry.notional + entry.fee) / entry.quantity
    i = first_bar(btc_hours, lambda k: (btc_hours[k].close - cost) / cost * 100 >= 4)
    expect_exit_after(btc_hours, i, exit_fill)
    assert bot.portfolio.position("BTC/USDT").realized_pnl > ZERO


async def test_trailing_stop_follows_the_best_close_then_exits(btc_hours: list[Candle]) -> None:
    _, entry, exit_fill = await run_stop(btc_hours, PositionStops(trailing_stop_pct=D(2)))
    cost = (entry.notional + entry.fee) / entry.quantity
    best = cost
    for i in range(1, len(btc_hours)):
        best = max(best, btc_hours[i].close)
        if (best - btc_hours[i].close) / best * 100 >= 2:
            break
    expect_exit_after(btc_hours, i, exit_fill)
    assert best > cost  # it trailed up before it fired: not a plain stop-loss


async def test_stops_keep_working_while_a_loss_limit_pauses_the_bot() -> None:
    closes = [100, 100, 99, 96, 95, 94, 90, 89, 88]
    strategy = Script({0: [buy("10")]})
    bot = make_bot(
        strategy,
        bars(closes),
        limits=RiskLimits(max_daily_loss=D(30)),
        stops=PositionStops(stop_loss_pct=D(8)),
    )
    await bot.runtime.run()
    assert bot.runtime.paused_reason is not None and strategy.calls == 3
    sells = [f for f in bot.fills if f.side is OrderSide.SELL]
    # decided on the close at 90 (8 % under 100), filled at the next bar's open (90)
    assert [(f.quantity, f.price) for f in sells] == [(D(10), D(90))]
