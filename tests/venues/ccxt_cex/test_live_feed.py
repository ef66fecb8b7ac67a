"""The live feed against the loopback simulator with the real ccxt.pro binance class.

The simulator prints four trades a bar and serves them over the ``@aggTrade`` stream and
``GET /api/v3/aggTrades`` with shared ids, so "no trade missing, none twice" is exact:
the ids the feed publishes must be the simulator's consecutive trade ids. Sockets are
dropped with the simulator's ``drop_ws`` fault, REST is broken with ``err5xx``, and a
depth diff is removed from one connection's outbound queue to make a sequence gap.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.async_support as ccxt_async
import pytest

from task_station.domain.clock import ManualClock
from task_station.domain.events import Event
from task_station.domain.market_feed import (
    BookUpdated,
    CandleUpdated,
    FeedStatus,
    FeedStatusChanged,
    StreamKind,
    Subscription,
    TickerUpdated,
    TradePrinted,
)
from task_station.domain.money import quantize_down
from task_station.marketdata.live import LiveMarketData
from task_station.venues.ccxt_cex.live_feed import CcxtLiveFeed, LiveFeedConfig, open_live_feed
from task_station.venues.ccxt_cex.retry import RetryPolicy
from task_station.venues.simulator.ccxt_setup import point_ccxt_at
from task_station.venues.simulator.market import SIZE_STEP
from task_station.venues.simulator.server import SimulatorConfig, SimulatorServer, load_data
from tests.venues.simulator.conftest import load_bars

E = TypeVar("E", bound=Event)
SYMBOL = "BTC/USDT"
SPOT_ONLY = {"fetchCurrencies": False, "fetchMargins": False, "fetchMarkets": {"types": ["spot"]}}
FAST = LiveFeedConfig(
    reconnect=RetryPolicy(attempts=1, base_delay=0.02, max_delay=0.1),
    reads=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02),
    poll_interval=0.02,
    gap_fill_idle=0.2,
)
WAIT_S = 5.0


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    server = SimulatorServer(
        load_data(SimulatorConfig(seed=3), load_bars),
        SimulatorConfig(port=0, seed=3, bars_per_second=0),
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2024, 1, 2, tzinfo=UTC))


@pytest.fixture
async def feed(sim: SimulatorServer, clock: ManualClock) -> AsyncIterator[CcxtLiveFeed]:
    live = open_live_feed("binance", clock, base_url=sim.url, options=SPOT_ONLY, config=FAST)
    live.exchange.enableRateLimit = False  # loopback: ccxt's request pacing only slows tests
    try:
        yield live
    finally:
        await live.stop()


class Recorder:
    """Runs a feed (or the live hub) in the background and keeps what it publishes."""

    def __init__(self, sim: SimulatorServer) -> None:
        self.sim = sim
        self.events: list[Event] = []
        self.task: asyncio.Task[None] | None = None
        self.on_event: Callable[[Event], None] | None = None

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def statuses(self, stream: StreamKind) -> list[FeedStatus]:
        return [e.status for e in self.of(FeedStatusChanged) if e.stream is stream]

    def trade_ids(self) -> list[int]:
        return [int(t.trade_id) for t in self.of(TradePrinted)]

    async def until(self, check: Callable[[], bool], *, step: bool = True) -> None:
        """Play a bar every 50 ms (if ``step``) until ``check`` holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while not check():
            assert loop.time() < deadline, "timed out waiting for the feed"
            await asyncio.sleep(0.05)
            if step and not check():
                self.sim.step()

    async def play(self, bars: int) -> None:
        """Play ``bars`` bars, each once the feed has the last trade of the one before."""
        for _ in range(bars):
            self.sim.step()
            last = self.sim.exchange.market.trades[-1].trade_id
            await self.until(lambda last=last: last in self.trade_ids(), step=False)  # type: ignore[misc]


