"""ccxt.pro binance watches the simulator's streams and sees every played bar."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import ccxt.pro as ccxt_pro

from task_station.venues.simulator.server import SimulatorServer

T = TypeVar("T")


async def watch_while_stepping(
    server: SimulatorServer, watch: Callable[[], Awaitable[T]], bars: int = 1
) -> T:
    """Start ``watch``, let it subscribe, then play bars until it resolves."""
    task = asyncio.ensure_future(watch())
    for _ in range(50):
        await asyncio.sleep(0.02)
        if task.done():
            break
        server.step(bars)
    return await asyncio.wait_for(task, 2)


async def test_watch_ticker_receives_mini_ticker(
    binance_pro: ccxt_pro.binance, server: SimulatorServer
) -> None:
    ticker = await watch_while_stepping(server, lambda: binance_pro.watch_ticker("BTC/USDT"))
    last = server.exchange.market.played[-1].close
    assert ticker["symbol"] == "BTC/USDT" and ticker["close"] == float(last)


async def test_watch_trades_receives_bar_trades(
    binance_pro: ccxt_pro.binance, server: SimulatorServer
) -> None:
    trades = await watch_while_stepping(server, lambda: binance_pro.watch_trades("BTC/USDT"))
    assert trades and all(t["symbol"] == "BTC/USDT" for t in trades)


async def test_watch_order_book_stitches_snapshot_and_diffs(
    binance_pro: ccxt_pro.binance, server: SimulatorServer
) -> None:
    book = await watch_while_stepping(server, lambda: binance_pro.watch_order_book("BTC/USDT"))
    for _ in range(3):
        book = await watch_while_stepping(server, lambda: binance_pro.watch_order_book("BTC/USDT"))
    bids, asks = server.exchange.market.book
    assert book["bids"][0][0] == float(bids[0][0]) and book["asks"][0][0] == float(asks[0][0])
    assert len(book["bids"]) == len(bids)


async def test_watch_ohlcv_receives_closed_kline(
    binance_pro: ccxt_pro.binance, server: SimulatorServer
) -> None:
    bars = await watch_while_stepping(server, lambda: binance_pro.watch_ohlcv("BTC/USDT", "1h"))
    assert bars[-1][4] == float(server.exchange.market.played[-1].close)
