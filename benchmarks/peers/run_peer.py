"""Run one peer framework on the benchmark's bars and rule; print one JSON line.

Runs inside the peers' own virtual environment (see ``benchmarks/backtest_peers.py``),
never imports the station. The rule is the station's ``sma_cross`` (foundation issue):
with d = SMA_fast(close) - SMA_slow(close), a flat book that sees d[t-1] <= 0 < d[t]
buys with all its cash at bar t+1's open (fee included, fractional size down to 1e-8);
a long book that sees d[t-1] >= 0 > d[t] sells everything at t+1's open; a signal on
the last bar never fills; the final equity marks the position to the last close. Each
framework computes the averages with its own tools, as its users would.

    python run_peer.py ENGINE BARS.npz --fast 10 --slow 30 --fee 0.001 --cash 100000
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings

import numpy as np
import pandas as pd

LOT = 1e-8  # the station's default lot step for BTC/USDT (vectorbt sizes exactly: its
# size_granularity mis-sizes every trade after the first, so it trades unrounded)


def load(path: str) -> pd.DataFrame:
    raw = np.load(path)
    index = pd.to_datetime(raw["timestamp"], unit="ms", utc=True).tz_localize(None)
    return pd.DataFrame(
        {
            "Open": raw["open"],
            "High": raw["high"],
            "Low": raw["low"],
            "Close": raw["close"],
            "Volume": raw["volume"],
        },
        index=index,
    )


def run_backtesting_py(df: pd.DataFrame, fast: int, slow: int, fee: float, cash: float) -> dict:
    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest

    def sma(values: np.ndarray, n: int) -> np.ndarray:
        return pd.Series(values).rolling(n).mean().to_numpy()

    class SmaCross(Strategy):
        def init(self) -> None:
            self.f = self.I(sma, self.data.Close, fast)
            self.s = self.I(sma, self.data.Close, slow)

        def next(self) -> None:
            if len(self.data) < slow + 1:
                return
            prev = self.f[-2] - self.s[-2]
            cur = self.f[-1] - self.s[-1]
            if not self.position and prev <= 0 < cur:
                self.buy(size=1 - 1e-15)
            elif self.position and prev >= 0 > cur:
                self.position.close()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = FractionalBacktest(
            df,
            SmaCross,
            cash=cash,
            commission=fee,
            trade_on_close=False,
            finalize_trades=False,
            fractional_unit=LOT,
        )
        t0 = time.perf_counter()
        stats = bt.run()
        seconds = time.perf_counter() - t0
    trades = stats["_trades"]
    fills = 2 * len(trades)
    position_open = stats["_strategy"].position.size != 0
    fills += 1 if position_open else 0
    return {
        "seconds": seconds,
        "fills": int(fills),
        "final_equity": float(stats["Equity Final [$]"]),
    }


def run_vectorbt(df: pd.DataFrame, fast: int, slow: int, fee: float, cash: float) -> dict:
    import vectorbt as vbt

    close = df["Close"]
    t0 = time.perf_counter()
    f = vbt.MA.run(close, fast).ma
    s = vbt.MA.run(close, slow).ma
    d = (f - s).to_numpy()
    prev = np.roll(d, 1)
    prev[0] = np.nan
    up = (prev <= 0) & (d > 0)
    down = (prev >= 0) & (d < 0)
    # decided at t's close, executed at t+1's open: shift the signals one bar
    entries = pd.Series(np.concatenate(([False], up[:-1])), index=close.index)
    exits = pd.Series(np.concatenate(([False], down[:-1])), index=close.index)
    pf = vbt.Portfolio.from_signals(
        close,
        entries,
        exits,
        price=df["Open"],
        size=np.inf,
        fees=fee,
        init_cash=cash,
        freq="1min",
    )
    final = float(pf.final_value())
    seconds = time.perf_counter() - t0
    fills = int(pf.orders.count())
    return {"seconds": seconds, "fills": fills, "final_equity": final}


def run_vectorbt_sweep(
    df: pd.DataFrame, pairs: list[tuple[int, int]], fee: float, cash: float
) -> dict:
    import vectorbt as vbt

    close = df["Close"]
    t0 = time.perf_counter()
    windows = sorted({w for pair in pairs for w in pair})
    mas = vbt.MA.run(close, windows).ma
    by_window = {w: mas.iloc[:, i].to_numpy() for i, w in enumerate(windows)}
    d = np.column_stack([by_window[f] - by_window[s] for f, s in pairs])
    prev = np.vstack([np.full((1, len(pairs)), np.nan), d[:-1]])
    up = (prev <= 0) & (d > 0)
    down = (prev >= 0) & (d < 0)
    false_row = np.zeros((1, len(pairs)), dtype=bool)
    entries = np.vstack([false_row, up[:-1]])
    exits = np.vstack([false_row, down[:-1]])
    columns = pd.Index([f"{f}/{s}" for f, s in pairs])
    pf = vbt.Portfolio.from_signals(
        pd.DataFrame(
            np.repeat(close.to_numpy()[:, None], len(pairs), axis=1),
            index=close.index,
            columns=columns,
        ),
        pd.DataFrame(entries, index=close.index, columns=columns),
        pd.DataFrame(exits, index=close.index, columns=columns),
        price=pd.DataFrame(
            np.repeat(df["Open"].to_numpy()[:, None], len(pairs), axis=1),
            index=close.index,
            columns=columns,
        ),
        size=np.inf,
        fees=fee,
        init_cash=cash,
        freq="1min",
    )
    finals = pf.final_value().to_numpy()
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "final_equities": [float(x) for x in finals],
        "fills": [int(x) for x in pf.orders.count().to_numpy()],
    }


def run_backtrader(df: pd.DataFrame, fast: int, slow: int, fee: float, cash: float) -> dict:
    import backtrader as bt

    class SmaCross(bt.Strategy):
        def __init__(self) -> None:
            self.d = bt.ind.SMA(period=fast) - bt.ind.SMA(period=slow)
            self.fills = 0

        def notify_order(self, order: bt.Order) -> None:
            if order.status == order.Completed:
                self.fills += 1

        def next(self) -> None:
            if len(self) < slow + 1:
                return
            prev, cur = self.d[-1], self.d[0]
            if not self.position and prev <= 0 < cur:
                self.buy()  # sized by AllIn
            elif self.position and prev >= 0 > cur:
                self.close()

    class AllIn(bt.Sizer):
        """All cash at the next open, fee included, down to the lot step (cheat-on-open off:
        size from the current cash and the next bar's open, known to the broker at fill)."""

        def _getsizing(self, comminfo, cash, data, isbuy):
            nxt = data.open[1]
            return np.floor(cash / (nxt * (1 + fee)) / LOT) * LOT

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(
        bt.feeds.PandasData(
            dataname=df,
            open="Open",
            high="High",
            low="Low",
            close="Close",
            volume="Volume",
            openinterest=None,
        )
    )
    cerebro.addstrategy(SmaCross)
    cerebro.addsizer(AllIn)
    cerebro.broker.setcash(cash)
    cerebro.broker.setcommission(commission=fee)
    cerebro.broker.set_coc(False)
    t0 = time.perf_counter()
    strat = cerebro.run(preload=True, runonce=True)[0]
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "fills": strat.fills,
        "final_equity": float(cerebro.broker.getvalue()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "engine", choices=["backtesting.py", "vectorbt", "vectorbt-sweep", "backtrader"]
    )
    parser.add_argument("data")
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--slow", type=int, default=30)
    parser.add_argument("--fee", type=float, default=0.001)
    parser.add_argument("--cash", type=float, default=100_000.0)
    parser.add_argument("--pairs", default="", help="fast/slow,fast/slow,... for vectorbt-sweep")
    args = parser.parse_args()
    df = load(args.data)
    if args.engine == "backtesting.py":
        out = run_backtesting_py(df, args.fast, args.slow, args.fee, args.cash)
    elif args.engine == "vectorbt":
        run_vectorbt(df.iloc[:1000], args.fast, args.slow, args.fee, args.cash)  # JIT warm-up
        out = run_vectorbt(df, args.fast, args.slow, args.fee, args.cash)
    elif args.engine == "vectorbt-sweep":
        pairs = [tuple(int(x) for x in p.split("/")) for p in args.pairs.split(",")]
        run_vectorbt_sweep(df.iloc[:1000], pairs[:2], args.fee, args.cash)  # JIT warm-up
        out = run_vectorbt_sweep(df, pairs, args.fee, args.cash)
    else:
        out = run_backtrader(df, args.fast, args.slow, args.fee, args.cash)
    out["bars"] = len(df)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
