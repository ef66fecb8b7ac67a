"""``MarketReplay``: stored candles, trades and books back on a real bus, in time order,
at a speed, with pause, step and seek; ``MarketCandleFeed`` hands a bot its closed bars."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from task_station.domain.clock import ManualClock, ms_to_datetime
from task_station.domain.errors import ConflictError, DataError, ValidationError
from task_station.domain.events import Event
from task_station.domain.market_data_events import ReplayChanged, ReplayState
from task_station.domain.market_feed import BookUpdated, CandleUpdated, TradePrinted
from task_station.domain.orders import OrderSide
from task_station.engine.bus import EventBus
from task_station.engine.market_feed_source import MarketCandleFeed
from task_station.engine.market_replay import MarketReplay, ReplayMarket
from task_station.marketdata.store import MarketStore, book_rows
from tests.marketdata.store_fixtures import START, START_MS, STEP, history_frame

VENUE, SYMBOL = "simulator", "BTC/USDT"
BARS = 50


@pytest.fixture
def store(tmp_path: Path) -> MarketStore:
    store = MarketStore(tmp_path)
    store.write_candles(VENUE, SYMBOL, "1m", history_frame().iloc[:BARS])
    return store


def replay_of(store: MarketStore, bus: EventBus, **kw: Any) -> MarketReplay:
    markets = kw.pop("markets", [ReplayMarket(VENUE, SYMBOL, "1m")])
    return MarketReplay(store, bus.publish, markets, clock=ManualClock(START), **kw)


def collect(bus: EventBus) -> list[Event]:
    seen: list[Event] = []
    for kind in (CandleUpdated, TradePrinted, BookUpdated):
        bus.subscribe(kind, seen.append)
    return seen


async def test_candles_replay_at_full_speed_as_closed_bars_in_order(store: MarketStore) -> None:
    bus = EventBus()
    seen = collect(bus)
    states: list[ReplayChanged] = []
    bus.subscribe(ReplayChanged, states.append)
    replay = replay_of(store, bus)
    assert await replay.run() is ReplayState.FINISHED
    frame = history_frame().iloc[:BARS]
    assert len(seen) == BARS and all(isinstance(e, CandleUpdated) and e.closed for e in seen)
    first = seen[0]
    assert isinstance(first, CandleUpdated)
    assert first.ts == ms_to_datetime(START_MS + STEP)  # published when the bar closed
    assert first.candle.ts == START and first.candle.close == Decimal(
        repr(float(frame["close"][0]))
    )
    opened = [e.candle.ts for e in seen if isinstance(e, CandleUpdated)]
    assert opened == sorted(opened)
    assert states[0].state is ReplayState.RUNNING and states[-1].state is ReplayState.FINISHED
    assert states[-1].published == BARS and states[-1].progress == 1.0


async def test_trades_books_and_candles_merge_by_time(store: MarketStore) -> None:
    t0 = START_MS + 30_000  # inside the first bar
    store.write_trades(VENUE, SYMBOL, {"ts": [t0, START_MS + STEP], "price": [100.5, 101.0],
                                       "amount": [0.5, 0.25], "side": ["buy", ""],
                                       "id": ["a", "b"]})  # fmt: skip
    store.write_book_snapshots(
        VENUE, SYMBOL, book_rows([(t0 + 1, [("100.4", "2")], [("100.6", "1")])])
    )
    bus = EventBus()
    seen = collect(bus)
    await replay_of(store, bus, end_ms=START_MS + STEP + 1).run()
    kinds = [type(e).__name__ for e in seen]
    # the bar that closed at 1m comes before the trade printed at the same millisecond
    assert kinds == ["TradePrinted", "BookUpdated", "CandleUpdated", "TradePrinted"]
    trade, book = seen[0], seen[1]
    assert isinstance(trade, TradePrinted) and isinstance(book, BookUpdated)
    assert (trade.price, trade.amount, trade.side, trade.trade_id) == (
        Decimal("100.5"), Decimal("0.5"), OrderSide.BUY, "a",
    )  # fmt: skip
    assert book.bids == ((Decimal("100.4"), Decimal("2")),) and book.asks[0][0] == Decimal("100.6")
    last = seen[-1]
    assert isinstance(last, TradePrinted) and last.side is None


async def test_speed_paces_by_market_time_and_pause_holds(store: MarketStore) -> None:
    bus = EventBus()
    seen = collect(bus)
    replay = replay_of(store, bus, speed=1200.0)  # a 1m bar every 50 ms of wall time
    task = asyncio.create_task(replay.run())
    await asyncio.sleep(0.25)
    paced = len(seen)
    assert 1 <= paced <= 10  # about 5; at full speed all 50 would be out
    replay.pause()
    held = len(seen)
    await asyncio.sleep(0.15)
    assert len(seen) == held and replay.state is ReplayState.PAUSED
    replay.set_speed(None)
    replay.resume()
    assert await task is ReplayState.FINISHED and len(seen) == BARS


async def test_step_and_seek_move_the_replay_clock(store: MarketStore) -> None:
    bus = EventBus()
    seen = collect(bus)
    replay = replay_of(store, bus, paused=True)
    task = asyncio.create_task(replay.run())
    await asyncio.sleep(0)
    assert replay.step() == 1 and len(seen) == 1
    assert replay.clock.now() == ms_to_datetime(START_MS + STEP)
    replay.seek(START_MS + 10 * STEP)
    replay.step("bar")
    last = seen[-1]
    assert isinstance(last, CandleUpdated) and last.candle.ts == ms_to_datetime(START_MS + 9 * STEP)
    replay.seek(START_MS + BARS * STEP)  # the last bar closes then
    assert replay.step("bar") == 1 and replay.state is ReplayState.FINISHED
    assert await task is ReplayState.FINISHED
    with pytest.raises(ConflictError, match="start a new replay"):
        replay.resume()


async def test_stop_ends_the_run_and_nothing_stored_is_refused(store: MarketStore) -> None:
    bus = EventBus()
    replay = replay_of(store, bus, speed=1.0)
    task = asyncio.create_task(replay.run())
    await asyncio.sleep(0.01)
    replay.stop()
    assert await task is ReplayState.STOPPED
    with pytest.raises(DataError, match="nothing is stored for simulator:ETH/USDT 1m candles"):
        replay_of(store, bus, markets=[ReplayMarket(VENUE, "ETH/USDT", "1m")])
    with pytest.raises(ValidationError, match="speed"):
        replay_of(store, bus, speed=0)


async def test_a_market_feed_hands_a_bot_only_its_closed_bars_once(store: MarketStore) -> None:
    bus = EventBus()
    feed = MarketCandleFeed(bus, VENUE, SYMBOL, "1m")
    other = MarketCandleFeed(bus, VENUE, SYMBOL, "5m")
    replay = replay_of(store, bus)
    await replay.run()
    for e in list(feed._pending)[:3]:  # the same bars closed again by a second producer
        bus.publish(CandleUpdated(e.ts, VENUE, SYMBOL, "1m", e, True))
    feed.close()
    bars = [bar async for bar in feed]
    assert len(bars) == BARS and feed.skipped == 3 and other.pending == 0
    assert bus.listeners(CandleUpdated) == 1  # the closed feed let go of the bus
    other.close()
