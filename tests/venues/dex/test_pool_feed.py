"""The live pool feed against real Uniswap V2 contracts on the loopback dev chain.

Over HTTP it polls ``eth_getLogs``; over the dev chain's WebSocket it follows
``eth_subscribe`` notifications. Either way an update's reserves must be what the pair's
``getReserves`` says after that block and its swaps what the receipts say, with no block
skipped or repeated, through node outages and a reorganisation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from web3.logs import DISCARD

from task_station.venues.dex.pool_feed import (
    ChainTracker,
    PoolFeed,
    PoolUpdate,
    bloom_may_contain,
    redact_url,
    scrub,
)
from tests.support.uniswap import DEADLINE, E18, UniswapWorld

FAST = {"poll_interval": 0.02, "max_backoff": 0.1}
WAIT_S = 5.0


@pytest.fixture
def traders(world: UniswapWorld) -> list[str]:
    """Two accounts besides the owner, with WETH and USD and the router approved."""
    accounts = [world.chain.address(1), world.chain.address(2)]
    for account in accounts:
        world.fund(account, weth=50 * E18, usd=100_000 * E18)
        for token in (world.weth, world.usd):
            erc = world.contract("erc20", token.address)
            world.transact(erc.functions.approve(world.deployment.router, 2**255), account)
    return accounts


async def next_update(updates: AsyncIterator[PoolUpdate]) -> PoolUpdate:
    return await asyncio.wait_for(anext(updates), WAIT_S)


def swap(world: UniswapWorld, trader: str, amount: int, *, buy_weth: bool = False) -> Any:
    """One router swap in its own block (the router is approved already)."""
    path = (
        [world.usd.address, world.weth.address]
        if buy_weth
        else [world.weth.address, world.usd.address]
    )
    router = world.contract("router", world.deployment.router)
    return world.transact(
        router.functions.swapExactTokensForTokens(amount, 0, path, trader, DEADLINE), trader
    )


async def swap_async(world: UniswapWorld, trader: str, amount: int, **kw: Any) -> tuple[Any, float]:
    """Swap off the event loop so the feed keeps running; returns the receipt and when."""
    receipt = await asyncio.to_thread(swap, world, trader, amount, **kw)
    return receipt, time.perf_counter()


def reserves_at(world: UniswapWorld, block: int) -> tuple[int, int]:
    pair = world.contract("pair", world.pair_address())
    r0, r1, _ = world.chain.run_sync(
        lambda: pair.functions.getReserves().call(block_identifier=block)
    )
    return int(r0), int(r1)


def receipt_swaps(world: UniswapWorld, receipt: Any) -> list[tuple[int, int, int, int, int]]:
    """``(log_index, amount0In, amount1In, amount0Out, amount1Out)`` of a receipt's Swaps."""
    pair = world.contract("pair", world.pair_address())
    decoded = world.chain.run_sync(
        lambda: pair.events.Swap().process_receipt(receipt, errors=DISCARD)
    )
    return [
        (
            int(e["logIndex"]),
            int(e["args"]["amount0In"]),
            int(e["args"]["amount1In"]),
            int(e["args"]["amount0Out"]),
            int(e["args"]["amount1Out"]),
        )
        for e in decoded
    ]


def as_tuples(update: PoolUpdate) -> list[tuple[int, int, int, int, int]]:
    return [
        (s.log_index, s.amount0_in, s.amount1_in, s.amount0_out, s.amount1_out)
        for s in update.swaps
    ]


def check_block(world: UniswapWorld, update: PoolUpdate, receipts: list[Any]) -> None:
    """The update is exactly the block: reserves, swaps, time."""
    assert (update.pool.reserve0, update.pool.reserve1) == reserves_at(world, update.block)
    assert (update.syncs[-1].reserve0, update.syncs[-1].reserve1) == reserves_at(
        world, update.block
    )
    expected = [s for r in receipts for s in receipt_swaps(world, r)]
    assert as_tuples(update) == expected
    assert {s.tx_hash for s in update.swaps} == {r["transactionHash"].to_0x_hex() for r in receipts}
    block = world.chain.run_sync(world.chain.w3.eth.get_block, update.block)
    assert update.timestamp == datetime.fromtimestamp(block["timestamp"], tz=UTC)
    assert update.block_hash == block["hash"].to_0x_hex()
    assert not update.snapshot


