"""Emulated OCO, bracket and trailing orders, timers and the richer context, on real candles.

Each test runs the real runtime (order manager, portfolio, matching paper venue) over a
slice of Binance BTC/USDT 1h candles and checks the outcome against a scan of the same
candles written from the rules in ``engine/emulated_orders.py``'s docstring.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.domain.candles import Candle
from task_station.domain.clock import ManualClock
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.orders import OrderSide, OrderStatus, OrderType
from task_station.engine.bus import EventBus
from task_station.engine.emulated_orders import Trailing, round_price
from task_station.engine.feeds import ReplayFeed
from task_station.engine.memory import MemoryOrderStore
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.runtime import BotRuntime, RuntimeContext
from task_station.strategies.base import Strategy, StrategyContext
from task_station.venues.matching.paper_venue import MatchingPaperVenue
from task_station.venues.paper import PaperVenue
from tests.strategies.helpers import BTC_1H, candles

INST = Instrument.from_symbol("BTC/USDT", venue="paper")
START = 20_000  # 2019-11: a choppy stretch with moves of a few percent either way

Script = Callable[[StrategyContext, int, Candle], None]


class Scripted(Strategy):
    """Calls ``script(ctx, bar_number, candle)`` on every bar; records timer calls."""

    name = "scripted"

    def __init__(self, script: Script) -> None:
        super().__init__({})
        self.script = script
        self.bar = -1
        self.timer_calls: list[tuple[int, str]] = []
        self.seen_fills: list[tuple[int, str]] = []

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        self.bar += 1
        self.seen_fills += [(self.bar, e.fill.client_order_id) for e in ctx.fills]
        self.script(ctx, self.bar, candle)

    def on_timer(self, ctx: StrategyContext, name: str) -> None:
        self.timer_calls.append((self.bar, name))


def run(
    script: Script,
    bars: list[Candle],
    *,
    base: Decimal = Decimal(0),
    cash: Decimal = Decimal(100_000),
    v1_venue: bool = False,
) -> tuple[Scripted, MemoryOrderStore, Portfolio, BotRuntime]:
    clock = ManualClock(bars[0].ts)
    bus = EventBus()
    balances = {"USDT": cash, "BTC": base}
    venue: MatchingPaperVenue | PaperVenue = (
        PaperVenue(INST, dict(balances), clock)
        if v1_venue
        else MatchingPaperVenue(INST, dict(balances), clock)
    )
    portfolio = Portfolio("b", "USDT", dict(balances))
    store = MemoryOrderStore()
    orders = OrderManager(venue=venue, store=store, portfolio=portfolio, bus=bus, clock=clock)
    strategy = Scripted(script)
    runtime = BotRuntime(
        bot_id="b", strategy=strategy, instrument=INST, timeframe="1h", feed=ReplayFeed(bars),
        venue=venue, orders=orders, portfolio=portfolio, bus=bus, clock=clock,
        max_strategy_failures=1,
    )  # fmt: skip
    asyncio.run(runtime.run())
    return strategy, store, portfolio, runtime


@pytest.fixture(scope="module")
def bars(shared_data: Path) -> list[Candle]:
    return candles(shared_data, BTC_1H, START, 400)


def limit_hit_sell(limit: Decimal, c: Candle) -> bool:
    """A resting sell limit trades when the bar opens at/above it or trades through it."""
    return c.open >= limit or c.high > limit


def test_oco_sell_cancels_the_stop_when_the_limit_fills_and_vice_versa(
    bars: list[Candle],
) -> None:
    outcomes = set()
    for k in range(5, 300, 15):  # many starting bars: both legs must win somewhere
        close = bars[k].close
        limit, trigger = (
            round_price(INST, close * Decimal("1.01"), up=True),
            round_price(INST, close * Decimal("0.99"), up=False),
        )

        def script(
            ctx: StrategyContext, i: int, c: Candle, k: int = k, lim: Decimal = limit,
            trig: Decimal = trigger,
        ) -> None:  # fmt: skip
            if i == k:
                ctx.oco(OrderSide.SELL, Decimal(1), lim, trig)

        _, store, portfolio, _ = run(script, bars, base=Decimal(1))
        sells = [f for f in store.list_fills() if f.side is OrderSide.SELL]
        # independent scan: the limit rests from bar k+1; the stop is judged at each close
        expected = None
        for j in range(k + 1, len(bars) - 1):
            if limit_hit_sell(limit, bars[j]):
                expected = ("limit", j, limit if bars[j].open < limit else bars[j].open)
                break
            if bars[j].low <= trigger:
                expected = ("stop", j + 1, bars[j + 1].open)
                break
        assert expected is not None
        leg, at, price = expected
        assert len(sells) == 1, "exactly one leg trades"
        (fill,) = sells
        assert (fill.ts, fill.price, fill.quantity) == (bars[at].ts, price, Decimal(1))
        assert portfolio.balance("BTC").total == 0
        placed = sorted(store.list(), key=lambda o: o.created_at)
        limit_order = next(o for o in placed if o.type is OrderType.LIMIT)
        if leg == "limit":
            assert limit_order.status is OrderStatus.FILLED
            assert len(placed) == 1, "the watched stop is never sent"
        else:
            assert limit_order.status is OrderStatus.CANCELED, "the sibling is canceled"
            (market,) = [o for o in placed if o.type is OrderType.MARKET]
            assert market.status is OrderStatus.FILLED
        outcomes.add(leg)
    assert outcomes == {"limit", "stop"}


def test_bracket_enters_then_exits_by_exactly_one_of_take_profit_or_stop_loss(
    bars: list[Candle],
) -> None:
    outcomes = set()
    for k in range(3, 300, 20):
        close = bars[k].close
        sl = round_price(INST, close * Decimal("0.985"), up=False)
        tp = round_price(INST, close * Decimal("1.015"), up=True)

        def script(
            ctx: StrategyContext, i: int, c: Candle, k: int = k, sl: Decimal = sl,
            tp: Decimal = tp,
        ) -> None:  # fmt: skip
            if i == k:
                ctx.bracket("buy", Decimal("0.5"), None, sl, tp)
            emulated = ctx._emulated.values()  # type: ignore[attr-defined]
            assert ctx.has_open_orders == (i >= k and any(e.active for e in emulated))

        _, store, portfolio, _ = run(script, bars)
        fills = store.list_fills()
        entry, *exits = fills
        assert (entry.side, entry.ts, entry.price) == (
            OrderSide.BUY,
            bars[k + 1].ts,
            bars[k + 1].open,
        )
        assert len(exits) == 1 and exits[0].side is OrderSide.SELL
        assert exits[0].quantity == Decimal("0.5")
        # scan: the stop is judged from the entry bar on, the take-profit rests from k+2
        expected = None
        for j in range(k + 1, len(bars) - 1):
            if j >= k + 2 and limit_hit_sell(tp, bars[j]):
                expected = ("tp", j, tp if bars[j].open < tp else bars[j].open)
                break
            if bars[j].low <= sl:
                expected = ("sl", j + 1, bars[j + 1].open)
                break
        assert expected is not None
        leg, at, price = expected
        assert (exits[0].ts, exits[0].price) == (bars[at].ts, price)
        tp_orders = [o for o in store.list() if o.type is OrderType.LIMIT]
        if leg == "sl":
            assert all(o.status is OrderStatus.CANCELED for o in tp_orders)
        else:
            assert [o.status for o in tp_orders] == [OrderStatus.FILLED]
        assert portfolio.balance("BTC").total == 0
        outcomes.add(leg)
    assert outcomes == {"tp", "sl"}


def scan_trailing(
    bars: list[Candle], k: int, trail: Decimal, *, native: bool
) -> tuple[int, Decimal, list[Decimal]]:
    """Bar and price at which a sell trailing stop placed at bar k's close fills."""
    extreme = bars[k].close
    level = round_price(INST, extreme * (1 - trail), up=False)
    levels = [level]
    for j in range(k + 1, len(bars) - 1):
        c = bars[j]
        if native and (c.open <= level or c.low <= level):
            return j, min(c.open, level), levels
        if not native and c.low <= level:
            return j + 1, bars[j + 1].open, levels
        extreme = max(extreme, c.high)
        new = round_price(INST, extreme * (1 - trail), up=False)
        if new > level:
            level = new
            levels.append(level)
    raise AssertionError("the stop never fired")


