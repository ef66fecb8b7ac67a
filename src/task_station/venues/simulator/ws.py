"""Binance spot market streams over WebSocket: miniTicker, trade, depth, kline.

Clients connect to ``/ws`` (raw payloads) or ``/stream`` (``{"stream", "data"}``
wrappers), optionally with a path suffix as ccxt.pro uses (``/ws/0``), and subscribe
with ``{"method": "SUBSCRIBE", "params": [...], "id": N}``. Each played bar publishes
one message per subscribed stream; the diff-depth ``U``/``u`` ids count bars, matching
``lastUpdateId`` of ``GET /api/v3/depth``, so ccxt.pro can stitch snapshot and diffs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import WSMsgType, web

from task_station.domain.candles import Candle
from task_station.venues.simulator import binance_format as fmt
from task_station.venues.simulator import stream_format as events
from task_station.venues.simulator.exchange import SimExchange
from task_station.venues.simulator.faults import FaultSpec
from task_station.venues.simulator.market import PublicTrade


class Connection:
    """One client socket, its subscriptions and its outbound queue."""

    def __init__(self, ws: web.WebSocketResponse, combined: bool) -> None:
        self.ws = ws
        self.combined = combined
        self.streams: set[str] = set()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()


class WsHub:
    """Fans market updates out to subscribed connections."""

    def __init__(self, exchange: SimExchange, faults: FaultSpec) -> None:
        self.exchange = exchange
        self.faults = faults
        self.connections: list[Connection] = []
        # The book the first diff starts from: the warmed-up one (an empty start made
        # the first depthUpdate delete nothing, leaving the warm-up levels in clients).
        self._prev_book: tuple[list[list[str]], list[list[str]]] = self._book_strings()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        conn = Connection(ws, combined=request.path.startswith("/stream"))
        for name in request.query.get("streams", "").split("/"):
            if name:
                conn.streams.add(name)
        self.connections.append(conn)
        sender = asyncio.create_task(self._send_loop(conn))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    self._on_text(conn, msg.data)
        finally:
            self.connections.remove(conn)
            conn.queue.put_nowait(None)
            await sender
        return ws

    def _on_text(self, conn: Connection, text: str) -> None:
        try:
            request = json.loads(text)
            method, params = request.get("method"), request.get("params", [])
        except (ValueError, AttributeError):
            conn.queue.put_nowait(json.dumps({"error": {"code": 2, "msg": "Invalid JSON"}}))
            return
        if method == "SUBSCRIBE":
            conn.streams.update(params)
        elif method == "UNSUBSCRIBE":
            conn.streams.difference_update(params)
        result = sorted(conn.streams) if method == "LIST_SUBSCRIPTIONS" else None
        conn.queue.put_nowait(json.dumps({"result": result, "id": request.get("id")}))

    async def _send_loop(self, conn: Connection) -> None:
        while (text := await conn.queue.get()) is not None:
            if conn.ws.closed:
                return
            with contextlib.suppress(ConnectionError):
                await conn.ws.send_str(text)

    def publish_bar(self) -> None:
        """Send the latest bar's updates to every subscriber."""
        market = self.exchange.market
        bar, trades = market.played[-1], list(market.trades)[-4:]
        book = self._book_strings()
        for conn in list(self.connections):
            if self.faults.roll("drop_ws"):
                asyncio.get_running_loop().create_task(conn.ws.close())
                continue
            for stream in sorted(conn.streams):
                for payload in self._payloads(stream, bar, trades, book):
                    text = json.dumps(
                        {"stream": stream, "data": payload} if conn.combined else payload
                    )
                    conn.queue.put_nowait(text)
                    if self.faults.roll("dup_ack"):
                        conn.queue.put_nowait(text)
        self._prev_book = book

    def _book_strings(self) -> tuple[list[list[str]], list[list[str]]]:
        bids, asks = self.exchange.market.book
        return (
            [[fmt.num(p), fmt.num(q)] for p, q in bids],
            [[fmt.num(p), fmt.num(q)] for p, q in asks],
        )

    def _payloads(
        self,
        stream: str,
        bar: Candle,
        trades: list[PublicTrade],
        book: tuple[list[list[str]], list[list[str]]],
    ) -> list[fmt.Json]:
        market = self.exchange.market
        sym = fmt.market_id(market.instrument)
        if not stream.startswith(sym.lower() + "@"):
            return []
        kind = stream.split("@")[1]
        now = market.now_ms()
        if kind == "miniTicker":
            return [events.mini_ticker(sym, market.played[-24:], now)]
        if kind == "trade":
            return [events.trade_event(sym, t, now) for t in trades]
        if kind == "aggTrade":
            return [events.agg_trade_event(sym, t, now) for t in trades]
        if kind == "depth":
            n = len(market.played)
            return [events.depth_diff(sym, n, now, self._prev_book, book)]
        if kind.startswith("depth"):
            levels = int(kind[5:] or 20)
            return [{"lastUpdateId": len(market.played), "bids": book[0][:levels],
                     "asks": book[1][:levels]}]  # fmt: skip
        if kind == f"kline_{market.data.timeframe}":
            return [events.kline_event(sym, bar, market.data.timeframe, now)]
        return []

    async def close_all(self) -> None:
        for conn in list(self.connections):
            await conn.ws.close()


def ws_routes(hub: WsHub) -> list[web.RouteDef]:
    return [
        web.get("/ws", hub.handle),
        web.get("/ws/{rest:.*}", hub.handle),
        web.get("/stream", hub.handle),
        web.get("/stream/{rest:.*}", hub.handle),
        *trade_history_routes(hub),
    ]


def trade_history_routes(hub: WsHub) -> list[web.RouteDef]:
    """``GET /api/v3/aggTrades``: the REST side of the trade streams.

    It lives beside the streams because the two share trade ids: a client that lost
    its socket fills the gap from here and matches trades by id. Only the market's
    recent trades (its ring buffer) can be read back.
    """

    async def agg_trades(request: web.Request) -> web.Response:
        market = hub.exchange.market
        if request.query.get("symbol") != fmt.market_id(market.instrument):
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        try:
            query = {k: int(request.query[k]) for k in ("fromId", "startTime", "endTime", "limit")
                     if k in request.query}  # fmt: skip
        except ValueError:
            return web.json_response(
                {"code": -1100, "msg": "Illegal characters found in a parameter."}, status=400
            )
        rows = events.select_agg_trades(
            list(market.trades),
            from_id=query.get("fromId"),
            start_ms=query.get("startTime"),
            end_ms=query.get("endTime"),
            limit=max(1, min(query.get("limit", 500), 1000)),
        )
        return web.json_response(rows)

    return [web.get("/api/v3/aggTrades", agg_trades)]
