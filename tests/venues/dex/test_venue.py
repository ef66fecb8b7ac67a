"""Trading through ``UniswapV2Venue`` on the real Uniswap V2 contracts (py-evm, HTTP).

Every fill is checked against the chain itself: the pair's Swap event in the receipt,
the wallet's token balances and its native balance (gas), to the wei.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from web3.logs import DISCARD

from task_station.domain.clock import SystemClock
from task_station.domain.orders import Order, OrderSide, OrderStatus, OrderType
from task_station.venues.base import (
    FillReport,
    OrderAcceptedReport,
    OrderRejectedReport,
    VenueReport,
)
from task_station.venues.dex.client import UniswapV2Client, http_web3
from task_station.venues.dex.gas import GasPolicy
from task_station.venues.dex.venue import DexMarket, UniswapV2Venue
from task_station.venues.dex.wallet import Wallet
from tests.support.uniswap import E18, UniswapWorld

TRADER = 3  # a funded dev account: its key goes through the Wallet like a trader's


class Recorder:
    def __init__(self) -> None:
        self.reports: list[VenueReport] = []

    def on_venue_report(self, report: VenueReport) -> None:
        self.reports.append(report)

    def of(self, kind: type[Any]) -> list[Any]:
        return [r for r in self.reports if isinstance(r, kind)]


async def open_venue(world: UniswapWorld, **kw: Any) -> tuple[UniswapV2Venue, Recorder]:
    client = UniswapV2Client(http_web3(world.chain.url), world.dex)
    wallet = kw.pop("wallet", None) or Wallet.from_key(world.chain.private_key(TRADER))
    venue = UniswapV2Venue(
        client,
        wallet,
        [DexMarket("WETH/USD", world.weth.address, world.usd.address)],
        SystemClock(),
        receipt_poll_seconds=0.01,
        **kw,
    )
    await venue.connect()
    recorder = Recorder()
    venue.set_listener(recorder)
    return venue, recorder


@pytest.fixture
async def trader(world: UniswapWorld) -> AsyncIterator[tuple[UniswapV2Venue, Recorder]]:
    world.fund(world.chain.address(TRADER), weth=10 * E18, usd=50_000 * E18)
    venue, recorder = await open_venue(world)
    try:
        yield venue, recorder
    finally:
        await venue.close()


_ids = iter(range(1, 10_000))


def order(
    side: OrderSide, qty: str | None, *, price: str | None = None, quote_qty: str | None = None
) -> Order:
    return Order(
        client_order_id=f"cid-{next(_ids)}",
        venue="uniswap-v2",
        symbol="WETH/USD",
        side=side,
        type=OrderType.LIMIT if price is not None else OrderType.MARKET,
        created_at=datetime.now(UTC),
        quantity=Decimal(qty) if qty is not None else None,
        quote_quantity=Decimal(quote_qty) if quote_qty is not None else None,
        price=Decimal(price) if price is not None else None,
    )


def swap_event(world: UniswapWorld, tx_hash: str) -> dict[str, int]:
    receipt = world.chain.run_sync(lambda: world.chain.w3.eth.get_transaction_receipt(tx_hash))
    pair = world.contract("pair", world.pair_address())
    (event,) = pair.events.Swap().process_receipt(receipt, errors=DISCARD)
    return dict(event["args"]) | {"gas_wei": receipt["gasUsed"] * receipt["effectiveGasPrice"]}


def weth_is_token0(world: UniswapWorld) -> bool:
    return int(world.weth.address, 16) < int(world.usd.address, 16)


async def test_a_market_sell_fills_with_the_swap_events_amounts_and_gas_as_fee(
    world: UniswapWorld, trader: tuple[UniswapV2Venue, Recorder]
) -> None:
    venue, rec = trader
    me = world.chain.address(TRADER)
    before = await venue.fetch_balances()
    quote = await venue.client.quote(2 * E18, world.weth.address, world.usd.address)

    await venue.submit_order(order(OrderSide.SELL, "2"))
    await venue.wait_settled()

    (accepted,) = rec.of(OrderAcceptedReport)
    (fill_report,) = rec.of(FillReport)
    fill = fill_report.fill
    ev = swap_event(world, accepted.venue_order_id)
    weth_in = ev["amount0In"] if weth_is_token0(world) else ev["amount1In"]
    usd_out = ev["amount1Out"] if weth_is_token0(world) else ev["amount0Out"]
    assert weth_in == 2 * E18
    assert usd_out == quote.router_amount_out  # the fill is what the router quoted
    assert fill.quantity == Decimal(2)
    assert abs(fill.price * fill.quantity - Decimal(usd_out).scaleb(-18)) < Decimal("1e-18")
    # Gas paid in ETH for the swap and its approval, charged in USD at the fill's own
    # price (WETH is the base).
    approval_gas = venue.gas_spent_native - Decimal(ev["gas_wei"]).scaleb(-18)
    assert venue.approvals_sent == 1 and approval_gas > 0
    assert fill.fee == venue.gas_spent_native * fill.price and fill.fee_currency == "USD"
    after = await venue.fetch_balances()
    assert after["WETH"] == before["WETH"] - 2
    assert after["USD"] == before["USD"] + Decimal(usd_out).scaleb(-18)
    assert after["ETH"] == before["ETH"] - venue.gas_spent_native  # the approval and the swap
    assert world.balance(world.weth, me) == 8 * E18


async def test_a_base_sized_buy_is_an_exact_output_swap_and_a_quote_sized_buy_exact_input(
    world: UniswapWorld, trader: tuple[UniswapV2Venue, Recorder]
) -> None:
    venue, rec = trader
    await venue.submit_order(order(OrderSide.BUY, "1.5"))
    await venue.submit_order(order(OrderSide.BUY, None, quote_qty="1000"))
    await venue.wait_settled()
    fills = [r.fill for r in rec.of(FillReport)]
    assert fills[0].quantity == Decimal("1.5")
    # Spent exactly 1000 USD: price x quantity is that to well below one wei.
    assert abs(fills[1].price * fills[1].quantity - 1000) < Decimal("1e-18")
    assert all(f.side is OrderSide.BUY for f in fills)


async def test_slippage_protection_refuses_cleanly_and_leaves_balances_untouched(
    world: UniswapWorld, trader: tuple[UniswapV2Venue, Recorder]
) -> None:
    venue, rec = trader
    before = await venue.fetch_balances()
    nonce_before = await venue._pending_count()
    # The pool pays ~1990 USD per WETH; a limit sell at 2100 cannot be met.
    await venue.submit_order(order(OrderSide.SELL, "1", price="2100"))
    await venue.wait_settled()
    (rejected,) = rec.of(OrderRejectedReport)
    assert "INSUFFICIENT_OUTPUT_AMOUNT" in rejected.reason
    assert rec.of(OrderAcceptedReport) == []
    assert await venue.fetch_balances() == before  # no token moved, no gas spent
    assert await venue._pending_count() == nonce_before


async def rival_swap_through_the_mempool(
    world: UniswapWorld, rival_index: int, amount: int
) -> None:
    """Someone else's swap, signed and sent over JSON-RPC so it queues like ours."""
    rival = world.chain.address(rival_index)
    router = world.contract("router", world.deployment.router)
    tx = world.chain.run_sync(
        lambda: router.functions.swapExactTokensForTokens(
            amount, 0, [world.weth.address, world.usd.address], rival, 2**40
        ).build_transaction(
            {
                "from": rival,
                "gas": 300_000,
                "maxFeePerGas": 10**11,
                "maxPriorityFeePerGas": 10**9,
                "nonce": world.chain.w3.eth.get_transaction_count(rival),
            }
        )
    )
    raw = Wallet.from_key(world.chain.private_key(rival_index)).sign(tx)
    w3 = http_web3(world.chain.url)
    try:
        await w3.eth.send_raw_transaction(raw)
    finally:
        await w3.provider.disconnect()