async def follow_swaps(world: UniswapWorld, feed: PoolFeed, traders: list[str]) -> list[float]:
    """Snapshot first, then one update per swap block; returns the latencies (s)."""
    updates = aiter(feed)
    first = await next_update(updates)
    r0, r1, _, _ = world.reserves()
    assert first.snapshot and not first.reorg
    assert (first.pool.reserve0, first.pool.reserve1) == (r0, r1)
    assert first.block == world.chain.run_sync(lambda: world.chain.w3.eth.block_number)
    assert first.pool.pair == world.pair_address()
    await asyncio.wait_for(feed.live.wait(), WAIT_S)  # following the head from here

    seen = [first.block]
    latencies = []
    for i, (trader, amount, buy) in enumerate(
        [(traders[0], E18, False), (traders[1], 3_000 * E18, True), (traders[0], 2 * E18, False)]
    ):
        receipt, mined_at = await swap_async(world, trader, amount, buy_weth=buy)
        update = await next_update(updates)
        latencies.append(time.perf_counter() - mined_at)
        assert update.block == receipt["blockNumber"], f"swap {i}"
        check_block(world, update, [receipt])
        seen.append(update.block)
    assert seen == sorted(set(seen))  # increasing, none twice
    return latencies


# -- over HTTP (polling) --


async def test_http_polling_follows_swaps_block_by_block(
    world: UniswapWorld, traders: list[str]
) -> None:
    async with PoolFeed.over_http(
        world.chain.url, world.dex, [world.pair_address()], **FAST
    ) as feed:
        latencies = await follow_swaps(world, feed, traders)
        # blocks without pair events (transfers) make no update, but they are read
        await asyncio.to_thread(world.fund, traders[0], usd=E18)
        head = world.chain.run_sync(lambda: world.chain.w3.eth.block_number)
        waiting = asyncio.ensure_future(anext(aiter(feed)))
        for _ in range(100):
            if feed.last_block == head:
                break
            await asyncio.sleep(0.02)
        assert feed.last_block == head
        assert not waiting.done()
        await feed.stop()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(waiting, WAIT_S)
    assert max(latencies) < 1.0


async def test_two_swaps_in_one_block_are_one_update(
    world: UniswapWorld, traders: list[str]
) -> None:
    async with PoolFeed.over_http(
        world.chain.url, world.dex, [world.pair_address()], **FAST
    ) as feed:
        updates = aiter(feed)
        await next_update(updates)  # the snapshot
        router = world.contract("router", world.deployment.router)
        path = [world.weth.address, world.usd.address]

        def two_swaps_one_block() -> list[Any]:
            w3, tester = world.chain.w3, world.chain.tester
            tester.disable_auto_mine_transactions()
            try:
                hashes = [
                    router.functions.swapExactTokensForTokens(
                        amount, 0, path, trader, DEADLINE
                    ).transact({"from": trader, "gas": 300_000})
                    for trader, amount in ((traders[0], E18), (traders[1], 5 * E18))
                ]
                tester.mine_blocks(1)
            finally:
                tester.enable_auto_mine_transactions()
            return [w3.eth.get_transaction_receipt(h) for h in hashes]

        receipts = world.chain.run_sync(two_swaps_one_block)
        assert receipts[0]["blockNumber"] == receipts[1]["blockNumber"]
        update = await next_update(updates)
        assert update.block == receipts[0]["blockNumber"]
        assert len(update.swaps) == 2 and len(update.syncs) == 2
        check_block(world, update, receipts)
        assert [s.log_index for s in update.swaps] == sorted(s.log_index for s in update.swaps)


