"""Reading a real Uniswap V2 deployment over JSON-RPC on loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from task_station.domain.errors import NotFoundError
from task_station.venues.dex.client import UniswapV2Client, http_web3
from tests.support.uniswap import E18, UniswapWorld


@pytest.fixture
async def client(world: UniswapWorld) -> AsyncIterator[UniswapV2Client]:
    reader = UniswapV2Client(http_web3(world.chain.url), world.dex)
    try:
        yield reader
    finally:
        await reader.w3.provider.disconnect()


async def test_token_metadata_and_pool_reserves_come_from_the_contracts(
    world: UniswapWorld, client: UniswapV2Client
) -> None:
    weth = await client.token(world.weth.address)
    assert (weth.symbol, weth.decimals) == ("WETH", 18)
    pool = await client.pool_for(world.weth.address, world.usd.address)
    r0, r1, t0, _ = world.reserves()
    assert (pool.reserve0, pool.reserve1) == (r0, r1)
    assert pool.token0.address == t0
    assert await client.chain_id() == world.chain.chain_id


async def test_quote_equals_the_routers_getAmountsOut(
    world: UniswapWorld, client: UniswapV2Client
) -> None:
    for amount in (1, 10**6, E18, 37 * E18 + 12345, 500 * E18):
        quote = await client.quote(amount, world.weth.address, world.usd.address)
        assert quote.router_amount_out == quote.exact_amount_out
        assert quote.agrees
        assert quote.router_amount_out > 0


async def test_a_missing_pool_is_a_clear_not_found(
    world: UniswapWorld, client: UniswapV2Client
) -> None:
    with pytest.raises(NotFoundError, match="no pool"):
        await client.pair_address(world.weth.address, world.deployment.factory)
