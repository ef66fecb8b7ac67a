"""The simulator's REST dialect checked byte-level against Binance's, without ccxt."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from task_station.venues.simulator.server import SimulatorServer

from .conftest import KEY, SECRET


def signed_query(params: dict[str, object], secret: str = SECRET) -> str:
    query = urlencode(params)
    sig = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={sig}"


async def test_exchange_info_filters_have_the_recorded_shape(
    server: SimulatorServer, shared_data: Path
) -> None:
    recorded = json.loads(
        (
            shared_data / "exchange-responses/binance/capture-2021-10-12/rest-exchangeInfo.json"
        ).read_text()
    )
    real = {f["filterType"]: set(f) for f in recorded["symbols"][0]["filters"]}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/v3/exchangeInfo") as resp,
    ):
        ours = await resp.json()
    sym = ours["symbols"][0]
    assert {"symbol", "baseAsset", "quoteAsset", "filters", "orderTypes"} <= set(sym)
    filters = {f["filterType"]: set(f) for f in sym["filters"]}
    assert filters["PRICE_FILTER"] == real["PRICE_FILTER"]
    assert filters["LOT_SIZE"] == real["LOT_SIZE"]
    assert {"minNotional", "applyMinToMarket", "avgPriceMins"} <= filters["NOTIONAL"]


async def test_public_endpoints_answer_in_binance_shape(server: SimulatorServer) -> None:
    async with aiohttp.ClientSession() as http:

        async def get(path: str) -> Any:
            async with http.get(f"{server.url}{path}") as resp:
                assert resp.status == 200, path
                return await resp.json()

        assert await get("/api/v3/ping") == {}
        assert "serverTime" in await get("/api/v3/time")
        price = await get("/api/v3/ticker/price?symbol=BTCUSDT")
        book = await get("/api/v3/ticker/bookTicker?symbol=BTCUSDT")
        assert set(price) == {"symbol", "price"}
        assert set(book) == {"symbol", "bidPrice", "bidQty", "askPrice", "askQty"}
        assert isinstance(await get("/api/v3/ticker/24hr"), list)


async def test_tampered_signature_gets_binance_error_1022(server: SimulatorServer) -> None:
    query = signed_query({"timestamp": 1}).replace("timestamp=1", "timestamp=2")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/v3/account?{query}", headers={"X-MBX-APIKEY": KEY}) as resp,
    ):
        assert resp.status == 400
        assert await resp.json() == {
            "code": -1022,
            "msg": "Signature for this request is not valid.",
        }


async def test_unknown_order_id_gets_binance_error_2013(server: SimulatorServer) -> None:
    query = signed_query({"symbol": "BTCUSDT", "orderId": 42, "timestamp": 1})
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/v3/order?{query}", headers={"X-MBX-APIKEY": KEY}) as resp,
    ):
        assert (await resp.json())["code"] == -2013


async def test_all_orders_lists_orders_posted_in_a_signed_body(server: SimulatorServer) -> None:
    body = signed_query(
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "0.01", "price": "1000.00", "newClientOrderId": "raw-1", "timestamp": 1}
    )  # fmt: skip
    headers = {"X-MBX-APIKEY": KEY, "Content-Type": "application/x-www-form-urlencoded"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/v3/order", data=body, headers=headers) as resp:
            placed = await resp.json()
            assert resp.status == 200 and placed["status"] == "NEW"
        query = signed_query({"symbol": "BTCUSDT", "timestamp": 2})
        async with http.get(f"{server.url}/api/v3/allOrders?{query}", headers=headers) as resp:
            orders = await resp.json()
    assert [o["clientOrderId"] for o in orders] == ["raw-1"]
    assert orders[0]["orderId"] == placed["orderId"]