async def test_a_node_outage_loses_no_block_and_logs_no_secret(
    world: UniswapWorld, traders: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Credentials in the URL, as hosted RPC URLs carry them: the dev chain ignores them.
    url = world.chain.url.replace("http://", "http://trader:hunter2@") + "/?apikey=SECRETKEY"
    caplog.set_level(logging.WARNING, logger="task_station.venues.dex.pool_feed")
    async with PoolFeed.over_http(url, world.dex, [world.pair_address()], **FAST) as feed:
        updates = aiter(feed)
        await next_update(updates)
        before, _ = await swap_async(world, traders[0], E18)
        assert (await next_update(updates)).block == before["blockNumber"]

        await world.chain.suspend()
        during = [(await swap_async(world, t, E18))[0] for t in traders]
        await asyncio.sleep(0.3)  # several failed polls
        assert feed.last_block == before["blockNumber"]  # nothing read while down
        assert not feed.live.is_set()
        await world.chain.resume()

        got = [await next_update(updates) for _ in during]
        assert [u.block for u in got] == [r["blockNumber"] for r in during]
        for update, receipt in zip(got, during, strict=True):
            check_block(world, update, [receipt])
        after, _ = await swap_async(world, traders[1], E18)
        assert (await next_update(updates)).block == after["blockNumber"]

    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert failures, "the outage was not logged"
    text = "\n".join(failures)
    assert "hunter2" not in text and "SECRETKEY" not in text and "trader" not in text
    assert f"http://127.0.0.1:{world.chain.port}/***" in text


async def test_a_reorg_yields_a_snapshot_at_the_fork_then_the_new_branch(
    world: UniswapWorld, traders: list[str]
) -> None:
    async with PoolFeed.over_http(
        world.chain.url, world.dex, [world.pair_address()], **FAST
    ) as feed:
        updates = aiter(feed)
        start = await next_update(updates)
        fork_snapshot = world.chain.run_sync(world.chain.tester.take_snapshot)
        old, _ = await swap_async(world, traders[0], 10 * E18)
        assert (await next_update(updates)).block == old["blockNumber"]

        def other_branch() -> Any:
            world.chain.run_sync(world.chain.tester.revert_to_snapshot, fork_snapshot)
            receipt = swap(world, traders[1], 4_000 * E18, buy_weth=True)
            world.chain.run_sync(world.chain.tester.mine_blocks, 1)  # outgrow the old branch
            return receipt

        new = await asyncio.to_thread(other_branch)
        assert new["blockNumber"] == old["blockNumber"]  # same height, another block
        rewound = await next_update(updates)
        assert rewound.reorg and rewound.snapshot
        assert rewound.block == start.block
        assert (rewound.pool.reserve0, rewound.pool.reserve1) == reserves_at(world, start.block)
        update = await next_update(updates)
        assert update.block == new["blockNumber"] and not update.reorg
        check_block(world, update, [new])


async def test_stop_ends_the_iteration_from_another_task(world: UniswapWorld) -> None:
    feed = PoolFeed.over_http(world.chain.url, world.dex, [world.pair_address()], **FAST)
    async with feed:
        received: list[PoolUpdate] = []

        async def consume() -> None:
            async for update in feed:
                received.append(update)

        task = asyncio.create_task(consume())

        async def first_update() -> None:  # a fixed sleep is too short on a loaded machine
            while not received:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(first_update(), WAIT_S)
        await feed.stop()
        await asyncio.wait_for(task, WAIT_S)
    assert len(received) == 1 and received[0].snapshot


# -- over the WebSocket (subscriptions) --


@pytest.mark.parametrize("confirm_logs", [True, False])
async def test_websocket_subscriptions_follow_swaps(
    world: UniswapWorld, traders: list[str], confirm_logs: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = PoolFeed.over_websocket(
        world.chain.ws_url, world.dex, [world.pair_address()], confirm_logs=confirm_logs, **FAST
    )
    by_hash: list[Any] = []
    get_logs = feed.w3.eth.get_logs

    async def spy(query: Any) -> Any:
        if "blockHash" in query:
            by_hash.append(query["blockHash"])
        return await get_logs(query)

    monkeypatch.setattr(feed.w3.eth, "get_logs", spy)
    async with feed:
        assert feed.subscribing
        latencies = await follow_swaps(world, feed, traders)
    assert max(latencies) < 1.0
    # Heads drove the feed: each swap block was confirmed by hash, or, trusting the
    # node's order, taken from the logs subscription without a request.
    assert len(by_hash) == (3 if confirm_logs else 0)


async def test_websocket_reconnects_and_catches_up_after_an_outage(
    world: UniswapWorld, traders: list[str]
) -> None:
    feed = PoolFeed.over_websocket(world.chain.ws_url, world.dex, [world.pair_address()], **FAST)
    async with feed:
        updates = aiter(feed)
        await next_update(updates)
        first, _ = await swap_async(world, traders[0], E18)
        assert (await next_update(updates)).block == first["blockNumber"]
        await world.chain.suspend()
        during = [(await swap_async(world, t, E18))[0] for t in traders]
        await asyncio.sleep(0.3)  # reconnects fail meanwhile
        assert not feed.live.is_set()
        await world.chain.resume()
        got = [await next_update(updates) for _ in during]
        assert [u.block for u in got] == [r["blockNumber"] for r in during]
        for update, receipt in zip(got, during, strict=True):
            check_block(world, update, [receipt])
        after, _ = await swap_async(world, traders[1], 2 * E18)
        update = await next_update(updates)
        assert update.block == after["blockNumber"]
        check_block(world, update, [after])


async def test_websocket_feed_waits_for_a_node_that_is_down_at_start(
    world: UniswapWorld, traders: list[str]
) -> None:
    await world.chain.suspend()
    feed = PoolFeed.over_websocket(world.chain.ws_url, world.dex, [world.pair_address()], **FAST)
    async with feed:
        await asyncio.sleep(0.2)  # connection attempts fail meanwhile
        await world.chain.resume()
        first = await next_update(feed)
        assert first.snapshot
        await asyncio.wait_for(feed.live.wait(), WAIT_S)
        receipt, _ = await swap_async(world, traders[0], E18)
        update = await next_update(feed)
        check_block(world, update, [receipt])


async def test_websocket_reorg_rewinds_to_the_fork(world: UniswapWorld, traders: list[str]) -> None:
    feed = PoolFeed.over_websocket(world.chain.ws_url, world.dex, [world.pair_address()], **FAST)
    async with feed:
        updates = aiter(feed)
        start = await next_update(updates)
        fork_snapshot = world.chain.run_sync(world.chain.tester.take_snapshot)
        old, _ = await swap_async(world, traders[0], 10 * E18)
        assert (await next_update(updates)).block == old["blockNumber"]

        def other_branch() -> Any:
            world.chain.run_sync(world.chain.tester.revert_to_snapshot, fork_snapshot)
            receipt = swap(world, traders[1], 4_000 * E18, buy_weth=True)
            world.chain.run_sync(world.chain.tester.mine_blocks, 1)  # outgrow the old branch
            return receipt

        new = await asyncio.to_thread(other_branch)
        rewound = await next_update(updates)
        assert rewound.reorg and rewound.block <= start.block + 1
        assert (rewound.pool.reserve0, rewound.pool.reserve1) == reserves_at(world, rewound.block)
        update = await next_update(updates)
        assert update.block == new["blockNumber"]
        check_block(world, update, [new])


# -- the bookkeeping, without a node --


def test_chain_tracker_notices_a_changed_parent_and_finds_the_fork() -> None:
    tracker = ChainTracker(depth=4)
    for n in range(10, 16):
        tracker.record(n, f"0x{n:02x}")
    assert tracker.newest_first() == [15, 14, 13, 12]  # only the last ``depth``
    assert tracker.extends(16, "0x0f")
    assert not tracker.extends(16, "0xdead")
    assert tracker.extends(99, "0xanything")  # unknown parent height: no evidence
    canonical: dict[int, str | None] = {15: "0xb15", 14: "0xb14", 13: "0x0d", 12: "0x0c"}
    assert tracker.fork_point(canonical) == 13
    tracker.rewind(13)
    assert tracker.newest_first() == [13, 12]
    assert tracker.fork_point({13: "0xother", 12: None}) is None  # deeper than we remember


def test_bloom_membership_matches_a_real_block(world: UniswapWorld, traders: list[str]) -> None:
    receipt = swap(world, traders[0], E18)
    block = world.chain.run_sync(world.chain.w3.eth.get_block, receipt["blockNumber"])
    pair = bytes.fromhex(world.pair_address()[2:])
    assert bloom_may_contain(block["logsBloom"], pair)
    assert not bloom_may_contain(block["logsBloom"], bytes.fromhex(world.chain.address(7)[2:]))
    assert not bloom_may_contain(0, pair)


def test_urls_lose_their_credentials_in_logs() -> None:
    assert redact_url("https://user:pw@eth.example.com:8545/v3/KEY?x=1") == (
        "https://eth.example.com:8545/***"
    )
    assert redact_url("http://127.0.0.1:8545") == "http://127.0.0.1:8545"
    message = "500 Server Error for url: https://mainnet.infura.io/v3/abcdef0123 (retry)"
    assert scrub(message) == "500 Server Error for url: https://mainnet.infura.io/*** (retry)"
