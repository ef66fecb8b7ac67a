"""Swaps per second on the paper AMM, against the real Uniswap V2 router on the dev chain.

Run: ``.venv/bin/python benchmarks/amm_paper.py [--swaps N] [--chain-swaps M]``. Orders
are built before the clock starts. "venue" rows go through ``PaperAmmVenue.submit_now``
(the domain state machine, balances, gas fee and reports included), "plan" rows run
``plan_swap`` + ``simulate`` + ``after_swap`` alone, "math" is the bare integer formula.
"chain" rows send ``swapExactTokensForTokens`` through web3 to the npm-built router on a
py-evm dev chain (``npm ci --prefix tests/evm`` provides the contracts): once letting
web3 estimate gas, as a plain ``transact()`` does, once with an explicit gas limit.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from task_station.domain.amm import get_amount_out
from task_station.domain.clock import ManualClock
from task_station.domain.dex import PoolState, Token
from task_station.domain.orders import Order, OrderSide, OrderType
from task_station.venues.amm.paper import PaperAmmVenue, PaperPool
from task_station.venues.amm.plan import after_swap, plan_swap, simulate
from task_station.venues.dex.devchain import DevChain, deploy, deploy_uniswap_v2, load_artifact

T0 = datetime(2024, 1, 1, tzinfo=UTC)
E18 = 10**18
WETH = Token("0x" + "c0" * 20, "WETH", 18)
USD = Token("0x" + "a0" * 20, "USD", 18)
POOL = PoolState("0x" + "01" * 20, USD, WETH, 2_000_000 * E18, 1_000 * E18)
RICH = {"WETH": Decimal(10) ** 9, "USD": Decimal(10) ** 12, "ETH": Decimal(10) ** 6}
ARTIFACTS = Path(__file__).resolve().parents[1] / "tests" / "evm" / "node_modules" / "@uniswap"


def orders(n: int, *, quote_sized: bool = False) -> list[Order]:
    """Alternating sells and buys (quote-sized or not) that keep the pool near its price."""
    out = []
    for i in range(n):
        qty = Decimal(1 + i % 7) / 4
        if i % 2 == 0:
            o = Order(f"c{i}", "paper-amm", "WETH/USD", OrderSide.SELL, OrderType.MARKET, T0,
                      quantity=qty)  # fmt: skip
        elif quote_sized:
            o = Order(f"c{i}", "paper-amm", "WETH/USD", OrderSide.BUY, OrderType.MARKET, T0,
                      quote_quantity=qty * 2000)  # fmt: skip
        else:
            o = Order(f"c{i}", "paper-amm", "WETH/USD", OrderSide.BUY, OrderType.MARKET, T0,
                      quantity=qty)  # fmt: skip
        out.append(o.submit(T0))
    return out


def venue() -> PaperAmmVenue:
    return PaperAmmVenue([PaperPool("WETH/USD", WETH, USD, POOL)], dict(RICH), ManualClock(T0))


def venue_swaps(n: int) -> float:
    v, batch = venue(), orders(n)
    start = time.perf_counter()
    for o in batch:
        v.submit_now(o)
    elapsed = time.perf_counter() - start
    assert len(v.orders) == n and all(o.fills for o in v.orders.values())
    return elapsed


def venue_quote_sized(n: int) -> float:
    v, batch = venue(), orders(n, quote_sized=True)
    start = time.perf_counter()
    for o in batch:
        v.submit_now(o)
    return time.perf_counter() - start


def plan_simulate(n: int) -> float:
    batch = orders(n)
    pool = POOL
    start = time.perf_counter()
    for o in batch:
        plan = plan_swap(o, pool, WETH, USD, slippage_bps=50)
        outcome = simulate(plan, pool)
        pool = after_swap(pool, plan.token_in, outcome.amount_in, outcome.amount_out)
    return time.perf_counter() - start


def bare_math(n: int) -> float:
    amounts = [(1 + i % 7) * E18 // 4 for i in range(n)]
    r_in, r_out = POOL.reserve1, POOL.reserve0
    start = time.perf_counter()
    for a in amounts:
        get_amount_out(a, r_in, r_out)
    return time.perf_counter() - start


SCENARIOS: list[tuple[str, str, Callable[[int], float]]] = [
    ("venue", "submit_now: market sell / buy (exact in / out)", venue_swaps),
    ("venue", "submit_now: market sell / quote-sized buy", venue_quote_sized),
    ("plan", "plan_swap + simulate + after_swap", plan_simulate),
    ("math", "get_amount_out (integers only)", bare_math),
]


def chain_swaps(n: int) -> list[tuple[str, float]]:
    """Seconds for ``n`` router swaps each way of sending them; [] without the artifacts."""
    if not (ARTIFACTS / "v2-core" / "build" / "UniswapV2Pair.json").is_file():
        return []
    chain = DevChain()  # no HTTP server: this process is the only client
    try:
        return _time_router(chain, n)
    finally:
        asyncio.run(chain.stop())


def _time_router(chain: DevChain, n: int) -> list[tuple[str, float]]:
    w3 = chain.w3
    owner, trader = chain.address(0), chain.address(1)
    dep = deploy_uniswap_v2(chain, ARTIFACTS, owner)
    usd = chain.run_sync(
        lambda: deploy(w3, load_artifact(ARTIFACTS, "v2-core", "ERC20"), owner, 10**33)
    )

    def contract(package: str, name: str, address: str) -> Any:
        return w3.eth.contract(address=address, abi=load_artifact(ARTIFACTS, package, name)["abi"])

    def send(fn: Any, sender: str, value: int = 0, gas: int | None = None) -> None:
        tx: dict[str, Any] = {"from": sender, "value": value}
        if gas is not None:
            tx["gas"] = gas

        def run() -> None:
            receipt = w3.eth.wait_for_transaction_receipt(fn.transact(tx))
            assert receipt["status"] == 1

        chain.run_sync(run)

    weth = contract("v2-periphery", "WETH9", dep.weth)
    router = contract("v2-periphery", "UniswapV2Router02", dep.router)
    usd_erc = contract("v2-core", "ERC20", usd)
    send(weth.functions.deposit(), owner, 1_000 * E18)
    send(weth.functions.deposit(), trader, 100_000 * E18)
    send(usd_erc.functions.transfer(trader, 10**12 * E18), owner)
    for who in (owner, trader):
        for token in (weth, usd_erc):
            send(token.functions.approve(dep.router, 2**256 - 1), who)
    send(router.functions.addLiquidity(dep.weth, usd, 1_000 * E18, 2_000_000 * E18, 0, 0,
                                       owner, 2**40), owner)  # fmt: skip
    rows = []
    for label, gas in (("router swap, web3 estimates gas", None),
                       ("router swap, explicit gas limit", 300_000)):  # fmt: skip
        start = time.perf_counter()
        for i in range(n):
            path = [dep.weth, usd] if i % 2 == 0 else [usd, dep.weth]
            amount = E18 if i % 2 == 0 else 2_000 * E18
            fn = router.functions.swapExactTokensForTokens(amount, 0, path, trader, 2**40)
            send(fn, trader, gas=gas)
        rows.append((label, time.perf_counter() - start))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swaps", type=int, default=100_000)
    parser.add_argument("--chain-swaps", type=int, default=200)
    args = parser.parse_args()
    print(
        f"{'layer':<7} {'scenario':<48} {'swaps':>8} {'seconds':>8} {'swaps/s':>11} {'us/swap':>9}"
    )
    for layer, label, run in SCENARIOS:
        best = min(run(args.swaps) for _ in range(3))
        print(f"{layer:<7} {label:<48} {args.swaps:>8} {best:>8.3f} "
              f"{args.swaps / best:>11,.0f} {best / args.swaps * 1e6:>9.1f}")  # fmt: skip
    rows = chain_swaps(args.chain_swaps)
    if not rows:
        print(f"chain   (skipped: no Uniswap V2 artifacts under {ARTIFACTS}; "
              "run `npm ci --prefix tests/evm`)")  # fmt: skip
    for label, seconds in rows:
        n = args.chain_swaps
        print(f"{'chain':<7} {label:<48} {n:>8} {seconds:>8.3f} "
              f"{n / seconds:>11,.1f} {seconds / n * 1e6:>9.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
