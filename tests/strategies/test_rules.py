"""Rule sets as data: validation names the path, and the engine trades the bars an
independent computation says it should, on real candles."""

from __future__ import annotations

import itertools
import json
import math
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from task_station.domain.errors import ValidationError
from task_station.domain.orders import OrderSide
from task_station.strategies import registry
from task_station.strategies.rules import GOLDEN_CROSS, KINDS, RuleSpec, RuleStrategy
from tests.strategies.helpers import BTC_1H, ETH_1H, backtest, bar_index, candles, long_only_fills

ROWS = 3000


@pytest.fixture(autouse=True)
def rules_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry wiring is the lead's; here the runner finds ``rules`` by name."""
    monkeypatch.setitem(registry.BUILTIN, "rules", RuleStrategy)


def spec_json(data: dict[str, object]) -> str:
    return json.dumps(data)


def fills_of(result: object) -> list[tuple[str, int]]:
    from task_station.backtest.runner import BacktestResult

    assert isinstance(result, BacktestResult)
    index = bar_index(list(result.config.candles))
    return [(f.side.value, index[f.ts]) for f in result.fills]


# -- reference computations (pandas + plain floats; no station code) ----------------------


def closes_of(shared_data: Path, relpath: str) -> list[float]:
    df = pd.read_parquet(shared_data / relpath).iloc[:ROWS]
    return [float(x) for x in df["close"]]


def ema(xs: list[float], n: int) -> list[float | None]:
    """Alpha 2/(n+1), seeded with the mean of the first n values."""
    out: list[float | None] = [None] * len(xs)
    alpha = 2.0 / (n + 1)
    v = 0.0
    for i, x in enumerate(xs):
        if i < n:
            v += x
            if i == n - 1:
                v /= n
                out[i] = v
        else:
            v += alpha * (x - v)
            out[i] = v
    return out


def rsi(xs: list[float], n: int) -> list[float | None]:
    """Wilder's RSI from pandas: RMA of gains and losses seeded with their simple mean."""
    delta = pd.Series(xs).diff()
    gains, losses = delta.clip(lower=0).tolist(), (-delta.clip(upper=0)).tolist()
    out: list[float | None] = [None] * len(xs)
    ag = al = 0.0
    for i in range(1, len(xs)):
        if i <= n:
            ag += gains[i]
            al += losses[i]
            if i == n:
                ag, al = ag / n, al / n
            else:
                continue
        else:
            ag += (gains[i] - ag) / n
            al += (losses[i] - al) / n
        out[i] = 100.0 if al == 0 else 100.0 - 100.0 / (1.0 + ag / al)
    return out


def bollinger(xs: list[float], n: int, k: float) -> list[tuple[float, float, float] | None]:
    s = pd.Series(xs)
    mid, sd = s.rolling(n).mean(), s.rolling(n).std(ddof=0)
    return [
        None if math.isnan(m) else (m - k * d, m, m + k * d)
        for m, d in zip(mid.tolist(), sd.tolist(), strict=True)
    ]


# -- parsing ------------------------------------------------------------------------------


def test_parse_errors_name_the_path() -> None:
    base = json.loads(json.dumps(GOLDEN_CROSS))
    bad = json.loads(json.dumps(base))
    bad["entry"] = {
        "all": [
            {"left": "close", "op": ">", "right": 1},
            {"left": "fast", "op": "crosses_above", "right": "slowx"},
        ]
    }
    with pytest.raises(ValidationError, match=r"entry\.all\[1\]\.right: unknown indicator 'slowx'"):
        RuleSpec.parse(bad)
    cases: list[tuple[dict[str, object], str]] = [
        ({"indicators": {"fast": {"kind": "emaa"}}}, r"indicators\.fast\.kind: unknown"),
        ({"indicators": {"fast": {"kind": "ema", "period": 0}}}, r"indicators\.fast: period"),
        ({"indicators": {"fast": {"kind": "ema", "len": 3}}}, r"indicators\.fast: unknown key"),
        ({"exit": {"any": [{"left": "fast", "op": "~", "right": 2}]}}, r"exit\.any\[0\]\.op"),
        ({"exit": {"any": []}}, r"exit\.any: must be a non-empty list"),
        ({"sizing": {"fraction_of_cash": "1.5"}}, r"sizing\.fraction_of_cash: must be at most"),
        ({"sizing": {}}, r"sizing: exactly one of"),
        ({"stop_loss_pct": 2}, r"stop_loss_pct: must be a fraction"),
        ({"colour": "red"}, r"rule set: unknown key\(s\) 'colour'"),
    ]
    for patch, pattern in cases:
        with pytest.raises(ValidationError, match=pattern):
            RuleSpec.parse({**base, **patch})
    macd = {**base, "indicators": {"m": {"kind": "macd"}}}
    macd["entry"] = {"left": "m", "op": ">", "right": 0}
    with pytest.raises(ValidationError, match=r"entry\.left: 'm' \(macd\) has several outputs"):
        RuleSpec.parse(macd)
    with pytest.raises(ValidationError, match="rules: parameter 'spec': rule set: not valid JSON"):
        RuleStrategy({"spec": "{nope"})


