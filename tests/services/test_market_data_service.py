"""``MarketDataService`` on the real container: a bot fed by a replay trades exactly as on
the file, recordings come back through a replay, and roles are checked."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.container import Container
from task_station.domain.bots import BotStatus
from task_station.domain.clock import ManualClock, datetime_to_ms, ms_to_datetime
from task_station.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from task_station.domain.events import Event
from task_station.domain.market_data_events import ReplayChanged, ReplayState
from task_station.domain.market_feed import BookUpdated, TradePrinted
from task_station.domain.orders import OrderSide
from task_station.marketdata.live import LiveMarketData
from task_station.services.principal import Principal
from tests.marketdata.store_fixtures import START, START_MS, history_frame

VENUE, SYMBOL, MARKET = "simulator", "BTC/USDT", "simulator:BTC/USDT"
BARS = 600


async def wait_until(check: Callable[[], bool], timeout: float = 30) -> None:
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def bot(container: Container, actor: Principal, source: str) -> str:
    created = container.services.bots.create(
        actor, name=source[:40], strategy="sma_cross", params={"fast": 3, "slow": 8},
        quote_budget="1000", symbol=SYMBOL, data_source=source,
    )  # fmt: skip
    return created.id


def trading(container: Container, bot_id: str) -> tuple[list[tuple[object, ...]], list[object]]:
    """A bot's orders and fills, without the ids that differ between two bots."""
    orders = container.services.orders.list(bot_id=bot_id, limit=5000)
    fills = container.services.orders.fills(bot_id=bot_id)
    fields = ("created_at", "side", "type", "quantity", "quote_quantity", "price", "status")
    fields += ("filled_quantity", "fees")
    order_rows = [tuple(getattr(o, name) for name in fields) for o in orders]
    return sorted(order_rows), sorted((f.ts, f.side, f.price, f.quantity, f.fee) for f in fills)


async def test_a_bot_fed_by_a_replay_trades_exactly_as_on_the_candle_file(
    container: Container, admin: Principal, tmp_path: Path
) -> None:
    s = container.services
    frame = history_frame(BARS)
    path = tmp_path / "btc.parquet"
    frame.to_parquet(path)
    s.market_data.store.write_candles(VENUE, SYMBOL, "1m", frame)
    on_file = bot(container, admin, f"file:{path}")
    await s.bots.start(admin, on_file)
    await wait_until(lambda: not s.bots.is_running(on_file))
    on_market = bot(container, admin, "market:simulator:BTC/USDT:1m")
    assert s.bots.get(on_market).timeframe == "1m"
    await s.bots.start(admin, on_market)
    handle = s.market_data.start_replay(admin, [MARKET], timeframe="1m", speed=None)
    await wait_until(lambda: s.market_data.replay(handle.id).state is ReplayState.FINISHED)
    await wait_until(lambda: len(s.bots.bars(on_market)) == BARS)
    await s.bots.stop(admin, on_market)
    assert s.bots.get(on_file).status is BotStatus.FINISHED
    assert s.bots.get(on_market).status is BotStatus.STOPPED
    orders, fills = trading(container, on_market)
    assert len(fills) > 10
    assert (orders, fills) == trading(container, on_file)


async def test_recorded_live_data_comes_back_through_a_replay(
    container: Container, admin: Principal
) -> None:
    s = container.services
    clock = ManualClock(START)
    live = LiveMarketData(s.events.publish, clock, forming_updates=False)
    live.build_candles(VENUE, SYMBOL, "1m")
    s.market_data.start_recording(admin, MARKET, book_depth=3, book_interval=0)
    assert [r.market for r in s.market_data.recordings()] == [MARKET]
    sent: list[Event] = []
    for i in range(12):  # a trade and a book every 15 s: three bars
        ts = ms_to_datetime(START_MS + i * 15_000)
        clock.set(ts)
        price = Decimal("100") + i
        trade = TradePrinted(ts, VENUE, SYMBOL, f"t{i}", price, Decimal("0.1"), OrderSide.BUY)
        bids, asks = ((price - 1, Decimal("1")),), ((price + 1, Decimal("2")),)
        book = BookUpdated(ts + timedelta(milliseconds=1), VENUE, SYMBOL, bids, asks)
        live.on_event(trade)
        live.on_event(book)
        sent += [trade, book]
    view = await s.market_data.stop_recording(admin, MARKET)
    assert (view.trades_recorded, view.book_snapshots, view.candles_recorded) == (12, 12, 2)
    kinds = {(x.kind, x.timeframe) for x in s.market_data.inventory()}
    assert kinds == {("candles", "1m"), ("trades", None), ("books", None)}
    replayed: list[Event] = []
    for kind in (TradePrinted, BookUpdated):
        s.events.subscribe(kind, replayed.append)
    handle = s.market_data.start_replay(admin, [MARKET], timeframe=None)
    await wait_until(lambda: s.market_data.replay(handle.id).state.ended)
    assert replayed == sent  # every trade and book, exact, in the order they happened


async def test_recording_and_replaying_one_market_exclude_each_other(
    container: Container, admin: Principal
) -> None:
    s = container.services
    s.market_data.store.write_candles(VENUE, SYMBOL, "1m", history_frame(20))
    states: list[ReplayChanged] = []
    s.events.subscribe(ReplayChanged, states.append)
    handle = s.market_data.start_replay(admin, [MARKET], speed=1.0, paused=True)
    with pytest.raises(ConflictError, match="being replayed"):
        s.market_data.start_recording(admin, MARKET)
    s.market_data.step_replay(admin, handle.id, "bar")
    seek_to = START + timedelta(minutes=10)
    moved = s.market_data.seek_replay(admin, handle.id, seek_to)
    assert moved.position == seek_to and moved.state is ReplayState.PAUSED
    stopped = await s.market_data.stop_replay(admin, handle.id)
    assert stopped.state is ReplayState.STOPPED and stopped.published == 1
    assert states[-1].state is ReplayState.STOPPED
    s.market_data.start_recording(admin, MARKET)
    with pytest.raises(ConflictError, match="being recorded"):
        s.market_data.start_replay(admin, [MARKET])
    await s.market_data.stop_recording(admin, MARKET)
    with pytest.raises(ConflictError, match="not being recorded"):
        await s.market_data.stop_recording(admin, MARKET)


async def test_viewers_read_and_traders_act(container: Container, admin: Principal) -> None:
    s = container.services
    s.users.create("vic", "viewer-password", "viewer", actor=admin)
    viewer = s.auth.login("vic", "viewer-password").principal
    s.market_data.store.write_candles(VENUE, SYMBOL, "1m", history_frame(20))
    with pytest.raises(PermissionDeniedError, match="may not replay market data"):
        s.market_data.start_replay(viewer, [MARKET])
    with pytest.raises(PermissionDeniedError, match="may not record"):
        s.market_data.start_recording(viewer, MARKET)
    with pytest.raises(PermissionDeniedError, match="may not download"):
        s.market_data.start_download(viewer, VENUE, SYMBOL, "1m", START)
    assert [x.rows for x in s.market_data.inventory()] == [20]
    assert s.market_data.replays() == [] and s.market_data.downloads() == []
    with pytest.raises(ValidationError, match="venue:BASE/QUOTE"):
        s.market_data.start_replay(admin, ["BTC/USDT"])
    with pytest.raises(ValidationError, match="timeframe"):
        s.bots.create(admin, name="x", strategy="sma_cross", params={}, quote_budget="10",
                      data_source="market:simulator:BTC/USDT")  # fmt: skip
    assert datetime_to_ms(START) == START_MS
