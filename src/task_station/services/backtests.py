"""Backtests as a use case: validate inputs, load data, run the engine on a replay."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from task_station.backtest.account import (
    AccountBacktestConfig,
    AccountBacktestResult,
    BotSpec,
    run_account_backtest,
)
from task_station.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO, bps_to_rate, to_decimal
from task_station.engine.allocation import SymbolSharing
from task_station.marketdata.candle_files import frame_to_candles, infer_timeframe, read_frame
from task_station.strategies.catalog import StrategyCatalog


def symbol_from_filename(path: Path) -> str:
    """``BTC_USDT-1h.parquet`` -> ``BTC/USDT`` (falls back to ``ASSET/QUOTE``)."""
    stem = path.stem.split("-")[0]
    parts = stem.split("_")
    if len(parts) >= 2 and all(parts[:2]):
        return f"{parts[0]}/{parts[1]}"
    return "ASSET/QUOTE"


class BacktestService:
    """Backtests of any strategy the station offers (its user files too, when given)."""

    def __init__(self, strategies: StrategyCatalog | None = None) -> None:
        self._strategies = strategies if strategies is not None else StrategyCatalog()

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
        # an unknown strategy or parameter fails before any I/O
        self._strategies.build(strategy, params)
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
        return await run_backtest(config, strategies=self._strategies)

    async def run_account(
        self,
        *,
        bots: Sequence[Mapping[str, object]],
        data: Mapping[str, Path],
        cash: object,
        fee_bps: object = ZERO,
        sharing: str = SymbolSharing.SHARED.value,
    ) -> AccountBacktestResult:
        """Several bots (each on one or more symbols) sharing one account's ``cash``.

        ``bots`` are mappings with ``id``, ``strategy``, ``params``, ``symbols`` (the
        primary first) and ``capital`` (the quote cash allocated to the bot); ``data``
        names one candle file per symbol, all of one timeframe.
        """
        if not bots:
            raise ValidationError("an account backtest needs at least one bot")
        specs = [self._bot_spec(n, raw) for n, raw in enumerate(bots, start=1)]
        amount = to_decimal(cash, name="cash")
        fee = to_decimal(fee_bps, name="fee_bps")
        if not ZERO <= fee < Decimal(10_000):
            raise ValidationError(f"fee_bps must be between 0 and 10000, got {fee}")
        try:
            share = SymbolSharing(sharing)
        except ValueError:
            raise ValidationError(
                f"sharing must be 'shared' or 'exclusive', got {sharing!r}"
            ) from None
        needed = {s for spec in specs for s in spec.symbols}
        missing = sorted(needed - set(data))
        if missing:
            raise ValidationError(f"no candle file given for {', '.join(missing)}")
        series, timeframes = {}, set()
        for symbol in sorted(needed):
            frame = read_frame(data[symbol])
            series[symbol] = frame_to_candles(frame)
            timeframes.add(infer_timeframe(frame))
        if len(timeframes) != 1:
            raise ValidationError(
                f"the candle files mix timeframes ({', '.join(sorted(timeframes))}); "
                f"an account steps through one"
            )
        config = AccountBacktestConfig(
            bots=specs,
            series=series,
            timeframe=timeframes.pop(),
            cash=amount,
            maker_fee=bps_to_rate(fee),
            taker_fee=bps_to_rate(fee),
            sharing=share,
        )
        return await run_account_backtest(config, strategies=self._strategies)

    def _bot_spec(self, n: int, raw: Mapping[str, object]) -> BotSpec:
        where = f"bot {n}"
        bot_id = str(raw.get("id") or f"bot-{n}")
        strategy = raw.get("strategy")
        if not isinstance(strategy, str):
            raise ValidationError(f"{where}: give its strategy by name")
        params = raw.get("params") or {}
        if not isinstance(params, Mapping):
            raise ValidationError(f"{where}: params must be an object of name: value")
        self._strategies.build(strategy, params)
        symbols = raw.get("symbols")
        if isinstance(symbols, str):
            symbols = [symbols]
        if (
            not isinstance(symbols, list)
            or not symbols
            or not all(isinstance(s, str) for s in symbols)
        ):
            raise ValidationError(f'{where}: symbols must be a list like ["BTC/USDT"]')
        for symbol in symbols:
            Instrument.from_symbol(symbol)
        capital = to_decimal(raw.get("capital"), name=f"{where} capital")
        if capital <= ZERO:
            raise ValidationError(f"{where}: capital must be positive, got {capital}")
        return BotSpec(bot_id, strategy, dict(params), tuple(symbols), capital)
