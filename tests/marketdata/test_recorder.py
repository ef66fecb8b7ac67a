"""``MarketRecorder`` on a real bus and a real store: batched, throttled, bounded, and
never in the way of the engine when the disk fails."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.domain.candles import Candle
from task_station.domain.clock import datetime_to_ms, ms_to_datetime
from task_station.domain.errors import ValidationError
from task_station.domain.events import OrderFilled, OrderUpdated
from task_station.domain.market_feed import BookUpdated, CandleUpdated, TradePrinted
from task_station.domain.orders import Fill, Order, OrderSide, OrderStatus, OrderType
from task_station.engine.bus import EventBus
from task_station.marketdata.recorder import MarketRecorder, RecordingSpec
from task_station.marketdata.store import MarketStore
from tests.marketdata.store_fixtures import START, START_MS

VENUE, SYMBOL = "simulator", "BTC/USDT"
D = Decimal


def trade(ms: int, price: str = "100.5", trade_id: str = "", venue: str = VENUE) -> TradePrinted:
    return TradePrinted(ms_to_datetime(ms), venue, SYMBOL, trade_id or f"t{ms}", D(price),
                        D("0.25"), OrderSide.SELL)  # fmt: skip


def book(ms: int, bid: str = "100") -> BookUpdated:
    bids = tuple((D(bid) - i, D("1.5")) for i in range(20))
    asks = tuple((D(bid) + 1 + i, D("2")) for i in range(20))
    return BookUpdated(ms_to_datetime(ms), VENUE, SYMBOL, bids, asks)


def candle(minute: int, closed: bool = True) -> CandleUpdated:
    bar = Candle(START + timedelta(minutes=minute), D("100"), D("102"), D("99.5"), D("101.25"),
                 D("7"))  # fmt: skip
    return CandleUpdated(bar.ts + timedelta(minutes=1), VENUE, SYMBOL, "1m", bar, closed)


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def store(tmp_path: Path) -> MarketStore:
    return MarketStore(tmp_path / "market")


async def test_events_are_buffered_then_written_in_one_batch(
    bus: EventBus, store: MarketStore
) -> None:
    recorder = MarketRecorder(store, bus, flush_interval=3600)
    recorder.record(RecordingSpec(VENUE, SYMBOL, book_depth=5, book_interval=1.0))
    for i in range(300):
        bus.publish(trade(START_MS + i * 100, price=str(100 + i % 7)))
        bus.publish(book(START_MS + i * 100))  # ten a second: one snapshot a second kept
    bus.publish(candle(0, closed=False))  # still forming: not a bar yet
    bus.publish(candle(0))
    bus.publish(trade(START_MS, venue="binance"))  # a market nobody records
    assert not store.root.exists()  # nothing touched the disk per event
    assert recorder.stats.pending == 300 + 30 * 10 + 1
    written = await recorder.flush()
    assert written == 300 + 300 + 1 and recorder.stats.pending == 0
    trades = store.read_trades(VENUE, SYMBOL)
    assert len(trades) == 300 and trades["side"].eq("sell").all()
    assert trades["price"].tolist()[:3] == [100.0, 101.0, 102.0]
    levels = store.read_book_snapshots(VENUE, SYMBOL)
    assert levels["ts"].nunique() == 30 and levels["level"].max() == 4  # top 5 levels
    assert (levels["ts"].diff().dropna().unique() >= 0).all()
    bars = store.read_candles(VENUE, SYMBOL, "1m")
    assert len(bars) == 1 and bars.candle(0).close == D("101.25")
    assert store.read_trades("binance", SYMBOL).empty
    assert recorder.counts[(VENUE, SYMBOL)].book_snapshots == 30
    await recorder.stop()
    assert bus.listeners(TradePrinted) == 0


async def test_bot_decisions_are_logged_on_the_market_clock(
    bus: EventBus, store: MarketStore
) -> None:
    recorder = MarketRecorder(store, bus, flush_interval=3600)
    bus.publish(OrderUpdated(START, _order()))  # nothing is recorded yet: not kept
    recorder.record(RecordingSpec(VENUE, SYMBOL))
    bar_close = START + timedelta(minutes=5)
    order = _order(status=OrderStatus.ACCEPTED)
    bus.publish(OrderUpdated(bar_close, order))
    fill = Fill("f1", order.client_order_id, SYMBOL, OrderSide.BUY, D("100.10"), D("0.5"),
                D("0.05005"), "USDT", "taker", bar_close, "bot-1")  # fmt: skip
    bus.publish(OrderFilled(bar_close, order, fill))
    await recorder.stop()
    records = recorder.decisions.read("bot-1")
    assert [r["kind"] for r in records] == ["order", "fill"]
    assert records[0]["ts"] == datetime_to_ms(bar_close) and records[0]["status"] == "accepted"
    assert (records[1]["fill_price"], records[1]["fee"]) == ("100.10", "0.05005")
    day = (store.root / "decisions" / "bot-1").iterdir()
    assert [p.name for p in day] == ["2023-01-31.jsonl"]
    assert recorder.decisions.read("bot-1", end_ms=datetime_to_ms(bar_close)) == []


async def test_memory_is_bounded_and_drops_are_counted(bus: EventBus, store: MarketStore) -> None:
    recorder = MarketRecorder(store, bus, flush_interval=3600, flush_rows=10**6, max_pending=50)
    recorder.record(RecordingSpec(VENUE, SYMBOL, books=False))
    for i in range(80):
        bus.publish(trade(START_MS + i))
    assert (recorder.stats.pending, recorder.stats.dropped) == (50, 30)
    await recorder.stop()
    assert len(store.read_trades(VENUE, SYMBOL)) == 50


async def test_a_failing_disk_is_counted_and_retried_without_stopping_the_publisher(
    bus: EventBus, tmp_path: Path
) -> None:
    blocked = tmp_path / "market"
    blocked.write_text("a file where the store's directory should be")
    recorder = MarketRecorder(MarketStore(blocked), bus, flush_interval=3600)
    recorder.record(RecordingSpec(VENUE, SYMBOL))
    bus.publish(trade(START_MS))
    assert await recorder.flush() == 0
    stats = recorder.stats
    assert (
        stats.errors == 1
        and stats.pending == 1
        and "trades of simulator:BTC/USDT" in (stats.last_error or "")
    )
    blocked.unlink()  # the trader fixed the disk: the kept batch goes out
    assert await recorder.flush() == 1
    # a batch the store refuses (a timestamp far in the future) is dropped, not retried
    bus.publish(trade(datetime_to_ms(START) + 10**13))
    assert await recorder.flush() == 0
    assert recorder.stats.dropped == 1 and recorder.stats.pending == 0
    await recorder.stop()


async def test_the_timer_flushes_without_being_asked(bus: EventBus, store: MarketStore) -> None:
    recorder = MarketRecorder(store, bus, flush_interval=0.05)
    recorder.record(RecordingSpec(VENUE, SYMBOL))
    bus.publish(trade(START_MS))
    for _ in range(100):
        await asyncio.sleep(0.02)
        if recorder.stats.written:
            break
    assert len(store.read_trades(VENUE, SYMBOL)) == 1
    await recorder.stop()


def test_a_spec_refuses_what_cannot_be_recorded() -> None:
    with pytest.raises(ValidationError, match="depth"):
        RecordingSpec(VENUE, SYMBOL, book_depth=0)
    with pytest.raises(ValidationError, match="at least one"):
        RecordingSpec(VENUE, SYMBOL, trades=False, books=False, candles=False)
    with pytest.raises(ValidationError, match="BASE/QUOTE"):
        RecordingSpec(VENUE, "BTCUSDT")


def _order(status: OrderStatus = OrderStatus.SUBMITTED) -> Order:
    return Order(client_order_id="c1", venue="paper", symbol=SYMBOL, side=OrderSide.BUY,
                 type=OrderType.MARKET, created_at=START, quantity=D("0.5"), bot_id="bot-1",
                 status=status)  # fmt: skip
