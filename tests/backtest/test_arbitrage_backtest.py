"""Arbitrage backtests on a synthetic recording: trades happen only where the gap beats
the costs, and the P&L is exactly what the simulated accounts gained."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.backtest.arbitrage import ArbBacktestResult, run_arbitrage_backtest
from task_station.domain.arbitrage import ArbOutcome, MarketSnapshot, OrderBook
from task_station.domain.errors import ValidationError
from task_station.marketdata.arb_recording import load_snapshots
from task_station.marketdata.synthetic_arb import SyntheticArbSpec, write_synthetic_recording
from task_station.strategies.arbitrage.cex_dex import CexDexArbitrage
from task_station.strategies.arbitrage.triangular import TriangularArbitrage
from task_station.venues.amm.paper import PaperGas

D = Decimal
CEX_FEE = D("0.001")
LP_FEE = D("0.003")
SLIP = D("0.001")
BALANCES = {
    "cex": {"USDC": D("100000"), "ETH": D("20")},
    "dex": {"USDC": D("100000"), "WETH": D("20")},
}
PARAMS = {
    "symbol": "ETH/USDC",
    "dex_symbol": "WETH/USDC",
    "max_base": "3",
    "min_profit": "1",
    "gas_units": 120_000,
    "cex_taker_fee_bps": "10",
    "slippage_bps": "10",
}


@pytest.fixture
def recording(tmp_path: Path) -> list[MarketSnapshot]:
    path = tmp_path / "arb.jsonl.gz"
    write_synthetic_recording(path, SyntheticArbSpec(steps=400, seed=11))
    return load_snapshots(path)


async def backtest(snapshots: list[MarketSnapshot]) -> ArbBacktestResult:
    return await run_arbitrage_backtest(
        CexDexArbitrage(PARAMS),
        snapshots,
        BALANCES,
        fees={"cex": CEX_FEE},
        gas=PaperGas(120_000, 20 * 10**9),
    )


def gap_beats_costs(s: MarketSnapshot) -> bool:
    """True when even one unit, before price impact and gas, would pay in some direction."""
    book = s.books[("cex", "ETH/USDC")]
    pool = s.pools[("dex", "WETH/USDC")].mid_price
    assert book.best_bid is not None and book.best_ask is not None
    sell_dex = pool * (1 - LP_FEE) > book.best_ask * (1 + CEX_FEE + SLIP)
    buy_dex = pool / (1 - LP_FEE) < book.best_bid * (1 - CEX_FEE - SLIP)
    return sell_dex or buy_dex


async def test_trades_only_where_the_gap_beats_the_costs(recording: list[MarketSnapshot]) -> None:
    result = await backtest(recording)
    assert result.snapshots == len(recording)
    assert result.trade_count >= 3
    assert result.outcomes == {"completed": result.trade_count}
    by_time = {s.ts: s for s in recording}
    traded = {t.ts for t in result.trades}
    for trade in result.trades:
        assert gap_beats_costs(by_time[trade.ts])
        assert trade.plan.expected_net >= 1
    quiet = [s for s in recording if not gap_beats_costs(s)]
    assert len(quiet) > len(recording) // 2  # most of the time there is nothing to do
    assert not traded & {s.ts for s in quiet}


async def test_pnl_reconciles_with_the_final_balances(recording: list[MarketSnapshot]) -> None:
    result = await backtest(recording)
    change = result.balance_changes()
    assert change["cex"]["ETH"] + change["dex"]["WETH"] == 0  # every trade was flat in base
    usdc = change["cex"]["USDC"] + change["dex"]["USDC"]
    assert abs(usdc - result.total_pnl) <= D("1e-12")
    assert result.total_pnl > 0
    assert result.gas > 0 and result.fees > 0
    assert result.total_pnl == sum(t.realized_pnl for t in result.trades)
    assert result.to_json()["trade_count"] == result.trade_count


async def test_same_recording_same_result(recording: list[MarketSnapshot]) -> None:
    first, second = await backtest(recording), await backtest(recording)
    assert first.to_json() == second.to_json()


async def test_a_triangle_backtest_on_one_shared_account() -> None:
    def snap(n: int, eth_bid: str) -> MarketSnapshot:
        return MarketSnapshot(
            datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=n),
            books={
                ("x", "BTC/USDT"): OrderBook.of([(D("49990"), D("1"))], [(D("50000"), D("1"))]),
                ("x", "ETH/BTC"): OrderBook.of([(D("0.0499"), D("10"))], [(D("0.05"), D("10"))]),
                ("x", "ETH/USDT"): OrderBook.of([(D(eth_bid), D("5"))], [(D("2600"), D("5"))]),
            },
        )

    snapshots = [snap(0, "2490"), snap(1, "2550"), snap(2, "2495")]
    result = await run_arbitrage_backtest(
        TriangularArbitrage({"venue": "x", "fee_bps": "10", "max_quote": "5000"}),
        snapshots,
        {"x": {"USDT": D("10000")}},
        fees={"x": CEX_FEE},
    )
    (trade,) = result.trades
    assert trade.outcome is ArbOutcome.COMPLETED and trade.ts == snapshots[1].ts
    change = result.balance_changes()["x"]
    marks = {"USDT": D(1), **trade.plan.marks}
    assert sum(amount * marks[a] for a, amount in change.items()) == result.total_pnl


async def test_an_empty_recording_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least one snapshot"):
        await run_arbitrage_backtest(CexDexArbitrage(PARAMS), [], BALANCES)
