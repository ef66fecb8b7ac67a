"""Throughput of account backtests: several bots sharing one account and ledger.

Compares, on the same real hourly BTC/USDT and ETH/USDT bars, one bot alone (the
single-bot engine), the same bot on a shared account, and three or five bots on one
account (two of them on one symbol, one pairs bot on both), and checks each time that
the bots' P&L adds up to the account's. Prints a table; needs ../shared/data (else a
synthetic market of the same length).

    .venv/bin/python benchmarks/account_backtest.py
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

from task_station.backtest.account import AccountBacktestConfig, BotSpec, run_account_backtest_sync
from task_station.backtest.runner import BacktestConfig, run_backtest_sync
from task_station.domain.instruments import Instrument
from task_station.marketdata.candle_files import frame_to_candles, read_frame
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame

DATA = Path(__file__).resolve().parents[2] / "shared/data/candles/binance"
BARS = 10_000
FEE = Decimal("0.001")


def series(name: str, seed: int) -> tuple[list, str]:
    path = DATA / f"{name}-1h.parquet"
    if path.exists():
        return frame_to_candles(read_frame(path))[-BARS:], "real"
    return frame_to_candles(generate_frame(SyntheticMarketSpec(seed=seed, bars=BARS))), "synthetic"


def main() -> None:
    btc, source = series("BTC_USDT", 1)
    eth, _ = series("ETH_USDT", 2)
    data = {"BTC/USDT": btc, "ETH/USDT": eth}
    trend = BotSpec("trend", "ema_cross", {"fast": 12, "slow": 26}, ("BTC/USDT",), Decimal(3000))
    setups = {
        "1 bot, 1 symbol": [trend],
        "3 bots, 2 symbols": [
            trend,
            BotSpec("revert", "rsi_reversion", {}, ("BTC/USDT",), Decimal(3000)),
            BotSpec("pair", "pairs_trading", {}, ("ETH/USDT", "BTC/USDT"), Decimal(3000)),
        ],
        "5 bots, 2 symbols": [
            trend,
            BotSpec("revert", "rsi_reversion", {}, ("BTC/USDT",), Decimal(1500)),
            BotSpec("pair", "pairs_trading", {}, ("ETH/USDT", "BTC/USDT"), Decimal(1500)),
            BotSpec("eth", "macd_trend", {}, ("ETH/USDT",), Decimal(1500)),
            BotSpec("rot", "momentum_rotation", {}, ("ETH/USDT", "BTC/USDT"), Decimal(1500)),
        ],
    }
    rows = []
    t = time.perf_counter()
    alone = run_backtest_sync(
        BacktestConfig(
            "ema_cross",
            {"fast": 12, "slow": 26},
            btc,
            Instrument.from_symbol("BTC/USDT"),
            "1h",
            Decimal(3000),
            maker_fee=FEE,
            taker_fee=FEE,
        )
    )
    seconds = time.perf_counter() - t
    rows.append(("single-bot engine", 1, len(btc), seconds, alone.trade_count, "-"))
    for label, bots in setups.items():
        symbols = {s for b in bots for s in b.symbols}
        config = AccountBacktestConfig(
            bots=bots,
            series={s: data[s] for s in symbols},
            timeframe="1h",
            cash=Decimal(10_000),
            maker_fee=FEE,
            taker_fee=FEE,
        )
        t = time.perf_counter()
        result = run_account_backtest_sync(config)
        seconds = time.perf_counter() - t
        gap = sum(b.pnl for b in result.bots) - result.account_pnl
        fills = sum(len(b.fills) for b in result.bots)
        rows.append((f"account: {label}", len(bots), BARS, seconds, fills, str(gap)))
    print(f"{BARS:,} hourly steps of {source} BTC/USDT and ETH/USDT, fee 0.1 %\n")
    print(f"{'setup':28} {'bots':>4} {'steps/s':>9} {'bot-steps/s':>12} {'fills':>6}  P&L gap")
    for label, n, steps, seconds, fills, gap in rows:
        print(
            f"{label:28} {n:>4} {steps / seconds:>9,.0f} {n * steps / seconds:>12,.0f} "
            f"{fills:>6}  {gap}"
        )


if __name__ == "__main__":
    main()
