"""The station's backtests against backtrader, backtesting.py and vectorbt, side by side.

Installs the peers into their own virtual environment (``benchmarks/.peers-venv``, made
once), generates one seeded market of 1,000,000 one-minute bars, and runs every engine
in a fresh process on the same bars and the same rule (``sma_cross``: buy everything at
the next open on a cross up, sell everything at the next open on a cross down, the fee
on both sides). It checks that all agree on the number of fills and the final equity,
then prints bars/s, peak memory and the station's ratios:

- one run: the station's event-driven engine (strategy object, order manager, matching
  venue, exact Decimal book: the live path) against each peer's single run;
- a 100-pair parameter sweep: the station's vectorized path on every core against
  vectorbt's ``from_signals`` over the same 100 columns (after its JIT warm-up).

    .venv/bin/python benchmarks/backtest_peers.py                 # everything (~6 min)
    .venv/bin/python benchmarks/backtest_peers.py --bars 200000 --skip backtrader
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import venv
from decimal import Decimal
from pathlib import Path

import numpy as np

from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame

HERE = Path(__file__).resolve().parent
PEERS_VENV = HERE / ".peers-venv"
PEER_PACKAGES = ["backtrader==1.9.78.123", "backtesting==0.6.6", "vectorbt==1.2.0"]
#: One-minute bars: calmer than the generator's hourly defaults.
MINUTE_MARKET = {
    "timeframe": "1m",
    "garch_omega": 2e-8,
    "trend_strength": 0.00002,
    "jump_rate": 0.0002,
    "jump_scale": 0.01,
}
#: Float engines size in binary floating point; the station in exact decimals.
EQUITY_TOLERANCE = 1e-6


def peers_python() -> Path:
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PEERS_VENV} with {', '.join(PEER_PACKAGES)} ...", flush=True)
        venv.create(PEERS_VENV, with_pip=True)
        subprocess.run([python, "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    return python


def make_bars(path: Path, bars: int, seed: int) -> None:
    frame = generate_frame(SyntheticMarketSpec(bars=bars, seed=seed, **MINUTE_MARKET))  # type: ignore[arg-type]
    np.savez(path, **{name: frame[name].to_numpy() for name in frame.columns})


def run(cmd: list[str | Path]) -> dict[str, object]:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd[:3]))} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def agree(a: float, b: float) -> bool:
    return abs(a - b) <= EQUITY_TOLERANCE * abs(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--fee", default="0", help="fee rate on both sides (0.001 = 10 bp)")
    parser.add_argument("--rules", default="10/30,50/200", help="fast/slow pairs for single runs")
    parser.add_argument("--skip", action="append", default=[], help="an engine to leave out")
    parser.add_argument("--sweep-pairs", type=int, default=100)
    args = parser.parse_args()

    python = peers_python()
    station = Path(sys.executable)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "bars.npz"
        make_bars(data, args.bars, args.seed)
        print(f"{args.bars:,} seeded one-minute bars (seed {args.seed}), fee {args.fee} a side, "
              f"{os.cpu_count()} cores\n")  # fmt: skip
        failures = 0
        for rule in args.rules.split(","):
            fast, slow = rule.split("/")
            common = [data, "--fast", fast, "--slow", slow, "--fee", args.fee]
            results: dict[str, dict[str, object]] = {}
            results["station (event-driven)"] = run(
                [station, HERE / "peers" / "run_station.py", "event", *common]
            )
            for engine in ("backtesting.py", "backtrader", "vectorbt"):
                if engine not in args.skip:
                    results[engine] = run([python, HERE / "peers" / "run_peer.py", engine, *common])
            failures += report(f"sma_cross {fast}/{slow}, one run", results, "backtesting.py")
        if "sweep" not in args.skip:
            pairs = sweep_pairs(args.sweep_pairs)
            spec = ",".join(f"{f}/{s}" for f, s in pairs)
            common = [data, "--pairs", spec, "--fee", args.fee]
            sweeps = {
                "station sweep (vectorized, all cores)": run(
                    [station, HERE / "peers" / "run_station.py", "sweep", *common]
                ),
                "vectorbt from_signals (100 columns)": run(
                    [python, HERE / "peers" / "run_peer.py", "vectorbt-sweep", *common]
                ),
            }
            failures += report_sweep(pairs, args.bars, sweeps, exact_ties(data, pairs))
    if failures:
        raise SystemExit(f"{failures} disagreement(s) between engines")


def sweep_pairs(n: int) -> list[tuple[int, int]]:
    """``n`` (fast, slow) pairs with fast < slow, spread over 5..200."""
    fasts = [5, 8, 10, 12, 15, 20, 25, 30, 40, 50]
    slows = [30, 40, 50, 60, 80, 100, 120, 150, 180, 200]
    pairs = [(f, s) for f in fasts for s in slows if f < s]
    extra = [(f, s) for f in (3, 4, 6, 7) for s in (60, 90, 120, 240) if (f, s) not in pairs]
    return (pairs + extra)[:n]


def report(title: str, results: dict[str, dict[str, object]], base: str) -> int:
    ref = results["station (event-driven)"]
    ref_equity = float(str(ref["final_equity"]))
    base_rate = (
        float(results[base]["bars"]) / float(results[base]["seconds"]) if base in results else None  # type: ignore[arg-type]
    )
    print(title)
    print(f"{'engine':<26}{'fills':>8}{'final equity':>20}{'agrees':>8}{'seconds':>9}"
          f"{'bars/s':>12}{'peak MB':>9}{'vs ' + base:>20}")  # fmt: skip
    failures = 0
    for name, r in results.items():
        rate = float(r["bars"]) / float(r["seconds"])  # type: ignore[arg-type]
        ok = r["fills"] == ref["fills"] and agree(float(str(r["final_equity"])), ref_equity)
        failures += not ok
        ratio = f"{rate / base_rate:.2f}x" if base_rate else "-"
        print(f"{name:<26}{r['fills']:>8}{Decimal(str(r['final_equity'])):>20.6f}"
              f"{'yes' if ok else 'NO':>8}{float(r['seconds']):>9.2f}{rate:>12,.0f}"  # type: ignore[arg-type]
              f"{float(r['peak_rss_mb']):>9.0f}{ratio:>20}")  # type: ignore[arg-type]  # fmt: skip
    print()
    return failures


def exact_ties(data: Path, pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """The pairs whose two averages are exactly equal on some bar (computed in integers
    on the cent prices): there the rule sees no cross, while float averages may see one
    either way, so a float engine may trade a bar earlier or later."""
    close = np.load(data)["close"]
    cents = np.round(close * 100).astype(np.int64)
    cum = np.concatenate(([0], np.cumsum(cents)))
    n = len(close)
    tied = set()
    for fast, slow in pairs:
        sum_f = cum[slow:] - cum[slow - fast : n + 1 - fast]
        sum_s = cum[slow:] - cum[: n + 1 - slow]
        if np.any(sum_f * slow == sum_s * fast):
            tied.add((fast, slow))
    return tied


def report_sweep(
    pairs: list[tuple[int, int]],
    bars: int,
    results: dict[str, dict[str, object]],
    tied: set[tuple[int, int]],
) -> int:
    station, peer = results.values()
    s_eq, p_eq = station["final_equities"], peer["final_equities"]
    s_fills, p_fills = station["fills"], peer["fills"]
    assert isinstance(s_eq, list) and isinstance(p_eq, list)
    assert isinstance(s_fills, list) and isinstance(p_fills, list)
    differ = [
        pair
        for pair, a, b, fa, fb in zip(pairs, s_eq, p_eq, s_fills, p_fills, strict=True)
        if fa != fb or not agree(a, b)
    ]
    unexplained = [pair for pair in differ if pair not in tied]
    worst = max(
        (
            abs(a - b) / abs(b)
            for pair, a, b in zip(pairs, s_eq, p_eq, strict=True)
            if pair not in tied
        ),
        default=0.0,
    )
    print(f"{len(pairs)}-pair sweep of sma_cross over {bars:,} bars: "
          f"{len(pairs) - len(differ)} pairs agree on fills and final equity (worst gap "
          f"{worst:.1e}); {len(differ)} differ, {len(differ) - len(unexplained)} of them "
          f"only where the exact averages tie ({', '.join(f'{f}/{s}' for f, s in differ)})")  # fmt: skip
    print(f"{'engine':<40}{'seconds':>9}{'pair-bars/s':>16}{'peak MB':>9}")
    rates = []
    for name, r in results.items():
        rate = len(pairs) * bars / float(r["seconds"])  # type: ignore[arg-type]
        rates.append(rate)
        print(f"{name:<40}{float(r['seconds']):>9.2f}{rate:>16,.0f}{float(r['peak_rss_mb']):>9.0f}")  # type: ignore[arg-type]
    print(f"station / vectorbt throughput: {rates[0] / rates[1]:.2f}x\n")
    return len(unexplained)


if __name__ == "__main__":
    main()