@pytest.mark.parametrize("native", [True, False], ids=["venue-stop", "watched"])
def test_trailing_stop_ratchets_with_the_high_water_mark_and_fires(
    bars: list[Candle], native: bool
) -> None:
    k, trail = 10, Decimal("0.02")
    seen: list[Trailing] = []

    def script(ctx: StrategyContext, i: int, c: Candle) -> None:
        if i == k:
            ctx.trailing_stop(OrderSide.SELL, Decimal(2), trail)
            emulated = ctx._emulated[ctx.instrument.symbol]  # type: ignore[attr-defined]
            seen.append(emulated.groups[-1])

    _, store, portfolio, _ = run(script, bars, base=Decimal(2), v1_venue=not native)
    at, price, levels = scan_trailing(bars, k, trail, native=native)
    (fill,) = store.list_fills()
    assert (fill.side, fill.ts, fill.price, fill.quantity) == (
        OrderSide.SELL, bars[at].ts, price, Decimal(2),
    )  # fmt: skip
    (group,) = seen
    assert group.levels == levels
    assert len(levels) >= 3 and levels == sorted(levels), "it only ratchets up"
    assert portfolio.balance("BTC").total == 0
    stops = [o for o in store.list() if o.type is OrderType.STOP_MARKET]
    if native:  # one resting stop per level, each replaced one canceled
        assert sorted(o.trigger_price for o in stops if o.trigger_price) == levels
        assert sum(o.status is OrderStatus.CANCELED for o in stops) == len(levels) - 1
    else:
        assert stops == []


