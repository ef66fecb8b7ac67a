"""``LiveMarketData`` fed by hand: books, trade-built candles and their closing rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from task_station.domain.clock import ManualClock
from task_station.domain.events import Event
from task_station.domain.market_feed import (
    BookUpdated,
    CandleUpdated,
    FeedStatus,
    FeedStatusChanged,
    StreamKind,
    TickerUpdated,
    TradePrinted,
)
from task_station.marketdata.live import LiveMarketData
from task_station.marketdata.orderbook import OrderBookOutOfSync

D = Decimal
T0 = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)


def trade(seconds: float, price: str, amount: str, trade_id: str) -> TradePrinted:
    return TradePrinted(
        ts=T0 + timedelta(seconds=seconds), venue="binance", symbol="BTC/USDT",
        trade_id=trade_id, price=D(price), amount=D(amount), side=None,
    )  # fmt: skip


def status(stream: StreamKind, state: FeedStatus) -> FeedStatusChanged:
    return FeedStatusChanged(
        ts=T0, venue="binance", symbol="BTC/USDT", stream=stream, status=state, detail="test"
    )


def book(sequence: int, bid: str, ask: str) -> BookUpdated:
    return BookUpdated(
        ts=T0, venue="binance", symbol="BTC/USDT",
        bids=((D(bid), D("1")),), asks=((D(ask), D("2")),), sequence=sequence,
    )  # fmt: skip


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def closed_candles(events: list[Event]) -> list[CandleUpdated]:
    return [e for e in events if isinstance(e, CandleUpdated) and e.closed]


def test_trade_candles_close_on_the_next_bar_or_by_the_clock_when_healthy(
    clock: ManualClock,
) -> None:
    events: list[Event] = []
    hub = LiveMarketData(events.append, clock, close_grace=timedelta(seconds=2))
    hub.build_candles("binance", "BTC/USDT", "1m")
    hub.on_event(status(StreamKind.TRADES, FeedStatus.CONNECTED))
    for event in (trade(1, "100", "1", "1"), trade(30, "103", "2", "2"), trade(61, "99", "1", "3")):
        hub.on_event(event)
    [first] = closed_candles(events)
    assert (first.candle.open, first.candle.high, first.candle.close, first.candle.volume) == (
        D("100"), D("103"), D("103"), D("3"),
    )  # fmt: skip
    assert first.source == "trades" and hub.last_price("binance", "BTC/USDT") == D("99")
    forming = [e for e in events if isinstance(e, CandleUpdated) and not e.closed]
    assert forming[-1].candle.close == D("99")
    clock.set(T0 + timedelta(seconds=121))  # the bar ended a second ago: within the grace
    assert hub.close_due() == 0
    hub.on_event(status(StreamKind.TRADES, FeedStatus.DISCONNECTED))
    clock.set(T0 + timedelta(seconds=300))
    assert hub.close_due() == 0  # the outage may hide trades of that bar: keep it open
    hub.on_event(trade(100, "98", "1", "4"))  # recovered from REST after the outage
    hub.on_event(status(StreamKind.TRADES, FeedStatus.GAP_FILLED))
    assert hub.close_due() == 1
    last = closed_candles(events)[-1].candle
    assert (last.low, last.close, last.volume) == (D("98"), D("98"), D("2"))


def test_kept_book_follows_updates_and_refuses_reads_during_trouble(clock: ManualClock) -> None:
    events: list[Event] = []
    hub = LiveMarketData(events.append, clock)
    hub.on_event(book(7, "100", "101"))
    kept = hub.book("binance", "BTC/USDT")
    assert kept is not None and kept.mid() == D("100.5")
    hub.on_event(book(6, "90", "91"))  # older than the kept one: ignored
    assert kept.best_bid() == (D("100"), D("1"))
    hub.on_event(status(StreamKind.BOOK, FeedStatus.RESYNCING))
    with pytest.raises(OrderBookOutOfSync, match="resyncing"):
        kept.best_bid()
    hub.on_event(book(9, "102", "103"))
    assert kept.best_ask() == (D("103"), D("2"))
    hub.on_event(
        TickerUpdated(ts=T0, venue="binance", symbol="BTC/USDT", bid=D("1"), ask=D("3"), last=None)
    )
    assert hub.last_price("binance", "BTC/USDT") == D("2")
    assert len(events) == 5  # every feed event is passed on
    assert hub.stream_status("binance", "BTC/USDT", StreamKind.BOOK) is FeedStatus.RESYNCING