def market_trades(sim: SimulatorServer) -> dict[int, Any]:
    return {t.trade_id: t for t in sim.exchange.market.trades}


@pytest.fixture
def recorder(sim: SimulatorServer) -> Iterator[Recorder]:
    rec = Recorder(sim)
    yield rec
    if rec.task is not None:
        rec.task.cancel()


def start(rec: Recorder, run: Callable[[Callable[[Event], None]], Any]) -> None:
    rec.task = asyncio.create_task(run(rec))


# -- trades -------------------------------------------------------------------------------


async def test_a_dropped_socket_loses_no_trade_and_repeats_none(
    sim: SimulatorServer, feed: CcxtLiveFeed, recorder: Recorder, clock: ManualClock
) -> None:
    hub = LiveMarketData(recorder, clock)
    hub.add_feed(feed)
    hub.build_candles("binance", SYMBOL, "1h")
    feed.subscribe(Subscription(StreamKind.TRADES, SYMBOL))
    recorder.task = asyncio.create_task(hub.run())
    await recorder.until(lambda: bool(recorder.of(TradePrinted)))
    assert [c.streams for c in sim.hub.connections] == [{"btcusdt@aggTrade"}]
    first = recorder.trade_ids()[0]
    await recorder.play(2)
    sim.set_faults("dup_ack=1")  # every message twice: ccxt sees duplicates
    await recorder.play(1)
    sim.set_faults("drop_ws=1")
    sim.step()  # this bar's trades never reach the socket
    dropped = [t.trade_id for t in list(sim.exchange.market.trades)[-4:]]
    sim.set_faults("err5xx=1")  # and REST is down too for a while
    sim.step(2)
    await recorder.until(
        lambda: recorder.statuses(StreamKind.TRADES).count(FeedStatus.DISCONNECTED) >= 3, step=False
    )
    sim.set_faults("")
    await recorder.play(3)
    last = sim.exchange.market.trades[-1].trade_id
    ids = recorder.trade_ids()
    assert ids == list(range(first, last + 1))  # every trade, once, in order
    printed = market_trades(sim)
    for trade in recorder.of(TradePrinted):
        source = printed[int(trade.trade_id)]
        assert (trade.price, trade.amount) == (source.price, source.quantity)
    recovered = {int(t.trade_id) for t in recorder.of(TradePrinted) if t.recovered}
    assert set(dropped) <= recovered
    statuses = recorder.of(FeedStatusChanged)
    retries = [s for s in statuses if s.status is FeedStatus.DISCONNECTED and s.retry_in]
    assert len(retries) >= 2 and all(0 < s.retry_in <= 0.1 for s in retries)  # type: ignore[operator]
    assert "reconnecting" in retries[0].detail or "could not be reached" in retries[0].detail
    filled = [s for s in statuses if s.status is FeedStatus.GAP_FILLED]
    assert filled and filled[-1].recovered >= len(dropped)
    assert recorder.statuses(StreamKind.TRADES)[-1] is FeedStatus.CONNECTED
    # the candles built from those trades are the simulator's bars, the dropped one too
    built = [c for c in recorder.of(CandleUpdated) if c.closed and c.source == "trades"]
    bars = {b.ts: b for b in sim.exchange.market.played}
    assert len(built) >= 7
    for update in built[1:]:  # the first bar was joined midway
        bar = bars[update.candle.ts]
        assert (update.candle.open, update.candle.high, update.candle.low, update.candle.close) == (
            bar.open, bar.high, bar.low, bar.close,
        )  # fmt: skip
        assert update.candle.volume == 4 * quantize_down(bar.volume / 4, SIZE_STEP)
    await hub.stop()