def test_watched_stop_on_a_venue_without_stops(bars: list[Candle]) -> None:
    k = 5
    trigger = round_price(INST, bars[k].close * Decimal("0.98"), up=False)

    def script(ctx: StrategyContext, i: int, c: Candle) -> None:
        if i == k:
            ctx.stop("sell", Decimal(1), trigger)

    _, store, _, _ = run(script, bars, base=Decimal(1), v1_venue=True)
    j = next(j for j in range(k + 1, len(bars)) if bars[j].low <= trigger)
    (fill,) = store.list_fills()
    assert (fill.ts, fill.price) == (bars[j + 1].ts, bars[j + 1].open)


def test_native_stop_rests_at_the_venue(bars: list[Candle]) -> None:
    k = 5
    trigger = round_price(INST, bars[k].close * Decimal("0.98"), up=False)

    def script(ctx: StrategyContext, i: int, c: Candle) -> None:
        if i == k:
            ctx.stop("sell", Decimal(1), trigger)

    _, store, _, _ = run(script, bars, base=Decimal(1))
    j = next(j for j in range(k + 1, len(bars)) if bars[j].low <= trigger)
    (fill,) = store.list_fills()
    assert (fill.ts, fill.price) == (bars[j].ts, min(trigger, bars[j].open))
    (order,) = store.list()
    assert order.type is OrderType.STOP_MARKET


def test_cancel_all_cancels_working_queued_and_emulated_orders(bars: list[Candle]) -> None:
    def script(ctx: StrategyContext, i: int, c: Candle) -> None:
        if i == 1:
            ctx.limit("buy", Decimal("0.1"), round_price(INST, c.close * Decimal("0.5"), up=False))
            ctx.oco("sell", Decimal(1), c.close * 2, round_price(INST, c.close / 2, up=False))
        if i == 2:
            assert len(ctx.open_orders) == 2 and ctx.has_open_orders
            ctx.buy(quantity=Decimal("0.1"))  # queued, then canceled too
            ctx.cancel_all()
        if i == 3:
            assert not ctx.has_open_orders and ctx.open_orders == ()

    _, store, _, runtime = run(script, bars[:10], base=Decimal(1))
    assert runtime.strategy.bar == 9  # type: ignore[attr-defined]
    assert store.list_fills() == []
    assert {o.status for o in store.list()} == {OrderStatus.CANCELED}


