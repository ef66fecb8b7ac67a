"""/chains, /wallets and /dexes over loopback HTTP against a real station, reading a real
py-evm chain with the real Uniswap V2 contracts (also served on loopback HTTP)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.helpers import Station, bearer, login
from tests.support.uniswap import E18, UniswapWorld, uniswap_world

RPC_KEY = "APIRPCKEY7c0ffee0ddba11"


@pytest.fixture
async def world() -> AsyncIterator[UniswapWorld]:
    w = await uniswap_world()
    try:
        yield w
    finally:
        await w.chain.stop()


def _db_bytes(station: Station) -> bytes:
    data = Path(station.container.settings.data_dir)
    return b"".join(p.read_bytes() for p in data.glob("*.db*"))


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if status != 204 else None


async def _registry(
    client: httpx.AsyncClient, headers: dict[str, str], world: UniswapWorld, url: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    chain = await _ok(
        await client.post(
            "/chains",
            json={"name": "dev", "rpc_url": url, "chain_id": world.chain.chain_id},
            headers=headers,
        ),
        201,
    )
    spec = world.dex
    dex = await _ok(
        await client.post(
            "/dexes",
            json={
                "chain_id": chain["chain_id"],
                "name": "uniswap-v2",
                "router": spec.router,
                "factory": spec.factory,
            },
            headers=headers,
        ),
        201,
    )
    for body in ({"address": world.weth.address}, {"address": world.usd.address, "symbol": "USD"}):
        await _ok(await client.post(f"/dexes/{dex['id']}/tokens", json=body, headers=headers), 201)
    return chain, dex


async def test_chain_dex_tokens_pools_and_quote_end_to_end(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    station: Station,
    world: UniswapWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"{world.chain.url}/?apikey={RPC_KEY}"
    chain, dex = await _registry(client, admin_headers, world, url)
    assert chain["rpc_url"] == f"{world.chain.url}/?apikey=***"
    assert chain["rpc_url_has_secret"] is True
    assert set(dex) == {"id", "chain_id", "name", "router", "factory", "fee_bps", "created_at"}
    chains = await _ok(await client.get("/chains", headers=admin_headers))
    assert [c["chain_id"] for c in chains] == [world.chain.chain_id]
    tokens = await _ok(await client.get(f"/dexes/{dex['id']}/tokens", headers=admin_headers))
    assert [(t["symbol"], t["decimals"]) for t in tokens] == [("WETH", 18), ("USD", 18)]

    pools = await _ok(await client.get(f"/dexes/{dex['id']}/pools", headers=admin_headers))
    (pool,) = pools
    r0, r1, t0, t1 = world.reserves()
    assert (pool["token0"]["address"], pool["token1"]["address"]) == (t0, t1)
    assert Decimal(pool["reserve0"]) == Decimal(r0).scaleb(-18)
    assert Decimal(pool["reserve1"]) == Decimal(r1).scaleb(-18)
    assert "E" not in pool["reserve0"] + pool["reserve1"]
    assert Decimal(pool["price"]) == Decimal(r1) / Decimal(r0)

    quoted = await _ok(
        await client.post(
            f"/dexes/{dex['id']}/quote",
            json={"token_in": "WETH", "token_out": "USD", "amount": "2.5"},
            headers=admin_headers,
        )
    )
    router = world.contract("router", world.deployment.router)
    path = [world.weth.address, world.usd.address]
    expected = int(world.call(router.functions.getAmountsOut(25 * E18 // 10, path))[-1])
    assert Decimal(quoted["router_amount_out"]) == Decimal(expected).scaleb(-18)
    assert quoted["exact_amount_out"] == quoted["router_amount_out"] and quoted["agrees"]
    assert quoted["amount_in"] == "2.5"
    for field in ("price", "mid_price", "price_impact", "router_amount_out"):
        assert isinstance(quoted[field], str)
    assert Decimal("0.003") < Decimal(quoted["price_impact"]) < Decimal("0.01")

    everything = " ".join(
        [str(chains), str(pools), str(quoted), *(r.getMessage() for r in caplog.records)]
    )
    assert RPC_KEY not in everything
    assert RPC_KEY.encode() not in _db_bytes(station)

    blocked = await client.delete(f"/chains/{chain['chain_id']}", headers=admin_headers)
    assert blocked.status_code == 409 and "remove them first" in blocked.json()["detail"]
    await _ok(await client.delete(f"/dexes/{dex['id']}", headers=admin_headers), 204)
    await _ok(await client.delete(f"/chains/{chain['chain_id']}", headers=admin_headers), 204)
    assert await _ok(await client.get("/chains", headers=admin_headers)) == []


async def test_wallets_never_echo_the_key(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    station: Station,
    world: UniswapWorld,
) -> None:
    chain, _ = await _registry(client, admin_headers, world, world.chain.url)
    bare = secrets.token_hex(32)
    body = {"chain_id": chain["chain_id"], "label": "hot", "private_key": "0x" + bare}
    created = await _ok(await client.post("/wallets", json=body, headers=admin_headers), 201)
    assert set(created) == {"id", "chain_id", "address", "label", "watch_only", "created_at"}
    assert created["watch_only"] is False
    watch = {"chain_id": chain["chain_id"], "label": "cold", "address": world.chain.address(2)}
    await _ok(await client.post("/wallets", json=watch, headers=admin_headers), 201)
    listed = await client.get("/wallets", headers=admin_headers)
    assert [w["label"] for w in listed.json()] == ["hot", "cold"]
    balances = await _ok(
        await client.get(f"/wallets/{created['id']}/balances", headers=admin_headers)
    )
    assert [(b["symbol"], b["amount"]) for b in balances] == [
        ("ETH", "0"),
        ("WETH", "0"),
        ("USD", "0"),
    ]
    bad_key = "0x" + bare[:-2] + "zz"
    refused = await client.post(
        "/wallets", json={**body, "private_key": bad_key}, headers=admin_headers
    )
    assert refused.status_code == 422 and "not a valid private key" in refused.text
    malformed = await client.post(
        "/wallets", json={**body, "label": "", "x": 1}, headers=admin_headers
    )
    assert malformed.status_code == 422
    texts = created["address"] + listed.text + refused.text + malformed.text
    assert bare not in texts and bare[:-2] not in texts
    assert bare.encode() not in _db_bytes(station)
    assert station.container.vault.get(f"wallet:{created['id']}:private_key") == "0x" + bare
    await _ok(await client.delete(f"/wallets/{created['id']}", headers=admin_headers), 204)
    assert not station.container.vault.get(f"wallet:{created['id']}:private_key")


async def test_viewer_reads_and_quotes_but_cannot_change(
    client: httpx.AsyncClient, admin_headers: dict[str, str], station: Station, world: UniswapWorld
) -> None:
    chain, dex = await _registry(client, admin_headers, world, world.chain.url)
    station.add_user("vera", "viewer-password-1", "viewer")
    viewer = bearer(await login(client, "vera", "viewer-password-1"))
    assert len(await _ok(await client.get("/dexes", headers=viewer))) == 1
    assert len(await _ok(await client.get(f"/dexes/{dex['id']}/pools", headers=viewer))) == 1
    quote = {"token_in": world.usd.address, "token_out": "WETH", "amount": 100}
    answer = await _ok(await client.post(f"/dexes/{dex['id']}/quote", json=quote, headers=viewer))
    assert answer["token_in"]["symbol"] == "USD" and answer["amount_in"] == "100"
    check = await _ok(await client.post(f"/chains/{chain['chain_id']}/check", headers=viewer))
    assert check["matches"] is True and check["block"] > 0
    denied = [
        await client.post(
            "/chains",
            json={"name": "x", "rpc_url": "http://127.0.0.1:1", "chain_id": 7},
            headers=viewer,
        ),
        await client.delete(f"/dexes/{dex['id']}", headers=viewer),
        await client.post(
            f"/dexes/{dex['id']}/tokens", json={"address": world.weth.address}, headers=viewer
        ),
    ]
    assert [r.status_code for r in denied] == [403, 403, 403]
    assert len(await _ok(await client.get("/dexes", headers=admin_headers))) == 1


async def test_errors_map_to_statuses_with_reasons(
    client: httpx.AsyncClient, admin_headers: dict[str, str], world: UniswapWorld
) -> None:
    body = {"name": "far", "rpc_url": f"http://127.0.0.1:9/v3/{RPC_KEY}", "chain_id": 1}
    chain = await _ok(await client.post("/chains", json=body, headers=admin_headers), 201)
    assert chain["rpc_url"] == "http://127.0.0.1:9/v3/***"
    spec = world.dex
    unreachable = await client.post(
        "/dexes",
        json={"chain_id": 1, "name": "u", "router": spec.router, "factory": spec.factory},
        headers=admin_headers,
    )
    assert unreachable.status_code == 502
    assert unreachable.json()["error"] == "VenueError"
    assert "chain 'far' (id 1)" in unreachable.json()["detail"]
    assert RPC_KEY not in unreachable.text
    missing = await client.get("/dexes/nope/pools", headers=admin_headers)
    assert missing.status_code == 404
    bad_amount = await client.post(
        "/dexes/nope/quote",
        json={"token_in": "A", "token_out": "B", "amount": "lots"},
        headers=admin_headers,
    )
    assert bad_amount.status_code == 422 and "amount" in bad_amount.json()["detail"]
    echoed = await client.post(
        "/chains", json={**body, "chain_id": 0, "extra": True}, headers=admin_headers
    )
    assert echoed.status_code == 422 and RPC_KEY not in echoed.text
    duplicate = await client.post("/chains", json=body, headers=admin_headers)
    assert duplicate.status_code == 409


async def test_dex_routes_require_login(client: httpx.AsyncClient) -> None:
    for path in ("/chains", "/wallets", "/dexes", "/dexes/x/pools"):
        assert (await client.get(path)).status_code == 401