async def test_losing_another_streams_socket_keeps_the_trades_whole(
    sim: SimulatorServer, feed: CcxtLiveFeed, recorder: Recorder
) -> None:
    """ccxt.pro does not say which connection closed: every stream re-checks its gap."""
    feed.subscribe(Subscription(StreamKind.TRADES, SYMBOL))
    feed.subscribe(Subscription(StreamKind.BOOK, SYMBOL, depth=3))
    start(recorder, feed.run)
    await recorder.until(lambda: bool(recorder.of(TradePrinted)) and bool(recorder.of(BookUpdated)))
    first = recorder.trade_ids()[0]
    await recorder.play(1)
    [book_socket] = [c for c in sim.hub.connections if any("depth" in s for s in c.streams)]
    await book_socket.ws.close()
    await recorder.play(3)
    assert recorder.trade_ids() == list(range(first, sim.exchange.market.trades[-1].trade_id + 1))
    assert FeedStatus.DISCONNECTED in recorder.statuses(StreamKind.BOOK)
    assert FeedStatus.GAP_FILLED in recorder.statuses(StreamKind.TRADES)  # checked, not lost
    await recorder.until(
        lambda: recorder.of(BookUpdated)[-1].sequence == len(sim.exchange.market.played)
    )


async def test_venue_without_websockets_is_polled_over_rest(
    sim: SimulatorServer, recorder: Recorder, clock: ManualClock
) -> None:
    exchange = point_ccxt_at(ccxt_async.binance({"timeout": 2000}), sim.url)
    exchange.enableRateLimit = False
    feed = CcxtLiveFeed(exchange, clock, name="binance-rest", config=FAST, owns_exchange=True)
    assert not feed.streaming(StreamKind.TRADES) and not feed.capabilities.websocket
    feed.subscribe(Subscription(StreamKind.TRADES, SYMBOL))
    feed.subscribe(Subscription(StreamKind.TICKER, SYMBOL))
    try:
        start(recorder, feed.run)
        await recorder.until(lambda: bool(recorder.of(TradePrinted)))
        first = recorder.trade_ids()[0]
        await recorder.play(4)
        assert recorder.trade_ids() == list(
            range(first, sim.exchange.market.trades[-1].trade_id + 1)
        )
        assert recorder.statuses(StreamKind.TRADES)[0] is FeedStatus.POLLING
        await recorder.until(
            lambda: recorder.of(TickerUpdated)[-1].last == sim.exchange.market.played[-1].close,
            step=False,
        )
    finally:
        await feed.stop()


# -- candles, books, tickers -----------------------------------------------------------------


async def test_candles_close_in_order_across_a_dropped_socket(
    sim: SimulatorServer, feed: CcxtLiveFeed, recorder: Recorder
) -> None:
    feed.subscribe(Subscription(StreamKind.CANDLES, SYMBOL, timeframe="1h"))
    start(recorder, feed.run)
    await recorder.until(lambda: bool(recorder.of(CandleUpdated)))
    for _ in range(2):
        sim.step()
        await asyncio.sleep(0.05)
    sim.set_faults("drop_ws=1")
    sim.step()
    sim.set_faults("")
    sim.step(2)
    await recorder.until(lambda: FeedStatus.GAP_FILLED in recorder.statuses(StreamKind.CANDLES))
    sim.step()
    newest = sim.exchange.market.played[-1].ts
    await recorder.until(
        lambda: any(c.candle.ts == newest for c in recorder.of(CandleUpdated)), step=False
    )
    closed = [c.candle for c in recorder.of(CandleUpdated) if c.closed]
    bars = {b.ts: b for b in sim.exchange.market.played}
    assert len(closed) >= 5
    assert [c.ts for c in closed] == sorted({c.ts for c in closed})  # once each, in order
    hour = closed[1].ts - closed[0].ts
    assert all(b.ts - a.ts == hour for a, b in itertools.pairwise(closed))  # no hole
    assert all(c == bars[c.ts] for c in closed)


