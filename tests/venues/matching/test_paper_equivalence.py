"""MatchingPaperVenue with default settings fills exactly like the v1 PaperVenue.

The backtest runner builds its venue by name, so the test swaps the class in and runs
the same sma_cross backtest on a real Binance file twice.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from task_station.backtest import runner
from task_station.backtest.runner import BacktestConfig, run_backtest
from task_station.domain.instruments import Instrument
from task_station.marketdata.candle_files import read_candles
from task_station.venues.matching.model import MatchingConfig
from task_station.venues.matching.paper_venue import MatchingPaperVenue
from task_station.venues.paper import PaperVenue


@pytest.mark.parametrize("fee", ["0", "0.001"])
async def test_sma_cross_on_binance_btc_fills_identical_to_paper_v1(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch, fee: str
) -> None:
    candles = read_candles(shared_data / "candles/binance/BTC_USDT-1h.parquet")
    config = BacktestConfig(
        strategy="sma_cross",
        params={"fast": 10, "slow": 30},
        candles=candles,
        instrument=Instrument.from_symbol("BTC/USDT"),
        timeframe="1h",
        cash=Decimal(100_000),
        maker_fee=Decimal(fee),
        taker_fee=Decimal(fee),
    )
    matched = await run_backtest(config)  # the runner's own venue: the matching engine
    assert runner.MatchingPaperVenue is MatchingPaperVenue

    class V1(PaperVenue):
        slippage_paid = Decimal(0)  # v1 has no slippage model

    def v1_venue(*args: object, name: str, config: MatchingConfig) -> PaperVenue:
        # v1 knows fees only: the config is the default one but for them
        assert config == MatchingConfig(maker_fee=config.maker_fee, taker_fee=config.taker_fee)
        return V1(
            *args,  # type: ignore[arg-type]
            name=name,
            maker_fee=config.maker_fee,
            taker_fee=config.taker_fee,
        )

    monkeypatch.setattr(runner, "MatchingPaperVenue", v1_venue)
    v1 = await run_backtest(config)

    assert len(v1.fills) > 10
    key = [(f.ts, f.side, f.price, f.quantity, f.fee, f.liquidity) for f in v1.fills]
    assert [(f.ts, f.side, f.price, f.quantity, f.fee, f.liquidity) for f in matched.fills] == key
    assert [str(f.price) for f in matched.fills] == [str(f.price) for f in v1.fills]
    assert matched.final_equity == v1.final_equity
    assert matched.final_cash == v1.final_cash