async def test_a_swap_that_reverts_on_chain_is_rejected_with_the_reason_and_gas_counted(
    world: UniswapWorld, trader: tuple[UniswapV2Venue, Recorder]
) -> None:
    venue, rec = trader
    # A rival's swap, queued ahead of ours, moves the pool before ours is mined.
    world.fund(world.chain.address(5), weth=200 * E18)
    world.transact(
        world.contract("erc20", world.weth.address).functions.approve(
            world.deployment.router, 200 * E18
        ),
        world.chain.address(5),
    )
    before = await venue.fetch_balances()
    world.chain.hold_transactions()
    await rival_swap_through_the_mempool(world, 5, 200 * E18)
    # Our limit is met by the reserves we read ("latest"), not after the rival.
    await venue.submit_order(order(OrderSide.SELL, "1", price="1900"))
    assert world.chain.release() == 3  # the rival's swap, our approval, our swap
    await venue.wait_settled()
    (accepted,) = rec.of(OrderAcceptedReport)
    (rejected,) = rec.of(OrderRejectedReport)
    assert "reverted on chain: UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT" in rejected.reason
    assert accepted.venue_order_id in rejected.reason
    after = await venue.fetch_balances()
    assert after["WETH"] == before["WETH"] and after["USD"] == before["USD"]
    assert after["ETH"] < before["ETH"]  # the failed transaction still paid for gas