def test_round_trip_to_json_and_through_the_param() -> None:
    data = {
        "indicators": {
            "rsi": {"kind": "rsi", "period": 14},
            "bb": {"kind": "bollinger", "period": 20, "mult": 2},
            "st": {"kind": "supertrend"},
        },
        "entry": {"all": [{"left": "rsi", "op": "<", "right": 30},
                          {"any": [{"left": "close", "op": "<=", "right": "bb.lower"},
                                   {"left": "st.direction", "op": ">", "right": "0"}]}]},
        "exit": {"left": "close", "op": "crosses_above", "right": "bb.middle"},
        "sizing": {"quantity": 0.01},
        "stop_loss_pct": "0.02",
        "take_profit_pct": 0.05,
        "description": "buy the dip",
    }  # fmt: skip
    spec = RuleSpec.parse(data)
    text = spec.to_json()
    assert RuleSpec.from_json(text) == spec
    assert RuleSpec.parse(json.loads(text)).to_json() == text
    assert spec.sizing.quantity == Decimal("0.01")
    assert spec.take_profit_pct == Decimal("0.05")
    assert dict(spec.indicators[0].params) == {"period": 20, "mult": 2.0}  # bb, rsi, st
    # the ``spec`` text parameter is how bots and presets store it
    strategy = RuleStrategy({"spec": text})
    assert strategy.spec == spec
    assert RuleStrategy().spec == RuleSpec.parse(GOLDEN_CROSS)


# -- trading on real candles --------------------------------------------------------------


def test_golden_cross_trades_the_bars_of_an_independent_computation(shared_data: Path) -> None:
    bars = candles(shared_data, BTC_1H, rows=ROWS)
    data = {
        "indicators": {"fast": {"kind": "ema", "period": 9}, "slow": {"kind": "ema", "period": 21}},
        "entry": {"all": [{"left": "fast", "op": "crosses_above", "right": "slow"}]},
        "exit": {"any": [{"left": "fast", "op": "crosses_below", "right": "slow"}]},
        "sizing": {"fraction_of_cash": "1"},
    }
    result = backtest("rules", {"spec": spec_json(data)}, bars)

    closes = closes_of(shared_data, BTC_1H)
    fast, slow = ema(closes, 9), ema(closes, 21)
    signals = [0] * len(closes)
    for t in range(1, len(closes)):
        f0, s0, f1, s1 = fast[t - 1], slow[t - 1], fast[t], slow[t]
        if f0 is None or s0 is None or f1 is None or s1 is None:
            continue
        signals[t] = 1 if f0 <= s0 and f1 > s1 else -1 if f0 >= s0 and f1 < s1 else 0
    expected = long_only_fills(signals, len(closes))
    assert len(expected) > 20
    assert fills_of(result) == expected
    # and it is the built-in ema_cross, trade for trade
    builtin = backtest("ema_cross", {"fast": 9, "slow": 21}, bars)
    assert fills_of(builtin) == expected
    assert result.final_equity == builtin.final_equity


def rsi_bb_signals(
    closes: list[float], *, mode: str, rsi_below: float
) -> tuple[list[int], list[float | None], list[tuple[float, float, float] | None]]:
    r, bb = rsi(closes, 14), bollinger(closes, 20, 2.0)
    signals = [0] * len(closes)
    for t, (rv, band, c) in enumerate(zip(r, bb, closes, strict=True)):
        if rv is None or band is None:
            continue
        lower, middle, _ = band
        a, b = rv < rsi_below, c < lower
        if (a and b) if mode == "all" else (a or b):
            signals[t] = 1
        elif rv > 70 or c > middle:  # the exit: any of the two
            signals[t] = -1
    return signals, r, bb


