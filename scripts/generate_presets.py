"""Write the prebuilt strategy settings to ``src/task_station/strategies/presets/*.json``.

The presets are a grid, per family, of style x risk profile x timeframe x market. Run
``python scripts/generate_presets.py`` after changing this file and review the diff of
the JSON files (and then of ``tests/strategies/preset_reference_metrics.json``, refreshed
with ``TASK_UPDATE_PRESET_METRICS=1 pytest tests/strategies/test_preset_backtests.py``).

Risk profiles mean the same thing in every family: ``conservative`` commits less of the
account or waits for stronger signals, ``aggressive`` commits all of it or trades more
often, ``balanced`` sits in between. Sizes given in quote currency or base units (DCA,
market making, TWAP, VWAP) suit an account of about 10,000 USDT.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "task_station" / "strategies" / "presets"

RISKS = ("conservative", "balanced", "aggressive")
TIMEFRAMES = ("1h", "1d")


@dataclass(frozen=True)
class Market:
    slug: str  # in preset names
    symbol: str
    base: str
    twap_quantity: str  # base units a TWAP/VWAP preset executes (about 1,500-4,000 USDT)
    mm_lot: str  # base units of one market-making quote
    volatility: float  # scales percentage distances (ETH moves more than BTC)


MARKETS = (
    Market("btc", "BTC/USDT", "BTC", "0.05", "0.01", 1.0),
    Market("eth", "ETH/USDT", "ETH", "1", "0.2", 1.25),
)

Params = dict[str, object]
Preset = dict[str, object]

# Share of the free quote balance a long-only signal family spends on an entry.
FRACTION = {"conservative": "0.25", "balanced": "0.5", "aggressive": "1"}
SPEND = {"conservative": "a quarter", "balanced": "half", "aggressive": "all"}
TF_WORD = {"1h": "hourly", "1d": "daily"}


def pct(x: float) -> str:
    """A fraction rounded to a tidy step, as a JSON-safe decimal string."""
    return f"{round(x, 4):.4f}".rstrip("0").rstrip(".")


def tenth(x: float) -> str:
    """A number on a 0.1 grid (parameters declared with step 0.1)."""
    return f"{round(x, 1):.1f}"


def preset(
    family: str,
    style: str,
    market: Market,
    timeframe: str,
    risk: str,
    params: Params,
    description: str,
    tags: list[str],
) -> Preset:
    name = f"{family.replace('_', '-')}-{style}-{market.slug}-{timeframe}-{risk}"
    return {
        "name": name,
        "family": family,
        "symbol": market.symbol,
        "timeframe": timeframe,
        "market_type": "spot",
        "risk_profile": risk,
        "params": params,
        "description": description,
        "tags": sorted({*tags, market.slug, timeframe, risk}),
    }


Builder = Callable[[Market, str, str], Iterator[Preset]]


def sma_cross(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    # sma_cross always spends all the cash: risk is how fast the averages react
    swing = {"conservative": (20, 50), "balanced": (10, 30), "aggressive": (5, 20)}[risk]
    trend = {"conservative": (50, 200), "balanced": (30, 100), "aggressive": (20, 60)}[risk]
    for style, (fast, slow), what in (
        ("swing", swing, "short swings"),
        ("trend", trend, "long trends"),
    ):
        yield preset(
            "sma_cross", style, m, tf, risk,
            {"fast": fast, "slow": slow},
            f"Buys {m.base} with all free cash when the {fast}-bar simple average crosses above "
            f"the {slow}-bar one on {TF_WORD[tf]} bars and sells on the cross back; suits "
            f"{what} in trending markets, loses to whipsaws in ranges.",
            ["trend-following", "moving-average", "long-only"],
        )  # fmt: skip


def ema_cross(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    for style, fast, slow in (("fast", 9, 21), ("slow", 20, 50)):
        yield preset(
            "ema_cross", style, m, tf, risk,
            {"fast": fast, "slow": slow, "fraction": FRACTION[risk]},
            f"Spends {SPEND[risk]} of the free cash on {m.base} when the {fast}-bar EMA crosses "
            f"above the {slow}-bar EMA on {TF_WORD[tf]} bars and exits on the cross below; "
            "suits markets that trend, not ones that chop sideways.",
            ["trend-following", "moving-average", "long-only"],
        )  # fmt: skip


def rsi_reversion(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    lower, upper = {"conservative": (25, 65), "balanced": (30, 70), "aggressive": (35, 75)}[risk]
    for style, period in (("classic", 14), ("fast", 7)):
        lo, hi = (lower - 5, upper + 5) if period < 14 else (lower, upper)
        yield preset(
            "rsi_reversion", style, m, tf, risk,
            {"period": period, "lower": str(lo), "upper": str(hi), "fraction": FRACTION[risk]},
            f"Buys {m.base} with {SPEND[risk]} of the free cash when the {period}-bar RSI drops "
            f"below {lo} on {TF_WORD[tf]} bars and sells when it rises above {hi}; suits "
            "range-bound markets, holds losers in a sustained fall (no stop).",
            ["mean-reversion", "oscillator", "long-only"],
        )  # fmt: skip


def macd_trend(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    for style, filt, note in (
        ("classic", False, "on every signal-line cross"),
        ("filtered", True, "only while the MACD line is above zero (fewer, later entries)"),
    ):
        yield preset(
            "macd_trend", style, m, tf, risk,
            {"fast": 12, "slow": 26, "signal": 9, "zero_filter": filt,
             "fraction": FRACTION[risk]},
            f"Spends {SPEND[risk]} of the free cash on {m.base} when MACD(12, 26, 9) crosses "
            f"above its signal line on {TF_WORD[tf]} bars, {note}, and sells on the cross "
            "below; suits momentum markets.",
            ["trend-following", "momentum", "long-only"],
        )  # fmt: skip


def bollinger_breakout(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    k = {"conservative": "2.5", "balanced": "2.0", "aggressive": "1.5"}[risk]
    for style, period in (("standard", 20), ("long", 50)):
        yield preset(
            "bollinger_breakout", style, m, tf, risk,
            {"period": period, "k": k, "fraction": FRACTION[risk]},
            f"Buys {m.base} with {SPEND[risk]} of the free cash when a {TF_WORD[tf]} close "
            f"breaks above the {period}-bar Bollinger band ({k} deviations) and exits below "
            "the middle band; suits volatility expansions at the start of trends.",
            ["breakout", "volatility", "bollinger", "long-only"],
        )  # fmt: skip


def bollinger_reversion(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    k = {"conservative": "2.5", "balanced": "2.0", "aggressive": "1.5"}[risk]
    for style, exit_at in (("to-middle", "middle"), ("to-upper", "upper")):
        yield preset(
            "bollinger_reversion", style, m, tf, risk,
            {"period": 20, "k": k, "exit_at": exit_at, "fraction": FRACTION[risk]},
            f"Buys {m.base} with {SPEND[risk]} of the free cash when a {TF_WORD[tf]} close "
            f"falls below the lower 20-bar Bollinger band ({k} deviations) and sells back at "
            f"the {exit_at} band; suits ranges, suffers in crashes (no stop).",
            ["mean-reversion", "volatility", "bollinger", "long-only"],
        )  # fmt: skip


def donchian_breakout(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    risk_share = {"conservative": "0.005", "balanced": "0.01", "aggressive": "0.02"}[risk]
    for style, entry, exit_ in (("system-1", 20, 10), ("system-2", 55, 20)):
        yield preset(
            "donchian_breakout", style, m, tf, risk,
            {"entry_period": entry, "exit_period": exit_, "atr_period": 20,
             "risk": risk_share, "stop_atr": "2.0"},
            f"Turtle {style.replace('-', ' ')} on {TF_WORD[tf]} {m.base}: buys a close above "
            f"the {entry}-bar high, sized so one ATR costs {float(risk_share):.1%} of equity, "
            f"with a 2-ATR stop and an exit below the {exit_}-bar low; suits long trends.",
            ["breakout", "trend-following", "turtle", "stop-loss", "long-only"],
        )  # fmt: skip


def supertrend(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    mult = {"conservative": 4.0, "balanced": 3.0, "aggressive": 2.0}[risk]
    for style, atr in (("standard", 10), ("smooth", 20)):
        yield preset(
            "supertrend", style, m, tf, risk,
            {"atr_period": atr, "multiplier": tenth(mult), "fraction": FRACTION[risk]},
            f"Holds {m.base} (with {SPEND[risk]} of the free cash) while SuperTrend({atr}, "
            f"{mult:g}) points up on {TF_WORD[tf]} bars and is flat while it points down; "
            "a trailing volatility stop that suits clean trends.",
            ["trend-following", "volatility", "trailing-stop", "long-only"],
        )  # fmt: skip


def grid(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    span, levels = {"conservative": (0.2, 10), "balanced": (0.1, 15), "aggressive": (0.05, 20)}[
        risk
    ]
    span *= m.volatility * (2.5 if tf == "1d" else 1.0)
    for spacing in ("arithmetic", "geometric"):
        yield preset(
            "grid", spacing, m, tf, risk,
            {"lower": "0", "upper": "0", "auto_range": pct(span), "levels": levels,
             "spacing": spacing, "budget": "0", "fee_reserve": "0.002"},
            f"Spreads the free cash over {levels} {spacing} {m.base} price levels within "
            f"{span:.1%} of the starting price, buying each level on the way down and selling "
            "it one level up; suits sideways markets, stops trading when the price leaves the "
            "range.",
            ["grid", "range", "market-neutral"],
        )  # fmt: skip


def dca(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    base, orders, dev, tp = {
        "conservative": (500, 4, 0.02, 0.015),
        "balanced": (600, 5, 0.015, 0.01),
        "aggressive": (1000, 4, 0.01, 0.008),
    }[risk]
    scale = m.volatility * (3.0 if tf == "1d" else 1.0)
    dev, tp = dev * scale, tp * scale
    for style, volume_scale, step_scale in (("steady", "1", "1"), ("martingale", "1.5", "1.2")):
        yield preset(
            "dca", style, m, tf, risk,
            {"base_order": str(base), "safety_order": str(base),
             "max_safety_orders": orders, "deviation": pct(dev), "step_scale": step_scale,
             "volume_scale": volume_scale, "take_profit": pct(tp), "restart": True},
            f"Buys {base} USDT of {m.base}, then up to {orders} safety orders from "
            f"{dev:.1%} lower ({'equal' if style == 'steady' else 'growing'} sizes) to average "
            f"down, and sells all at {tp:.1%} above the average; suits choppy markets with "
            "bounces, ties up cash in a long fall.",
            ["dca", "averaging", "long-only"],
        )  # fmt: skip


def market_making(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    gamma, max_lots = {"conservative": ("20", "2"), "balanced": ("10", "4"),
                       "aggressive": ("2", "6")}[risk]  # fmt: skip
    window = 48 if tf == "1h" else 30
    for style, min_spread in (("tight", "0.001"), ("wide", "0.003")):
        yield preset(
            "market_making", style, m, tf, risk,
            {"gamma": gamma, "kappa": "1000", "vol_window": window, "horizon_bars": 1,
             "order_size": m.mm_lot, "target_inventory": "0", "max_inventory": max_lots,
             "min_spread": min_spread},
            f"Quotes a bid and an ask of {m.mm_lot} {m.base} around the {TF_WORD[tf]} close "
            f"(Avellaneda-Stoikov, risk aversion {gamma}, spread at least "
            f"{float(min_spread):.1%}), holding at most {max_lots} lots; earns the spread in "
            "calm, liquid markets and suffers in one-way moves.",
            ["market-making", "liquidity", "inventory"],
        )  # fmt: skip


def twap(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    horizon = {"1h": {"conservative": 48, "balanced": 24, "aggressive": 8},
               "1d": {"conservative": 20, "balanced": 10, "aggressive": 5}}[tf][risk]  # fmt: skip
    unit = "hours" if tf == "1h" else "days"
    for style, slices in (("steady", horizon), ("chunked", max(2, horizon // 4))):
        yield preset(
            "twap", style, m, tf, risk,
            {"side": "buy", "quantity": m.twap_quantity, "horizon_bars": horizon,
             "slices": slices},
            f"Buys {m.twap_quantity} {m.base} in {slices} equal market orders spread evenly "
            f"over {horizon} {unit}; suits accumulating a position without moving the price "
            "(edit side and quantity to your order).",
            ["execution", "twap", "accumulation"],
        )  # fmt: skip


def vwap(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    if tf != "1h":  # a volume profile needs several bars a day
        return
    horizon = {"conservative": 48, "balanced": 24, "aggressive": 8}[risk]
    for style, warmup, what in (
        ("two-day-profile", 48, "two days"),
        ("week-profile", 168, "a week"),
        ("two-week-profile", 336, "two weeks"),
        ("month-profile", 720, "thirty days"),
    ):
        yield preset(
            "vwap", style, m, tf, risk,
            {"side": "buy", "quantity": m.twap_quantity, "horizon_bars": horizon,
             "warmup_bars": warmup},
            f"Learns the hourly volume profile over {what}, then buys {m.twap_quantity} "
            f"{m.base} over {horizon} hours in proportion to the usual volume of each hour; "
            "suits large orders in markets with a steady daily rhythm.",
            ["execution", "vwap", "accumulation"],
        )  # fmt: skip


def rules(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    """Rule-builder presets: the same engine as a trader's own rules, as editable examples."""
    stop, take = {
        "conservative": (0.02, 0.04),
        "balanced": (0.03, 0.06),
        "aggressive": (0.05, 0.10),
    }[risk]
    stop, take = stop * m.volatility, take * m.volatility
    oversold = {"conservative": 30, "balanced": 35, "aggressive": 40}[risk]
    pullback = {
        "indicators": {
            "trend": {"kind": "ema", "period": 100},
            "rsi": {"kind": "rsi", "period": 14},
        },
        "entry": {
            "all": [
                {"left": "close", "op": ">", "right": "trend"},
                {"left": "rsi", "op": "<", "right": oversold},
            ]
        },
        "exit": {"any": [{"left": "rsi", "op": ">", "right": 70}]},
        "sizing": {"fraction_of_cash": FRACTION[risk]},
        "stop_loss_pct": pct(stop),
        "take_profit_pct": pct(take),
    }
    squeeze = {
        "indicators": {
            "bb": {"kind": "bollinger", "period": 20, "mult": 2.0},
            "adx": {"kind": "adx", "period": 14},
        },
        "entry": {
            "all": [
                {"left": "close", "op": "crosses_above", "right": "bb.upper"},
                {"left": "adx.adx", "op": ">", "right": 20},
            ]
        },
        "exit": {"any": [{"left": "close", "op": "crosses_below", "right": "bb.middle"}]},
        "sizing": {"fraction_of_cash": FRACTION[risk]},
        "stop_loss_pct": pct(stop),
        "take_profit_pct": pct(take),
    }
    for style, spec, text in (
        (
            "pullback",
            pullback,
            f"buys dips (RSI below {oversold}) while the close is above its 100-bar EMA and "
            "sells when RSI passes 70",
        ),
        (
            "squeeze",
            squeeze,
            "buys a close breaking above the upper Bollinger band while ADX says a trend is "
            "under way and sells on the cross back below the middle band",
        ),
    ):
        yield preset(
            "rules", style, m, tf, risk,
            {"spec": json.dumps(spec, sort_keys=True, separators=(",", ":"))},
            f"A rule-builder strategy you can open and edit: {text} on {TF_WORD[tf]} "
            f"{m.base} bars, spending {SPEND[risk]} of the free cash, with a "
            f"{pct(stop * 100)} % stop and a {pct(take * 100)} % take-profit.",
            ["rule-builder", "editable", "long-only"],
        )  # fmt: skip