async def test_several_swaps_in_flight_get_consecutive_nonces_and_exact_approvals(
    world: UniswapWorld, trader: tuple[UniswapV2Venue, Recorder]
) -> None:
    venue, rec = trader
    me = world.chain.address(TRADER)
    first_nonce = await venue._pending_count()
    world.chain.hold_transactions()
    for qty in ("0.5", "0.25", "0.125"):
        await venue.submit_order(order(OrderSide.SELL, qty))
    assert len(rec.of(OrderAcceptedReport)) == 3
    assert await venue._pending_count() == first_nonce + 6  # 3 approvals + 3 swaps queued
    assert rec.of(FillReport) == []  # nothing mined yet
    assert world.chain.release() == 6
    await venue.wait_settled()
    fills = [r.fill for r in rec.of(FillReport)]
    assert sorted(f.quantity for f in fills) == [Decimal("0.125"), Decimal("0.25"), Decimal("0.5")]
    assert venue.approvals_sent == 3  # one exact approval per swap, none overwritten
    nonces = [
        world.chain.run_sync(lambda h=f.trade_id: world.chain.w3.eth.get_transaction(h))["nonce"]
        for f in fills
    ]
    assert sorted(nonces) == [first_nonce + 1, first_nonce + 3, first_nonce + 5]
    allowance = world.call(
        world.contract("erc20", world.weth.address).functions.allowance(me, world.deployment.router)
    )
    assert allowance == 0  # exact approvals leave nothing behind


async def test_unlimited_approval_is_opt_in_and_approves_once(world: UniswapWorld) -> None:
    world.fund(world.chain.address(TRADER), weth=5 * E18)
    venue, rec = await open_venue(world, approval="unlimited")
    try:
        for _ in range(3):
            await venue.submit_order(order(OrderSide.SELL, "0.1"))
        await venue.wait_settled()
        assert len(rec.of(FillReport)) == 3
        assert venue.approvals_sent == 1
    finally:
        await venue.close()


async def test_gas_above_the_traders_maximum_is_refused_before_sending(
    world: UniswapWorld,
) -> None:
    world.fund(world.chain.address(TRADER), weth=5 * E18)
    venue, rec = await open_venue(world, gas=GasPolicy(max_fee_gwei=Decimal("0.000001")))
    try:
        await venue.submit_order(order(OrderSide.SELL, "0.1"))
        (rejected,) = rec.of(OrderRejectedReport)
        assert "gas is too expensive" in rejected.reason
        assert rec.of(OrderAcceptedReport) == []
    finally:
        await venue.close()


async def test_a_watch_only_wallet_reads_balances_but_cannot_swap(world: UniswapWorld) -> None:
    owner = world.owner
    venue, rec = await open_venue(world, wallet=Wallet.watch_only(owner))
    try:
        balances = await venue.fetch_balances()
        assert balances["USD"] > 0
        await venue.submit_order(order(OrderSide.SELL, "0.1"))
        (rejected,) = rec.of(OrderRejectedReport)
        assert "watch-only" in rejected.reason
    finally:
        await venue.close()


async def test_insufficient_tokens_and_unsupported_orders_are_refused_without_a_transaction(
    world: UniswapWorld, trader: tuple[UniswapV2Venue, Recorder]
) -> None:
    venue, rec = trader
    await venue.submit_order(order(OrderSide.SELL, "11"))  # holds 10 WETH
    stop = Order(
        client_order_id="cid-stop",
        venue="uniswap-v2",
        symbol="WETH/USD",
        side=OrderSide.SELL,
        type=OrderType.STOP_MARKET,
        created_at=datetime.now(UTC),
        quantity=Decimal(1),
        trigger_price=Decimal(1500),
    )
    await venue.submit_order(stop)
    reasons = [r.reason for r in rec.of(OrderRejectedReport)]
    assert "insufficient WETH" in reasons[0]
    assert "cannot run on an AMM" in reasons[1]
    assert rec.of(OrderAcceptedReport) == []


async def test_resubmitting_an_order_never_swaps_twice(
    world: UniswapWorld, trader: tuple[UniswapV2Venue, Recorder]
) -> None:
    venue, rec = trader
    o = order(OrderSide.SELL, "0.5")
    await venue.submit_order(o)
    await venue.submit_order(o)
    await venue.wait_settled()
    assert len(rec.of(FillReport)) == 1
    state = await venue.fetch_order_state(o)
    assert state is not None and state.status is OrderStatus.FILLED


async def test_the_private_key_never_reaches_a_log_record_or_repr(
    world: UniswapWorld, caplog: pytest.LogCaptureFixture
) -> None:
    key = world.chain.private_key(TRADER)
    world.fund(world.chain.address(TRADER), weth=E18)
    caplog.set_level(logging.DEBUG)
    venue, _ = await open_venue(world)
    try:
        await venue.submit_order(order(OrderSide.SELL, "0.1"))
        await venue.wait_settled()
    finally:
        await venue.close()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert len(caplog.records) > 10  # web3's DEBUG request logs were captured
    assert key[2:] not in text and key[2:].upper() not in text
    assert key[2:] not in repr(venue.wallet)
