"""Arbitrage backtests as a use case: inputs checked first, results from the runtime."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from task_station.domain.errors import ValidationError
from task_station.marketdata.synthetic_arb import SyntheticArbSpec, write_synthetic_recording
from task_station.services.arbitrage import ArbitrageService, parse_balances

PARAMS = {"symbol": "ETH/USDC", "dex_symbol": "WETH/USDC", "max_base": "2"}
BALANCES = {"cex:USDC": "100000", "cex:ETH": "10", "dex:USDC": "100000", "dex:WETH": "10"}


async def test_a_demo_backtest_trades_the_gaps_and_its_pnl_is_the_change_of_the_accounts() -> None:
    result = await ArbitrageService().backtest(
        strategy="cex_dex",
        params=PARAMS,
        balances=BALANCES,
        demo_seed=3,
        demo_steps=800,
        fees_bps={"cex": "10"},
    )
    assert result.trade_count > 0 and result.total_pnl > 0
    changes = result.balance_changes()
    base = changes["cex"].get("ETH", Decimal(0)) + changes["dex"].get("WETH", Decimal(0))
    assert base == 0  # every completed trade is flat in the base
    quote = changes["cex"]["USDC"] + changes["dex"]["USDC"]
    assert abs(quote - result.total_pnl) < Decimal("1e-12")


async def test_a_recording_replays_the_same_as_the_market_it_was_made_from(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl.gz"
    write_synthetic_recording(path, SyntheticArbSpec(seed=3, steps=800))
    service = ArbitrageService()
    from_file = await service.backtest(
        strategy="cex_dex", params=PARAMS, balances=BALANCES, recording=path, fees_bps={"cex": "10"}
    )
    from_seed = await service.backtest(
        strategy="cex_dex",
        params=PARAMS,
        balances=BALANCES,
        demo_seed=3,
        demo_steps=800,
        fees_bps={"cex": "10"},
    )
    assert from_file.total_pnl == from_seed.total_pnl
    assert from_file.trade_count == from_seed.trade_count


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "nope"}, "unknown"),
        ({"balances": {"USDC": "1"}}, "VENUE:ASSET"),
        ({"balances": {"cex:USDC": "-1"}}, "negative"),
        ({"demo_seed": None}, "either a recording"),
        ({"recording": Path("/nonexistent.jsonl.gz"), "demo_seed": None}, "does not exist"),
        ({"params": {"max_base": "-1"}}, "at least"),
    ],
)
async def test_bad_input_is_refused_with_the_fix(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "strategy": "cex_dex",
        "params": PARAMS,
        "balances": BALANCES,
        "demo_seed": 1,
        "demo_steps": 10,
    }
    args.update(kwargs)
    with pytest.raises(ValidationError, match=message):
        await ArbitrageService().backtest(**args)  # type: ignore[arg-type]


def test_the_catalogue_lists_the_three_families_with_their_parameters() -> None:
    infos = {i.name: i for i in ArbitrageService().strategies()}
    assert {"cex_dex", "cross_cex", "triangular"} <= set(infos)
    names = {p["name"] for p in infos["cex_dex"].params}
    assert {"max_base", "min_profit", "leg_policy", "cex_taker_fee_bps"} <= names


def test_balances_parse_per_venue() -> None:
    assert parse_balances({"cex:USDC": "5", "dex:WETH": "1.5"}) == {
        "cex": {"USDC": Decimal(5)},
        "dex": {"WETH": Decimal("1.5")},
    }
