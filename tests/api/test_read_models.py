"""Read-only endpoints: orders, candles and the strategy catalogue."""

from __future__ import annotations

from decimal import Decimal

import httpx


async def test_orders_unknown_status_returns_422_listing_known(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get("/orders", params={"status": "lost"}, headers=admin_headers)
    assert response.status_code == 422
    assert "filled" in response.json()["detail"]


async def test_orders_non_numeric_limit_returns_422_naming_limit(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get("/orders", params={"limit": "many"}, headers=admin_headers)
    assert response.status_code == 422
    assert "limit" in response.json()["detail"]


async def test_orders_and_fills_without_bots_return_empty(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert (await client.get("/orders", headers=admin_headers)).json() == []
    assert (await client.get("/fills", headers=admin_headers)).json() == []
    assert (await client.get("/portfolio", headers=admin_headers)).json() == []


async def test_market_candles_returns_limit_with_string_prices(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(
        "/market/candles", params={"source": "synthetic:3", "limit": 5}, headers=admin_headers
    )
    assert response.status_code == 200
    candles = response.json()
    assert len(candles) == 5
    for candle in candles:
        for key in ("open", "high", "low", "close", "volume"):
            assert isinstance(candle[key], str)
        assert Decimal(candle["low"]) <= Decimal(candle["high"])


async def test_market_candles_bad_source_returns_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(
        "/market/candles", params={"source": "somewhere"}, headers=admin_headers
    )
    assert response.status_code == 422
    assert "somewhere" in response.json()["detail"]


async def test_strategies_returns_sma_cross_param_schema(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get("/strategies", headers=admin_headers)
    assert response.status_code == 200
    (sma,) = [s for s in response.json() if s["name"] == "sma_cross"]
    params = {p["name"]: p for p in sma["params"]}
    assert set(params) == {"fast", "slow"}
    assert params["fast"]["kind"] == "int"
    assert params["fast"]["minimum"] == 1


async def test_unknown_route_returns_404_in_error_shape(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get("/no/such/thing", headers=admin_headers)
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"
