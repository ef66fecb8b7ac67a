"""The paper AMM equals the real Uniswap V2 contracts, to the wei, on 1,000 generated swaps.

Each order is planned once (``plan_swap``, as the on-chain venue plans it) and the same
router call is sent by a funded account to the untouched npm-built router on a py-evm
chain; the same order goes to a ``PaperAmmVenue`` seeded with the same reserves. Both
must agree on whether the swap happens, on the revert string when it does not, on the
trader's token balances and on the pair's reserves (``getReserves``) afterwards.

Generated swaps: sells (exact input), buys (exact output) and quote-sized buys (exact
input of the quote), from 1 wei to twice the reserve in (95 % of the reserve out for
exact outputs), as market orders or as limits set a few bps either side of the exact
reachable price, so some must revert with the router's reasons.

One chain serves the whole module; an eth-tester snapshot resets it between examples.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

import pytest
from eth_tester.exceptions import TransactionFailed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.exceptions import ContractLogicError

from task_station.domain.amm import get_amount_in, get_amount_out
from task_station.domain.clock import ManualClock
from task_station.domain.dex import PoolState, Token
from task_station.domain.orders import Order, OrderSide, OrderStatus, OrderType
from task_station.venues.amm.paper import (
    PAIR_INSUFFICIENT_OUTPUT,
    PaperAmmVenue,
    PaperGas,
    PaperPool,
)
from task_station.venues.amm.plan import (
    EXCESSIVE_INPUT,
    INSUFFICIENT_OUTPUT,
    SwapKind,
    SwapPlan,
    plan_swap,
)
from tests.support.uniswap import DEADLINE, E18, UniswapWorld, uniswap_world

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SYMBOL = "WETH/USD"
SLIPPAGE_BPS = 50
TRADER_WETH = 300_000 * E18
TRADER_USD = 10**12 * E18
SLACK = Fraction(1, 10**26)  # Decimal's 28 digits in the planner's limit arithmetic

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def exact(units: int) -> Decimal:
    """18-decimal units -> Decimal without the default context's rounding."""
    with localcontext() as ctx:
        ctx.prec = 100
        return Decimal(units).scaleb(-18)


def units(amount: Decimal) -> int:
    with localcontext() as ctx:
        ctx.prec = 100
        value = amount.scaleb(18)
    assert value == value.to_integral_value(), amount
    return int(value)


@dataclass
class Rig:
    """One chain for the module: the trader, its contracts and the snapshot to reset to."""

    world: UniswapWorld
    trader: str
    router: Any
    pair: Any
    weth_erc: Any
    usd_erc: Any
    snapshot: Any
    start: PoolState
    weth0: int  # the trader's balances at the snapshot
    usd0: int

    def read(self) -> tuple[int, int, int, int]:
        """``(reserve0, reserve1, trader WETH, trader USD)`` now, in one EVM-thread hop."""

        def run() -> tuple[int, int, int, int]:
            r0, r1, _ = self.pair.functions.getReserves().call()
            return (
                int(r0),
                int(r1),
                int(self.weth_erc.functions.balanceOf(self.trader).call()),
                int(self.usd_erc.functions.balanceOf(self.trader).call()),
            )

        result: tuple[int, int, int, int] = self.world.chain.run_sync(run)
        return result

    def swap(self, plan: SwapPlan) -> str | None:
        """Send the router call the plan describes; None if it mined, else the revert string."""
        path = [plan.token_in.address, plan.token_out.address]
        if plan.kind is SwapKind.EXACT_IN:
            fn = self.router.functions.swapExactTokensForTokens(
                plan.amount_in, plan.amount_out, path, self.trader, DEADLINE
            )
        else:
            fn = self.router.functions.swapTokensForExactTokens(
                plan.amount_out, plan.amount_in, path, self.trader, DEADLINE
            )
        w3 = self.world.chain.w3

        def run() -> str | None:
            # An explicit gas limit skips estimation (four times the cost of the swap); a
            # revert then mines with status 0 and a call on the same state gives the reason.
            tx = fn.transact({"from": self.trader, "gas": 1_000_000})
            if w3.eth.wait_for_transaction_receipt(tx)["status"] == 1:
                return None
            try:
                fn.call({"from": self.trader})
            except (ContractLogicError, TransactionFailed) as exc:
                return str(exc).removeprefix("execution reverted: ")
            raise AssertionError("the swap reverted on chain but its replay succeeded")

        result: str | None = self.world.chain.run_sync(run)
        return result

    def reset(self) -> None:
        self.world.chain.run_sync(self.world.chain.tester.revert_to_snapshot, self.snapshot)

    def venue(self) -> PaperAmmVenue:
        return PaperAmmVenue(
            [PaperPool(SYMBOL, self.world.weth, self.world.usd, self.start)],
            {"WETH": exact(self.weth0), "USD": exact(self.usd0), "ETH": Decimal(10**6)},
            ManualClock(T0),
            gas=PaperGas(),
            slippage_bps=SLIPPAGE_BPS,
        )


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    loop = asyncio.new_event_loop()
    try:
        world = loop.run_until_complete(uniswap_world())
        try:
            yield _prepare(world)
        finally:
            loop.run_until_complete(world.chain.stop())
    finally:
        loop.close()