PAIR = ("ETH/USDT", "BTC/USDT")  # the multi-symbol families' basket: both have 1h data


def basket(p: Preset, symbols: tuple[str, ...]) -> Preset:
    """A multi-symbol preset: named for its basket, every symbol listed, primary first."""
    p = dict(p)
    p["name"] = str(p["name"]).replace(f"-{p['symbol'].split('/')[0].lower()}-", "-ethbtc-")
    p["symbol"], p["symbols"] = symbols[0], list(symbols)
    p["tags"] = sorted({*(t for t in p["tags"] if t not in ("btc", "eth")), "btc", "eth"})
    return p


def momentum_rotation(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    if m.slug != "eth" or tf != "1h":
        return  # one basket (ETH and BTC, hourly); listed once
    invested = {"conservative": "0.33", "balanced": "0.66", "aggressive": "0.99"}[risk]
    floor = {"conservative": "0.02", "balanced": "0", "aggressive": "-0.02"}[risk]
    for style, lookback, every, what in (
        ("weekly", 168, 24, "re-ranked every day on the past week"),
        ("monthly", 720, 168, "re-ranked every week on the past month"),
    ):
        yield basket(preset(
            "momentum_rotation", style, m, tf, risk,
            {"lookback": lookback, "rebalance_every": every, "top_n": 1,
             "min_momentum": floor, "invested": invested},
            f"Holds whichever of ETH and BTC rose more, {what}, with {pct(float(invested) * 100)} % "
            f"of equity, and sits in cash when neither beat a {pct(float(floor) * 100)} % return; "
            "dual momentum, late at sharp turns.",
            ["momentum", "rotation", "multi-symbol", "long-only"],
        ), PAIR)  # fmt: skip


def pairs_trading(m: Market, tf: str, risk: str) -> Iterator[Preset]:
    if m.slug != "eth" or tf != "1h":
        return
    entry, exit_, invested = {
        "conservative": ("2.5", "0.5", "0.33"),
        "balanced": ("2.0", "0.5", "0.66"),
        "aggressive": ("1.5", "0.3", "0.99"),
    }[risk]
    for style, lookback, what in (("fast", 72, "three days"), ("slow", 240, "ten days")):
        yield basket(preset(
            "pairs_trading", style, m, tf, risk,
            {"lookback": lookback, "entry_z": entry, "exit_z": exit_, "stop_z": "4",
             "invested": invested},
            f"Fits the ETH-BTC log-price spread over {what} of hourly bars and, when it "
            f"stretches beyond {entry} standard deviations, holds the leg that lagged with "
            f"{pct(float(invested) * 100)} % of equity until it is back within {exit_}; "
            "long-only on spot, so not market neutral.",
            ["statistical-arbitrage", "pairs", "mean-reversion", "multi-symbol"],
        ), PAIR)  # fmt: skip


BUILDERS: dict[str, Builder] = {
    "sma_cross": sma_cross,
    "ema_cross": ema_cross,
    "rsi_reversion": rsi_reversion,
    "macd_trend": macd_trend,
    "bollinger_breakout": bollinger_breakout,
    "bollinger_reversion": bollinger_reversion,
    "donchian_breakout": donchian_breakout,
    "supertrend": supertrend,
    "grid": grid,
    "dca": dca,
    "market_making": market_making,
    "twap": twap,
    "vwap": vwap,
    "rules": rules,
    "momentum_rotation": momentum_rotation,
    "pairs_trading": pairs_trading,
}


def build() -> dict[str, list[Preset]]:
    return {
        family: [
            p for m in MARKETS for tf in TIMEFRAMES for risk in RISKS for p in builder(m, tf, risk)
        ]
        for family, builder in BUILDERS.items()
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    total = 0
    for family, presets in build().items():
        text = json.dumps(presets, indent=2, ensure_ascii=False) + "\n"
        (OUT / f"{family}.json").write_text(text, encoding="utf-8")
        total += len(presets)
        print(f"{family}: {len(presets)}")
    print(f"total: {total}")


if __name__ == "__main__":
    main()
