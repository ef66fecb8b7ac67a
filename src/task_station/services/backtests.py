"""Backtests as a use case: validate inputs, load data, run the engine on a replay."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from task_station.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO, bps_to_rate, to_decimal
from task_station.marketdata.candle_files import frame_to_candles, infer_timeframe, read_frame
from task_station.strategies.registry import build_strategy


def symbol_from_filename(path: Path) -> str:
    """``BTC_USDT-1h.parquet`` -> ``BTC/USDT`` (falls back to ``ASSET/QUOTE``)."""
    stem = path.stem.split("-")[0]
    parts = stem.split("_")
    if len(parts) >= 2 and all(parts[:2]):
        return f"{parts[0]}/{parts[1]}"
    return "ASSET/QUOTE"


class BacktestService:
    async def run(
        self,
        *,
        strategy: str,
        params: Mapping[str, object],
        data: Path,
        cash: object,
        fee_bps: object = ZERO,
        symbol: str | None = None,
    ) -> BacktestResult:
        """Run ``strategy`` over the candle file ``data``; every input is checked first."""
        build_strategy(strategy, params)  # unknown strategy or parameter: fail before any I/O
        amount = to_decimal(cash, name="cash")
        fee = to_decimal(fee_bps, name="fee_bps")
        if not ZERO <= fee < Decimal(10_000):
            raise ValidationError(f"fee_bps must be between 0 and 10000, got {fee}")
        frame = read_frame(data)
        config = BacktestConfig(
            strategy=strategy,
            params=dict(params),
            candles=frame_to_candles(frame),
            instrument=Instrument.from_symbol(
                symbol or symbol_from_filename(data), venue="backtest"
            ),
            timeframe=infer_timeframe(frame),
            cash=amount,
            maker_fee=bps_to_rate(fee),
            taker_fee=bps_to_rate(fee),
        )
        return await run_backtest(config)
