"""Public Binance spot REST endpoints: time, exchange info, tickers, depth, klines."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from decimal import Decimal

from aiohttp import web

from task_station.domain.candles import TIMEFRAME_SECONDS
from task_station.venues.simulator import binance_format as fmt
from task_station.venues.simulator.exchange import SimExchange
from task_station.venues.simulator.keys import EXCHANGE, FAULTS
from task_station.venues.simulator.order_params import error

routes = web.RouteTableDef()


def _ex(request: web.Request) -> SimExchange:
    return request.app[EXCHANGE]


def _symbol_error(request: web.Request, required: bool = True) -> web.Response | None:
    symbol = request.query.get("symbol")
    if symbol is None and not required:
        return None
    if symbol != fmt.market_id(_ex(request).market.instrument):
        return web.json_response(error(-1121, "Invalid symbol."), status=400)
    return None


def book_strings(ex: SimExchange, limit: int) -> tuple[list[list[str]], list[list[str]]]:
    bids, asks = ex.market.book
    return (
        [[fmt.num(p), fmt.num(q)] for p, q in bids[:limit]],
        [[fmt.num(p), fmt.num(q)] for p, q in asks[:limit]],
    )


@routes.get("/api/v3/ping")
async def ping(request: web.Request) -> web.Response:
    return web.json_response({})


@routes.get("/api/v3/time")
async def server_time(request: web.Request) -> web.Response:
    return web.json_response({"serverTime": _ex(request).market.now_ms()})


@routes.get("/api/v3/exchangeInfo")
async def exchange_info(request: web.Request) -> web.Response:
    ex = _ex(request)
    return web.json_response(
        {
            "timezone": "UTC",
            "serverTime": ex.market.now_ms(),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6000,
                },
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            ],
            "exchangeFilters": [],
            "symbols": [fmt.symbol_info(ex.market.instrument)],
        }
    )


def _ticker(ex: SimExchange) -> fmt.Json:
    day = max(1, 86_400 // TIMEFRAME_SECONDS.get(ex.market.data.timeframe, 3600))
    return fmt.ticker_24h(ex.market.instrument, ex.market.played[-day:], book_strings(ex, 1))


def _one_or_all(request: web.Request, payload: fmt.Json) -> web.Response:
    bad = _symbol_error(request, required=False)
    if bad is not None:
        return bad
    return web.json_response(payload if "symbol" in request.query else [payload])


@routes.get("/api/v3/ticker/24hr")
async def ticker_24hr(request: web.Request) -> web.Response:
    return _one_or_all(request, _ticker(_ex(request)))


@routes.get("/api/v3/ticker/price")
async def ticker_price(request: web.Request) -> web.Response:
    ex = _ex(request)
    last = ex.market.played[-1].close
    return _one_or_all(
        request, {"symbol": fmt.market_id(ex.market.instrument), "price": fmt.num(last)}
    )


@routes.get("/api/v3/ticker/bookTicker")
async def book_ticker(request: web.Request) -> web.Response:
    ex = _ex(request)
    bids, asks = book_strings(ex, 1)
    payload: fmt.Json = {
        "symbol": fmt.market_id(ex.market.instrument),
        "bidPrice": bids[0][0],
        "bidQty": bids[0][1],
        "askPrice": asks[0][0],
        "askQty": asks[0][1],
    }
    return _one_or_all(request, payload)


@routes.get("/api/v3/depth")
async def depth(request: web.Request) -> web.Response:
    bad = _symbol_error(request)
    if bad is not None:
        return bad
    ex = _ex(request)
    bids, asks = book_strings(ex, min(int(request.query.get("limit", "100")), 5000))
    return web.json_response({"lastUpdateId": len(ex.market.played), "bids": bids, "asks": asks})


def _int_param(request: web.Request, name: str, default: int) -> int:
    value = request.query.get(name)
    return default if value is None else int(value)


def select_klines(
    ms: list[int], start: int | None, end: int | None, limit: int, skip: Callable[[int], bool]
) -> list[int]:
    """Indices of the bars Binance returns: from ``startTime`` forward, else back from
    ``endTime`` (or the newest bar); at most ``limit``; ``skip`` leaves bars out."""
    hi = len(ms) if end is None else bisect.bisect_right(ms, end)
    if start is not None:
        candidates: range = range(bisect.bisect_left(ms, start), hi)
    else:
        candidates = range(hi - 1, -1, -1)
    out: list[int] = []
    for i in candidates:
        if len(out) == limit:
            break
        if not skip(ms[i]):
            out.append(i)
    return sorted(out)


@routes.get("/api/v3/klines")
async def klines(request: web.Request) -> web.Response:
    bad = _symbol_error(request)
    if bad is not None:
        return bad
    ex = _ex(request)
    interval = request.query.get("interval")
    if interval != ex.market.data.timeframe:
        return web.json_response(error(-1120, "Invalid interval."), status=400)
    try:
        start = _int_param(request, "startTime", -1)
        end = _int_param(request, "endTime", -1)
        limit = _int_param(request, "limit", 500)
    except ValueError:
        return web.json_response(error(-1100, "Illegal characters found in parameter."), status=400)
    if limit < 1:
        return web.json_response(error(-1100, "limit must be at least 1."), status=400)
    limit = min(limit, 1000)  # Binance's spot maximum
    faults = request.app[FAULTS]
    rows = select_klines(
        ex.market.played_ms, None if start < 0 else start, None if end < 0 else end,
        limit, faults.in_hole,
    )  # fmt: skip
    played = ex.market.played
    return web.json_response([fmt.kline_row(played[i], interval) for i in rows])


def last_price(ex: SimExchange) -> Decimal | None:
    return ex.market.played[-1].close if ex.market.played else None