@pytest.mark.parametrize(("mode", "rsi_below"), [("all", 30.0), ("any", 25.0)])
def test_rsi_and_bollinger_rules_trade_the_expected_bars(
    shared_data: Path, mode: str, rsi_below: float
) -> None:
    bars = candles(shared_data, ETH_1H, rows=ROWS)
    data = {
        "indicators": {
            "rsi": {"kind": "rsi", "period": 14},
            "bb": {"kind": "bollinger", "period": 20, "mult": 2.0},
        },
        "entry": {mode: [{"left": "rsi", "op": "<", "right": rsi_below},
                         {"left": "close", "op": "<", "right": "bb.lower"}]},
        "exit": {"any": [{"left": "rsi", "op": ">", "right": 70},
                         {"left": "close", "op": ">", "right": "bb.middle"}]},
        "sizing": {"fraction_of_cash": "0.5"},
    }  # fmt: skip
    result = backtest("rules", {"spec": spec_json(data)}, bars, symbol="ETH/USDT")
    closes = closes_of(shared_data, ETH_1H)
    signals, r, bb = rsi_bb_signals(closes, mode=mode, rsi_below=rsi_below)
    # a tie within float noise would make the comparison depend on summation order
    for rv, band, c in zip(r, bb, closes, strict=True):
        if rv is not None and band is not None:
            assert abs(rv - rsi_below) > 1e-9 and abs(rv - 70) > 1e-9
            assert abs(c - band[0]) > 1e-9 * c and abs(c - band[1]) > 1e-9 * c
    expected = long_only_fills(signals, len(closes))
    assert len(expected) > 10
    assert fills_of(result) == expected
    # half the cash on each entry: the first buy spends 50 000 of 100 000
    first = result.fills[0]
    assert first.side is OrderSide.BUY
    assert abs(first.price * first.quantity - Decimal(50_000)) < Decimal("0.01")


def test_or_rule_enters_at_least_as_often_as_and(shared_data: Path) -> None:
    closes = closes_of(shared_data, ETH_1H)
    both, _, _ = rsi_bb_signals(closes, mode="all", rsi_below=30.0)
    either, _, _ = rsi_bb_signals(closes, mode="any", rsi_below=30.0)
    assert sum(s > 0 for s in either) > sum(s > 0 for s in both) > 0


def test_stop_loss_and_take_profit_close_positions_without_an_exit_rule(
    shared_data: Path,
) -> None:
    bars = candles(shared_data, BTC_1H, rows=ROWS)
    data = {
        "indicators": {"rsi": {"kind": "rsi", "period": 14}},
        "entry": {"left": "rsi", "op": "<", "right": 30},
        "sizing": {"quantity": "0.5"},
        "stop_loss_pct": "0.01",
        "take_profit_pct": "0.01",
    }
    result = backtest("rules", {"spec": spec_json(data)}, bars)
    sides = [f.side for f in result.fills]
    assert sides.count(OrderSide.SELL) >= 5
    assert all(a != b for a, b in itertools.pairwise(sides))  # buy, sell, buy, ...
    index = bar_index(bars)
    kinds = set()
    for buy, sell in zip(result.fills[::2], result.fills[1::2], strict=False):
        if sell.price >= buy.price * Decimal("1.01") - Decimal("1e-9"):
            kinds.add("take profit")  # the limit leg: at its price or a better open
            continue
        # the stop leg is watched: a bar's low goes through it, then it sells at market
        held = bars[index[buy.ts] : index[sell.ts]]
        assert any(c.low <= buy.price * Decimal("0.99") for c in held), (buy, sell)
        kinds.add("stop loss")
    assert kinds == {"take profit", "stop loss"}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_indicator_kind_runs_in_a_rule(shared_data: Path, kind: str) -> None:
    """Each kind builds, is fed the right input (close or bar) and every output reads."""
    bars = candles(shared_data, BTC_1H, rows=300)
    outputs = KINDS[kind].outputs
    data = {
        "indicators": {"x": {"kind": kind}},
        "entry": {"any": [{"left": "close", "op": "crosses_above", "right": f"x.{o}"}
                          for o in outputs]},
        "exit": {"all": [{"left": f"x.{o}", "op": ">=", "right": -1e300} for o in outputs]},
        "sizing": {"fraction_of_cash": "0.9"},
    }  # fmt: skip
    result = backtest("rules", {"spec": spec_json(data)}, bars)
    assert result.equity_curve  # ran to the end: a failure would have raised