async def test_a_missed_depth_update_resyncs_the_book(
    sim: SimulatorServer, feed: CcxtLiveFeed, recorder: Recorder, clock: ManualClock
) -> None:
    hub = LiveMarketData(recorder, clock)
    hub.add_feed(feed)
    feed.subscribe(Subscription(StreamKind.BOOK, SYMBOL, depth=5))
    synced_when_told: list[bool] = []

    def on_event(event: Event) -> None:
        if isinstance(event, FeedStatusChanged) and event.status is FeedStatus.RESYNCING:
            book = hub.book("binance", SYMBOL)
            synced_when_told.append(book is not None and book.synced)

    recorder.on_event = on_event
    recorder.task = asyncio.create_task(hub.run())

    def book_matches() -> bool:
        updates = recorder.of(BookUpdated)
        bids, asks = sim.exchange.market.book
        return bool(updates) and (updates[-1].bids, updates[-1].asks) == (
            tuple(bids[:5]), tuple(asks[:5]),
        )  # fmt: skip

    await recorder.until(book_matches)
    sim.step()
    await recorder.until(book_matches, step=False)
    assert recorder.of(BookUpdated)[-1].sequence == len(sim.exchange.market.played)
    kept = hub.book("binance", SYMBOL)
    assert kept is not None and kept.best_bid() == sim.exchange.market.book[0][0]

    [conn] = sim.hub.connections
    send = conn.queue.put_nowait
    dropped: list[str] = []

    def lose_one_diff(text: str | None) -> None:
        if text is not None and '"depthUpdate"' in text and not dropped:
            dropped.append(text)
            return
        send(text)

    conn.queue.put_nowait = lose_one_diff  # type: ignore[method-assign]
    sim.step(2)  # the first diff is lost, the second does not follow: a gap
    await recorder.until(lambda: FeedStatus.RESYNCING in recorder.statuses(StreamKind.BOOK))
    assert dropped and synced_when_told == [False]  # nobody could read the holed book
    [resync] = [e for e in recorder.of(FeedStatusChanged) if e.status is FeedStatus.RESYNCING]
    assert "fresh snapshot" in resync.detail and "watchOrderBook" not in resync.detail
    sim.step()
    await recorder.until(book_matches)
    assert kept.synced and kept.best_bid() == sim.exchange.market.book[0][0]
    assert recorder.statuses(StreamKind.BOOK)[-1] is FeedStatus.CONNECTED
    await hub.stop()


async def test_ticker_and_an_unknown_market_fail_alone(
    sim: SimulatorServer, feed: CcxtLiveFeed, recorder: Recorder
) -> None:
    feed.subscribe(Subscription(StreamKind.TICKER, SYMBOL))
    feed.subscribe(Subscription(StreamKind.TRADES, "DOGE/USDT"))
    start(recorder, feed.run)
    await recorder.until(lambda: bool(recorder.of(TickerUpdated)))
    sim.step()
    await recorder.until(
        lambda: recorder.of(TickerUpdated)[-1].last == sim.exchange.market.played[-1].close,
        step=False,
    )
    [failed] = [e for e in recorder.of(FeedStatusChanged) if e.status is FeedStatus.FAILED]
    assert failed.symbol == "DOGE/USDT" and "has no market 'DOGE/USDT'" in failed.detail
    assert isinstance(recorder.of(TickerUpdated)[-1].last, Decimal)
    assert recorder.of(TickerUpdated)[-1].market.pair == SYMBOL


def test_subscriptions_are_validated_before_anything_runs(feed: CcxtLiveFeed) -> None:
    from task_station.domain.errors import ValidationError

    with pytest.raises(ValidationError, match="need a timeframe"):
        Subscription(StreamKind.CANDLES, SYMBOL)
    with pytest.raises(ValidationError, match="has no pool stream"):
        feed.subscribe(Subscription(StreamKind.POOL, SYMBOL))
    with pytest.raises(ValidationError, match="not understood"):
        Subscription(StreamKind.CANDLES, SYMBOL, timeframe="5 min")