def test_cancel_one_order_before_new_ones_go_out(bars: list[Candle]) -> None:
    """Cancels run before the bar's new orders: the freed coins can be sold at once."""

    def script(ctx: StrategyContext, i: int, c: Candle) -> None:
        if i == 1:
            ctx.sell(quantity=Decimal(1), price=c.close * 3)
        if i == 2:
            (order,) = ctx.open_orders
            ctx.cancel(order.client_order_id)
            ctx.sell(quantity=Decimal(1))

    _, store, portfolio, _ = run(script, bars[:6], base=Decimal(1))
    (fill,) = store.list_fills()
    assert (fill.ts, fill.price) == (bars[3].ts, bars[3].open)
    assert portfolio.balance("BTC").total == 0


def test_timers_in_bars_and_in_time_and_fills_and_history(bars: list[Candle]) -> None:
    def script(ctx: StrategyContext, i: int, c: Candle) -> None:
        assert ctx.history(3)[-1] == c and len(ctx.history(10_000)) == i + 1
        if i == 0:
            ctx.set_timer(3, "every3", repeat=True)
            ctx.set_timer(timedelta(hours=5), "once")
            ctx.buy(quantity=Decimal("0.01"))
        if i == 7:
            ctx.cancel_timer("every3")

    strategy, store, _, _ = run(script, bars[:12])
    assert strategy.timer_calls == [(3, "every3"), (5, "once"), (6, "every3")]
    (fill,) = store.list_fills()
    assert strategy.seen_fills == [(1, fill.client_order_id)], "fills are shown once"


def test_target_percent_and_target_position(bars: list[Candle]) -> None:
    seen: dict[int, tuple[Decimal, Decimal, Decimal]] = {}

    def script(ctx: StrategyContext, i: int, c: Candle) -> None:
        seen[i] = (ctx.position, ctx.equity, c.close)
        if i == 1:
            ctx.target_percent(Decimal("0.5"))
        if i == 3:
            ctx.target_position(Decimal("0.25"))
        if i == 5:
            ctx.target_percent(Decimal(0))

    run(script, bars[:8])
    held, _, _ = seen[2]
    value = held * bars[2].open
    assert abs(value / Decimal(100_000) - Decimal("0.5")) < Decimal("0.02")
    assert seen[4][0] == Decimal("0.25")
    assert seen[6][0] == 0


def test_bad_requests_are_refused_when_asked(bars: list[Candle]) -> None:
    clock = ManualClock(bars[0].ts)
    bus = EventBus()
    venue = MatchingPaperVenue(INST, {"USDT": Decimal(1000)}, clock)
    portfolio = Portfolio("b", "USDT", {"USDT": Decimal(1000)})
    orders = OrderManager(
        venue=venue, store=MemoryOrderStore(), portfolio=portfolio, bus=bus, clock=clock
    )
    ctx = RuntimeContext("b", INST, portfolio, orders, clock, bus=bus)
    d = Decimal
    cases: list[tuple[Callable[[], None], str]] = [
        (
            lambda: ctx.bracket("buy", d(1), None, d(110), d(90)),
            "stop_loss < entry_price < take_profit",
        ),
        (
            lambda: ctx.bracket("sell", d(1), d(100), d(90), d(80)),
            "take_profit < entry_price < stop_loss",
        ),
        (lambda: ctx.bracket("buy", d(0), None, d(90), d(110)), "quantity must be a positive"),
        (lambda: ctx.oco("sell", d(1), d(90), d(100)), "stop .* must be below the limit"),
        (lambda: ctx.oco("up", d(1), d(90), d(100)), "side must be 'buy' or 'sell'"),
        (lambda: ctx.trailing_stop("sell", d(1), d(2)), "trail_pct is a fraction"),
        (lambda: ctx.trailing_stop("sell", d(1), d("0.02")), "no price is known yet"),
        (lambda: ctx.target_percent(d("1.5")), "fraction of equity in \\[0, 1\\]"),
        (lambda: ctx.target_position(d(-1)), "base quantity >= 0"),
        (lambda: ctx.set_timer(0, "t"), "number of bars \\(>= 1\\) or a timedelta"),
        (lambda: ctx.set_timer(timedelta(0), "t"), "period must be positive"),
        (lambda: ctx.history(0), "number of bars >= 1"),
    ]
    for call, message in cases:
        with pytest.raises(ValidationError, match=message):
            call()
    ctx.close()