def _prepare(world: UniswapWorld) -> Rig:
    trader = world.chain.address(1)
    world.fund(trader, usd=TRADER_USD)
    world.transact(
        world.contract("weth", world.weth.address).functions.deposit(), trader, TRADER_WETH
    )
    for token in (world.weth, world.usd):
        erc = world.contract("erc20", token.address)
        world.transact(erc.functions.approve(world.deployment.router, 2**256 - 1), trader)
    r0, r1, t0, _ = world.reserves()
    token0, token1 = (
        (world.weth, world.usd) if t0 == world.weth.address else (world.usd, world.weth)
    )
    rig = Rig(
        world=world,
        trader=trader,
        router=world.contract("router", world.deployment.router),
        pair=world.contract("pair", world.pair_address()),
        weth_erc=world.contract("erc20", world.weth.address),
        usd_erc=world.contract("erc20", world.usd.address),
        snapshot=world.chain.tester.take_snapshot(),
        start=PoolState(world.pair_address(), token0, token1, r0, r1),
        weth0=TRADER_WETH,
        usd0=TRADER_USD,
    )
    assert rig.read()[2:] == (TRADER_WETH, TRADER_USD)
    return rig


# -- generated swaps ------------------------------------------------------------------


@dataclass(frozen=True)
class Intent:
    """A trader's order before the pool is known: sized relative to the reserves."""

    kind: str  # "sell" (exact base in), "buy" (exact base out), "spend" (exact quote in)
    wei: int | None  # an absolute size in wei, or
    share: int  # a share of the reserve: share / 10**9 / 10**scale
    scale: int
    limit_bps: int | None  # None: market; else the limit is this many bps beyond reach

    def amount(self, reserve: int, cap: Fraction) -> int:
        if self.wei is not None:
            return self.wei
        return max(1, int(reserve * cap * self.share) // (10**9 * 10**self.scale))


intents = st.builds(
    Intent,
    kind=st.sampled_from(["sell", "buy", "spend"]),
    wei=st.one_of(st.none(), st.none(), st.integers(1, 10_000)),
    share=st.integers(1, 10**9),
    scale=st.integers(0, 12),
    limit_bps=st.one_of(st.none(), st.sampled_from([0, 1, -1]), st.integers(-50, 50)),
)


def build_order(cid: str, intent: Intent, pool: PoolState, weth: Token, usd: Token) -> Order:
    r_weth, r_usd = pool.reserves_for(weth.address)
    if intent.kind == "spend":
        spend = intent.amount(r_usd, Fraction(2))
        return Order(cid, "paper-amm", SYMBOL, OrderSide.BUY, OrderType.MARKET, T0,
                     quote_quantity=exact(spend))  # fmt: skip
    if intent.kind == "sell":
        base = intent.amount(r_weth, Fraction(2))
        out = get_amount_out(base, r_weth, r_usd)
        side, reachable = OrderSide.SELL, Fraction(out, base)
        tighter = 1 + Fraction(intent.limit_bps or 0, 10_000)  # ask for more
    else:
        base = intent.amount(r_weth, Fraction(95, 100))
        paid = get_amount_in(base, r_usd, r_weth)
        side, reachable = OrderSide.BUY, Fraction(paid, base)
        tighter = 1 - Fraction(intent.limit_bps or 0, 10_000)  # offer less
    if intent.limit_bps is None or reachable == 0:
        return Order(cid, "paper-amm", SYMBOL, side, OrderType.MARKET, T0, quantity=exact(base))
    limit = reachable * tighter
    price = Decimal(limit.numerator) / Decimal(limit.denominator)
    return Order(cid, "paper-amm", SYMBOL, side, OrderType.LIMIT, T0,
                 quantity=exact(base), price=price)  # fmt: skip


def check_one(rig: Rig, venue: PaperAmmVenue, order: Order) -> str:
    """Run ``order`` on both sides, assert they agree, and say how it ended."""
    weth, usd = rig.world.weth, rig.world.usd
    pool = venue.pool(SYMBOL)
    plan = plan_swap(order, pool, weth, usd, slippage_bps=SLIPPAGE_BPS)
    r_in, r_out = pool.reserves_for(plan.token_in.address)
    before = (venue.balance("WETH"), venue.balance("USD"))

    paper = venue.submit_now(order)
    chain_reason = rig.swap(plan)
    r0, r1, chain_weth, chain_usd = rig.read()

    assert (venue.pool(SYMBOL).reserve0, venue.pool(SYMBOL).reserve1) == (r0, r1)
    assert (units(venue.balance("WETH")), units(venue.balance("USD"))) == (chain_weth, chain_usd)
    if chain_reason is not None:
        assert paper.status is OrderStatus.REJECTED, chain_reason
        assert paper.reason == chain_reason
        assert (venue.balance("WETH"), venue.balance("USD")) == before
        assert chain_reason in (INSUFFICIENT_OUTPUT, EXCESSIVE_INPUT, PAIR_INSUFFICIENT_OUTPUT)
        if order.type is OrderType.MARKET:  # the planned bound holds on unmoved reserves
            assert chain_reason == PAIR_INSUFFICIENT_OUTPUT
            assert get_amount_out(plan.amount_in, r_in, r_out) == 0
        else:  # a limit reverts only when the pool cannot reach it
            assert order.price is not None and order.quantity is not None
            limit = Fraction(order.price)
            if order.side is OrderSide.SELL:
                best = Fraction(get_amount_out(plan.amount_in, r_in, r_out), plan.amount_in)
                assert best < limit * (1 + SLACK)
            else:
                best = Fraction(get_amount_in(plan.amount_out, r_in, r_out), plan.amount_out)
                assert best > limit * (1 - SLACK)
        return chain_reason
    assert paper.status is OrderStatus.FILLED, paper.reason
    fill = paper.fills[0]
    base_moved = abs(units(venue.balance("WETH")) - units(before[0]))
    quote_moved = abs(units(venue.balance("USD")) - units(before[1]))
    assert units(fill.quantity) == base_moved > 0
    assert fill.price == exact(quote_moved) / exact(base_moved)
    if order.type is OrderType.LIMIT:
        assert order.price is not None
        average = Fraction(quote_moved, base_moved)
        if order.side is OrderSide.SELL:
            assert average >= Fraction(order.price) * (1 - SLACK)
        else:
            assert average <= Fraction(order.price) * (1 + SLACK)
    return f"filled {plan.kind.value}"


def test_single_swaps_from_the_genesis_pool_match_the_router(rig: Rig) -> None:
    seen: Counter[str] = Counter()

    @settings(SETTINGS, max_examples=600)
    @given(intent=intents)
    def run(intent: Intent) -> None:
        rig.reset()
        venue = rig.venue()
        order = build_order("p-1", intent, venue.pool(SYMBOL), rig.world.weth, rig.world.usd)
        seen[check_one(rig, venue, order)] += 1

    run()
    assert sum(seen.values()) >= 600, seen
    assert seen["filled exact_in"] > 100 and seen["filled exact_out"] > 100, seen
    assert seen[INSUFFICIENT_OUTPUT] > 10 and seen[EXCESSIVE_INPUT] > 10, seen
    assert seen[PAIR_INSUFFICIENT_OUTPUT] > 0, seen


def test_sequences_of_swaps_keep_paper_and_pair_reserves_equal(rig: Rig) -> None:
    """Four swaps in a row: each starts from the reserves the previous one left."""
    seen: Counter[str] = Counter()

    @settings(SETTINGS, max_examples=100)
    @given(steps=st.lists(intents, min_size=4, max_size=4))
    def run(steps: list[Intent]) -> None:
        rig.reset()
        venue = rig.venue()
        for i, intent in enumerate(steps):
            order = build_order(f"s-{i}", intent, venue.pool(SYMBOL), rig.world.weth, rig.world.usd)
            seen[check_one(rig, venue, order)] += 1

    run()
    assert sum(seen.values()) >= 400, seen
    assert seen["filled exact_in"] > 100 and seen["filled exact_out"] > 20, seen
    assert seen[INSUFFICIENT_OUTPUT] > 10 and seen[EXCESSIVE_INPUT] > 10, seen
