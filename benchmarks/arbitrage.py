"""Arbitrage speed: snapshots per second through the runtime, and a live DEX swap's cost.

Run: ``.venv/bin/python benchmarks/arbitrage.py [--snapshots N] [--swaps N]``.

- "backtest" rows replay the seeded synthetic CEX/DEX market through
  ``run_arbitrage_backtest`` (the same ``ArbitrageRuntime`` as live, on the paper
  venues), once with trading and once with a minimum profit no gap reaches (the cost of
  looking: sizing every snapshot without trading).
- "chain" rows submit market sells through ``UniswapV2Venue`` to Uniswap V2 on the
  local dev chain over loopback JSON-RPC and time submit -> fill (needs the npm
  artifacts in tests/evm; skipped otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from task_station.backtest.arbitrage import run_arbitrage_backtest
from task_station.marketdata.synthetic_arb import SyntheticArbSpec, generate_arb_snapshots
from task_station.strategies.arbitrage.cex_dex import CexDexArbitrage

BALANCES = {
    "cex": {"USDC": Decimal(10**9), "ETH": Decimal(10**5)},
    "dex": {"USDC": Decimal(10**9), "WETH": Decimal(10**5)},
}


async def backtest_row(snapshots: int, min_profit: str) -> tuple[int, float, int]:
    snaps = generate_arb_snapshots(SyntheticArbSpec(seed=5, steps=snapshots))
    bot = CexDexArbitrage(
        {"symbol": "ETH/USDC", "dex_symbol": "WETH/USDC", "max_base": "2", "min_profit": min_profit}
    )
    start = time.perf_counter()
    result = await run_arbitrage_backtest(bot, snaps, BALANCES, fees={"cex": Decimal("0.001")})
    return result.snapshots, time.perf_counter() - start, result.trade_count


class FillCounter:
    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.fills = 0

    def on_venue_report(self, report: object) -> None:
        from task_station.venues.base import FillReport

        if isinstance(report, FillReport):
            self.fills += 1
            self.done.set()


async def chain_rows(swaps: int) -> list[tuple[str, int, float]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo's tests package
    from tests.support.uniswap import ARTIFACTS, E18, uniswap_world

    from task_station.domain.clock import SystemClock
    from task_station.domain.orders import Order, OrderSide, OrderType
    from task_station.venues.dex.client import UniswapV2Client, http_web3
    from task_station.venues.dex.venue import DexMarket, UniswapV2Venue
    from task_station.venues.dex.wallet import Wallet

    if not (ARTIFACTS / "v2-core").is_dir():
        print("(chain rows skipped: run `npm ci --prefix tests/evm` first)")
        return []
    world = await uniswap_world()
    rows = []
    try:
        world.fund(world.chain.address(3), weth=swaps * E18)
        for approval in ("exact", "unlimited"):
            venue = UniswapV2Venue(
                UniswapV2Client(http_web3(world.chain.url), world.dex),
                Wallet.from_key(world.chain.private_key(3)),
                [DexMarket("WETH/USD", world.weth.address, world.usd.address)],
                SystemClock(),
                approval=approval,
                receipt_poll_seconds=0.001,
            )
            await venue.connect()
            listener = FillCounter()
            done = listener.done
            venue.set_listener(listener)
            start = time.perf_counter()
            for i in range(swaps // 2):
                done.clear()
                await venue.submit_order(
                    Order(f"{approval}-{i}", venue.name, "WETH/USD", OrderSide.SELL,
                          OrderType.MARKET, datetime.now(UTC), quantity=Decimal("0.5"))
                )  # fmt: skip
                await done.wait()
            how = (
                "exact approval, fixed gas" if approval == "exact" else "no approval, gas estimated"
            )
            rows.append((f"submit -> fill, {how}", listener.fills, time.perf_counter() - start))
            await venue.close()
    finally:
        await world.chain.stop()
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--snapshots", type=int, default=20_000)
    parser.add_argument("--swaps", type=int, default=40)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    print(f"{'layer':9}{'scenario':44}{'count':>8}{'seconds':>9}{'per second':>12}{'trades':>8}")
    for label, min_profit in (("trading the gaps", "1"), ("looking only (no trade)", "1000000")):
        n, secs, trades = await backtest_row(args.snapshots, min_profit)
        print(
            f"{'backtest':9}{'cex_dex, ' + label:44}{n:>8}{secs:>9.3f}{n / secs:>12,.0f}{trades:>8}"
        )
    for label, n, secs in await chain_rows(args.swaps):
        print(f"{'chain':9}{label:44}{n:>8}{secs:>9.3f}{n / secs:>12,.1f}{'':>8}")


if __name__ == "__main__":
    asyncio.run(main())
