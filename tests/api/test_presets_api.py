"""The presets routes over real HTTP: login required, filters, one preset, 404."""

from __future__ import annotations

import httpx

from task_station.strategies.presets import load_presets


async def test_presets_need_a_login(client: httpx.AsyncClient) -> None:
    assert (await client.get("/presets")).status_code == 401
    assert (await client.get("/presets/sma-cross-swing-btc-1h-conservative")).status_code == 401


async def test_list_all_and_filter_by_family_and_search(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    everything = await client.get("/presets", headers=admin_headers)
    assert everything.status_code == 200, everything.text
    assert len(everything.json()) == len(load_presets())

    response = await client.get(
        "/presets",
        params={"family": "rsi_reversion", "search": "eth", "risk": "conservative"},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text
    found = response.json()
    assert found
    for p in found:
        assert (p["family"], p["symbol"], p["risk_profile"]) == (
            "rsi_reversion",
            "ETH/USDT",
            "conservative",
        )
        assert {"name", "timeframe", "market_type", "params", "description", "tags"} <= set(p)
        # Decimals travel as exact strings, whole numbers as numbers.
        assert isinstance(p["params"]["lower"], str) and isinstance(p["params"]["period"], int)

    bad = await client.get("/presets", params={"family": "nope"}, headers=admin_headers)
    assert bad.status_code == 422 and "unknown family 'nope'" in bad.text


async def test_one_preset_and_404_for_an_unknown_name(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    name = "rsi-reversion-classic-btc-1h-conservative"
    response = await client.get(f"/presets/{name}", headers=admin_headers)
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["name"] == name and shown["family"] == "rsi_reversion"
    assert shown["params"]["period"] == 14 and shown["timeframe"] == "1h"
    assert shown["symbols"] == ["BTC/USDT"]
    pair = await client.get("/presets/pairs-trading-slow-ethbtc-1h-balanced", headers=admin_headers)
    assert pair.json()["symbols"] == ["ETH/USDT", "BTC/USDT"]

    missing = await client.get("/presets/rsi-reversion-nope", headers=admin_headers)
    assert missing.status_code == 404
    assert "unknown preset 'rsi-reversion-nope'" in missing.text
