"""Rule-based strategies defined as data: the no-code rule builder's format.

A rule set is a JSON object (stored as the text of the ``spec`` parameter of the
``rules`` strategy, so bots, presets and backtests keep it like any other parameter)::

    {
      "indicators": {
        "fast": {"kind": "ema", "period": 12},
        "slow": {"kind": "ema", "period": 26},
        "bb":   {"kind": "bollinger", "period": 20, "mult": 2.0}
      },
      "entry": {"all": [{"left": "fast", "op": "crosses_above", "right": "slow"}]},
      "exit":  {"any": [{"left": "fast", "op": "crosses_below", "right": "slow"},
                        {"left": "close", "op": ">", "right": "bb.upper"}]},
      "sizing": {"fraction_of_cash": "0.5"},
      "stop_loss_pct": "0.02",
      "take_profit_pct": "0.05"
    }

- ``indicators``: named instances of an indicator ``kind`` (see ``KINDS``) with its
  parameters; missing parameters take the indicator's defaults.
- ``entry`` / ``exit``: a condition tree. A node is ``{"all": [...]}`` (every child
  holds), ``{"any": [...]}`` (at least one holds) or a comparison
  ``{"left": A, "op": OP, "right": B}``. Operands are a price field (``close``,
  ``open``, ``high``, ``low``, ``volume``), an indicator output (``"bb.upper"``; a bare
  name reads ``value`` for single-output indicators) or a number. Operators: ``>``,
  ``<``, ``>=``, ``<=``, ``crosses_above`` (left <= right on the previous bar and
  left > right now) and ``crosses_below`` (left >= right before, left < right now).
  A comparison whose operands are not known yet (an indicator still warming up, or no
  previous bar for a cross) is false.
- ``sizing``: ``{"fraction_of_cash": f}`` spends ``f`` (0 < f <= 1) of the free quote
  balance on an entry; ``{"quantity": q}`` buys ``q`` base.
- ``stop_loss_pct`` / ``take_profit_pct`` (optional): fractions (0.02 means 2 %) below /
  above the entry fill price. Once the entry has filled, the strategy places a
  stop-loss (``ctx.stop``), a take-profit limit (``ctx.limit``) or both as an OCO pair
  (``ctx.oco``) for the whole position. With at least one of them, ``exit`` may be left
  out.

Semantics (long only, spot, like the built-in signal families): indicators are fed on
every closed bar; a flat bot with no working orders whose ``entry`` holds buys at market;
a long bot whose ``exit`` holds cancels its protective orders and sells everything at
market. Orders fill at the next bar's open. Indicator values are floats (the ``ta``
package's choice); prices and sizes sent as orders are ``Decimal`` on the instrument's
grid.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.money import ZERO
from task_station.domain.orders import OrderSide
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.common import round_price, round_size
from task_station.strategies.params import Param
from task_station.strategies.ta import (
    ADX,
    ATR,
    EMA,
    MACD,
    OBV,
    RSI,
    SMA,
    VWAP,
    WMA,
    BollingerBands,
    DonchianChannel,
    Ichimoku,
    IndicatorNotReady,
    KeltnerChannel,
    RollingVWAP,
    Stochastic,
    SuperTrend,
)

PRICE_FIELDS = ("open", "high", "low", "close", "volume")
COMPARISONS = (">", "<", ">=", "<=")
CROSSES = ("crosses_above", "crosses_below")
OPERATORS = COMPARISONS + CROSSES

MAX_INDICATORS = 32
MAX_DEPTH = 8
MAX_COMPARISONS = 200

IndicatorParam = int | float | bool


@dataclass(frozen=True, slots=True)
class IndicatorKind:
    """One indicator the rule builder offers."""

    factory: Callable[..., Any]
    feed: str  # "close": update(close); "bar": update(candle)
    params: Mapping[str, IndicatorParam]  # name -> default (its type is the param's type)
    outputs: tuple[str, ...]
    description: str

    @property
    def default_output(self) -> str | None:
        return "value" if "value" in self.outputs else None


KINDS: dict[str, IndicatorKind] = {
    "sma": IndicatorKind(SMA, "close", {"period": 20}, ("value",), "simple moving average"),
    "ema": IndicatorKind(EMA, "close", {"period": 20}, ("value",), "exponential moving average"),
    "wma": IndicatorKind(WMA, "close", {"period": 20}, ("value",), "weighted moving average"),
    "rsi": IndicatorKind(RSI, "close", {"period": 14}, ("value",), "relative strength index"),
    "macd": IndicatorKind(
        MACD,
        "close",
        {"fast": 12, "slow": 26, "signal": 9},
        ("macd", "signal", "histogram"),
        "moving average convergence/divergence",
    ),
    "bollinger": IndicatorKind(
        BollingerBands,
        "close",
        {"period": 20, "mult": 2.0},
        ("middle", "upper", "lower", "percent_b", "bandwidth"),
        "Bollinger Bands",
    ),
    "atr": IndicatorKind(ATR, "bar", {"period": 14}, ("value",), "average true range"),
    "adx": IndicatorKind(
        ADX, "bar", {"period": 14}, ("adx", "plus_di", "minus_di"), "average directional index"
    ),
    "stochastic": IndicatorKind(
        Stochastic,
        "bar",
        {"period": 14, "smooth_k": 3, "d_period": 3},
        ("k", "d"),
        "stochastic oscillator",
    ),
    "donchian": IndicatorKind(
        DonchianChannel,
        "bar",
        {"period": 20, "include_current": True},
        ("upper", "lower", "middle"),
        "Donchian channel",
    ),
    "keltner": IndicatorKind(
        KeltnerChannel,
        "bar",
        {"period": 20, "atr_period": 10, "mult": 2.0},
        ("middle", "upper", "lower"),
        "Keltner channel",
    ),
    "supertrend": IndicatorKind(
        SuperTrend,
        "bar",
        {"period": 10, "mult": 3.0},
        ("value", "direction", "upper", "lower"),
        "SuperTrend",
    ),
    "ichimoku": IndicatorKind(
        Ichimoku,
        "bar",
        {"tenkan": 9, "kijun": 26, "senkou_b": 52, "displacement": 26},
        ("tenkan", "kijun", "leading_a", "leading_b", "senkou_a", "senkou_b", "chikou"),
        "Ichimoku Kinko Hyo",
    ),
    "obv": IndicatorKind(OBV, "bar", {}, ("value",), "on-balance volume"),
    "vwap": IndicatorKind(
        VWAP, "bar", {"reset_utc_day": False}, ("value",), "volume-weighted average price"
    ),
    "rolling_vwap": IndicatorKind(
        RollingVWAP, "bar", {"period": 20}, ("value",), "VWAP of the last period bars"
    ),
}


# -- the spec --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    name: str
    kind: str
    params: tuple[tuple[str, IndicatorParam], ...]  # every parameter, defaults filled in

    def build(self) -> Any:
        return KINDS[self.kind].factory(**dict(self.params))

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, **dict(self.params)}


Operand = str | float
"""A price field, an indicator reference (``name`` or ``name.output``) or a number."""


@dataclass(frozen=True, slots=True)
class Comparison:
    left: Operand
    op: str
    right: Operand

    def to_json(self) -> dict[str, object]:
        return {"left": self.left, "op": self.op, "right": self.right}


@dataclass(frozen=True, slots=True)
class Group:
    mode: str  # "all" or "any"
    items: tuple[Condition, ...]

    def to_json(self) -> dict[str, object]:
        return {self.mode: [item.to_json() for item in self.items]}


Condition = Comparison | Group


@dataclass(frozen=True, slots=True)
class Sizing:
    fraction_of_cash: Decimal | None = None
    quantity: Decimal | None = None

    def to_json(self) -> dict[str, object]:
        if self.quantity is not None:
            return {"quantity": str(self.quantity)}
        return {"fraction_of_cash": str(self.fraction_of_cash)}


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A validated rule set; build one with ``RuleSpec.parse`` / ``RuleSpec.from_json``."""

    indicators: tuple[IndicatorSpec, ...]
    entry: Condition
    exit: Condition | None
    sizing: Sizing
    stop_loss_pct: Decimal | None = None
    take_profit_pct: Decimal | None = None
    description: str = ""

    @classmethod
    def parse(cls, data: object) -> RuleSpec:
        """Validate ``data`` (a decoded JSON object); ``ValidationError`` names the path."""
        return _Parser().spec(data)

    @classmethod
    def from_json(cls, text: str) -> RuleSpec:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ValidationError(f"rule set: not valid JSON: {exc}") from None
        return cls.parse(data)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "indicators": {i.name: i.to_json() for i in self.indicators},
            "entry": self.entry.to_json(),
        }
        if self.exit is not None:
            out["exit"] = self.exit.to_json()
        out["sizing"] = self.sizing.to_json()
        if self.stop_loss_pct is not None:
            out["stop_loss_pct"] = str(self.stop_loss_pct)
        if self.take_profit_pct is not None:
            out["take_profit_pct"] = str(self.take_profit_pct)
        if self.description:
            out["description"] = self.description
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def operands(self) -> set[str]:
        """Every named (non-number) operand the conditions read."""
        names: set[str] = set()
        for cond in (self.entry, self.exit):
            if cond is not None:
                for c in _comparisons(cond):
                    names.update(x for x in (c.left, c.right) if isinstance(x, str))
        return names


def _comparisons(cond: Condition) -> Iterator[Comparison]:
    if isinstance(cond, Comparison):
        yield cond
    else:
        for item in cond.items:
            yield from _comparisons(item)


class _Parser:
    def __init__(self) -> None:
        self.indicators: dict[str, IndicatorSpec] = {}
        self.comparisons = 0

    def spec(self, data: object) -> RuleSpec:
        obj = self._object(data, "rule set")
        known = {
            "indicators", "entry", "exit", "sizing", "stop_loss_pct", "take_profit_pct",
            "description",
        }  # fmt: skip
        self._no_unknown(obj, known, "rule set")
        indicators = self._indicators(obj.get("indicators", {}))
        if "entry" not in obj:
            raise ValidationError("rule set: 'entry' is required (the condition to buy on)")
        entry = self._condition(obj["entry"], "entry", 1)
        stop = self._fraction(obj.get("stop_loss_pct"), "stop_loss_pct", upper_open=True)
        take = self._fraction(obj.get("take_profit_pct"), "take_profit_pct", upper_open=False)
        exit_: Condition | None = None
        if "exit" in obj:
            exit_ = self._condition(obj["exit"], "exit", 1)
        elif stop is None and take is None:
            raise ValidationError(
                "rule set: 'exit' is required unless stop_loss_pct or take_profit_pct is set"
            )
        if "sizing" not in obj:
            raise ValidationError(
                'rule set: \'sizing\' is required, e.g. {"fraction_of_cash": "0.5"} '
                'or {"quantity": "0.01"}'
            )
        sizing = self._sizing(obj["sizing"])
        description = obj.get("description", "")
        if not isinstance(description, str):
            raise ValidationError("description: must be text")
        return RuleSpec(indicators, entry, exit_, sizing, stop, take, description)

    # -- pieces ----------------------------------------------------------------------

    @staticmethod
    def _object(data: object, path: str) -> Mapping[str, object]:
        if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
            raise ValidationError(f"{path}: must be an object, got {_show(data)}")
        return data

    @staticmethod
    def _no_unknown(obj: Mapping[str, object], known: set[str], path: str) -> None:
        unknown = sorted(set(obj) - known)
        if unknown:
            raise ValidationError(
                f"{path}: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )

    def _indicators(self, data: object) -> tuple[IndicatorSpec, ...]:
        obj = self._object(data, "indicators")
        if len(obj) > MAX_INDICATORS:
            raise ValidationError(f"indicators: at most {MAX_INDICATORS}, got {len(obj)}")
        for name, raw in obj.items():
            path = f"indicators.{name}"
            if not name.isidentifier() or name in PRICE_FIELDS:
                raise ValidationError(
                    f"{path}: a name must be a simple identifier (letters, digits, _) "
                    f"other than {', '.join(PRICE_FIELDS)}"
                )
            self.indicators[name] = self._indicator(name, raw, path)
        # sorted: the order means nothing, and ``to_json`` sorts keys
        return tuple(sorted(self.indicators.values(), key=lambda i: i.name))

    def _indicator(self, name: str, data: object, path: str) -> IndicatorSpec:
        obj = self._object(data, path)
        kind_name = obj.get("kind")
        if not isinstance(kind_name, str) or kind_name not in KINDS:
            raise ValidationError(
                f"{path}.kind: unknown indicator kind {kind_name!r}; known: {', '.join(KINDS)}"
            )
        kind = KINDS[kind_name]
        self._no_unknown(obj, {"kind", *kind.params}, path)
        params: list[tuple[str, IndicatorParam]] = []
        for pname, default in kind.params.items():
            raw = obj.get(pname, default)
            params.append((pname, self._indicator_param(raw, default, f"{path}.{pname}")))
        spec = IndicatorSpec(name, kind_name, tuple(params))
        try:
            spec.build()
        except (ValidationError, ValueError, TypeError) as exc:
            raise ValidationError(f"{path}: {exc}") from None
        return spec

    @staticmethod
    def _indicator_param(raw: object, default: IndicatorParam, path: str) -> IndicatorParam:
        if isinstance(default, bool):
            if not isinstance(raw, bool):
                raise ValidationError(f"{path}: must be true or false, got {_show(raw)}")
            return raw
        if isinstance(default, int):
            if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
                raise ValidationError(f"{path}: must be a whole number >= 0, got {_show(raw)}")
            return raw
        value = _number(raw)
        if value is None or value <= 0:
            raise ValidationError(f"{path}: must be a positive number, got {_show(raw)}")
        return value

    def _condition(self, data: object, path: str, depth: int) -> Condition:
        if depth > MAX_DEPTH:
            raise ValidationError(f"{path}: conditions nest at most {MAX_DEPTH} deep")
        obj = self._object(data, path)
        groups = [k for k in ("all", "any") if k in obj]
        if groups:
            if len(obj) != 1:
                raise ValidationError(
                    f"{path}: a group has exactly one key, 'all' or 'any', got "
                    f"{', '.join(map(repr, sorted(obj)))}"
                )
            mode = groups[0]
            items = obj[mode]
            if not isinstance(items, list) or not items:
                raise ValidationError(f"{path}.{mode}: must be a non-empty list of conditions")
            return Group(
                mode,
                tuple(
                    self._condition(item, f"{path}.{mode}[{i}]", depth + 1)
                    for i, item in enumerate(items)
                ),
            )
        self._no_unknown(obj, {"left", "op", "right"}, path)
        for key in ("left", "op", "right"):
            if key not in obj:
                raise ValidationError(
                    f"{path}: a comparison needs 'left', 'op' and 'right' (or use a group "
                    f"{{'all': [...]}} / {{'any': [...]}}); '{key}' is missing"
                )
        op = obj["op"]
        if not isinstance(op, str) or op not in OPERATORS:
            raise ValidationError(
                f"{path}.op: unknown operator {_show(op)}; known: {', '.join(OPERATORS)}"
            )
        left = self._operand(obj["left"], f"{path}.left")
        right = self._operand(obj["right"], f"{path}.right")
        if not isinstance(left, str) and not isinstance(right, str):
            raise ValidationError(f"{path}: compares two numbers; one side must be a series")
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise ValidationError(f"{path}: at most {MAX_COMPARISONS} comparisons in a rule set")
        return Comparison(left, op, right)

    def _operand(self, raw: object, path: str) -> Operand:
        if isinstance(raw, str):
            if raw in PRICE_FIELDS:
                return raw
            name, _, output = raw.partition(".")
            ind = self.indicators.get(name)
            if ind is None:
                if (number := _number(raw)) is not None:
                    return number
                raise ValidationError(
                    f"{path}: unknown indicator {name!r}; operands are "
                    f"{', '.join(PRICE_FIELDS)}, a number or one of the indicators "
                    f"({', '.join(self.indicators) or 'none defined'})"
                )
            kind = KINDS[ind.kind]
            if not output:
                if kind.default_output is None:
                    raise ValidationError(
                        f"{path}: {name!r} ({ind.kind}) has several outputs; pick one: "
                        f"{', '.join(f'{name}.{o}' for o in kind.outputs)}"
                    )
                return raw
            if output not in kind.outputs:
                raise ValidationError(
                    f"{path}: {ind.kind} has no output {output!r}; outputs: "
                    f"{', '.join(kind.outputs)}"
                )
            return raw
        number = _number(raw)
        if number is None:
            raise ValidationError(
                f"{path}: must be a price field, an indicator or a number, got {_show(raw)}"
            )
        return number

    def _sizing(self, data: object) -> Sizing:
        obj = self._object(data, "sizing")
        if len(obj) != 1 or next(iter(obj)) not in ("fraction_of_cash", "quantity"):
            raise ValidationError(
                "sizing: exactly one of 'fraction_of_cash' (0 < f <= 1) or 'quantity' "
                f"(base units) is needed, got {', '.join(map(repr, sorted(obj))) or 'none'}"
            )
        key, raw = next(iter(obj.items()))
        value = _decimal(raw)
        if value is None or value <= ZERO:
            raise ValidationError(f"sizing.{key}: must be a positive number, got {_show(raw)}")
        if key == "fraction_of_cash":
            if value > 1:
                raise ValidationError(
                    f"sizing.fraction_of_cash: must be at most 1 (0.5 means 50 %), got {value}"
                )
            return Sizing(fraction_of_cash=value)
        return Sizing(quantity=value)

    @staticmethod
    def _fraction(raw: object, path: str, *, upper_open: bool) -> Decimal | None:
        if raw is None:
            return None
        value = _decimal(raw)
        if value is None or value <= ZERO or (upper_open and value >= 1):
            bound = "< 1" if upper_open else "finite"
            raise ValidationError(
                f"{path}: must be a fraction > 0 and {bound} (0.02 means 2 %), got {_show(raw)}"
            )
        return value


def _number(raw: object) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float | Decimal):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            return None
    else:
        return None
    return value if math.isfinite(value) else None


def _decimal(raw: object) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        return None
    try:
        value = Decimal(repr(raw) if isinstance(raw, float) else str(raw).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _show(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


# -- evaluation ------------------------------------------------------------------------


class RuleEvaluator:
    """Feeds a spec's indicators bar by bar and evaluates its conditions."""

    def __init__(self, spec: RuleSpec) -> None:
        self.spec = spec
        self._indicators: list[tuple[IndicatorSpec, Any]] = [
            (i, i.build()) for i in spec.indicators
        ]
        self._by_name = {i.name: ind for i, ind in self._indicators}
        self._names = sorted(spec.operands())
        self.current: dict[str, float | None] = {}
        self.previous: dict[str, float | None] | None = None
        self.bars = 0

    def update(self, candle: Candle) -> None:
        """Feed one closed bar (call it on every bar, even when nothing can be done)."""
        for spec, ind in self._indicators:
            ind.update(candle.close if KINDS[spec.kind].feed == "close" else candle)
        self.previous = self.current if self.bars else None
        self.bars += 1
        self.current = {name: self._read(name, candle) for name in self._names}

    def _read(self, name: str, candle: Candle) -> float | None:
        if name in PRICE_FIELDS:
            return float(getattr(candle, name))
        ind_name, _, output = name.partition(".")
        ind = self._by_name[ind_name]
        if not ind.ready:
            return None
        try:
            return float(getattr(ind, output or "value"))
        except IndicatorNotReady:
            return None

    def holds(self, cond: Condition | None) -> bool:
        if cond is None:
            return False
        if isinstance(cond, Group):
            test = all if cond.mode == "all" else any
            return test(self.holds(item) for item in cond.items)
        left = self._value(cond.left, self.current)
        right = self._value(cond.right, self.current)
        if left is None or right is None:
            return False
        op = cond.op
        if op == ">":
            return left > right
        if op == "<":
            return left < right
        if op == ">=":
            return left >= right
        if op == "<=":
            return left <= right
        if self.previous is None:
            return False
        prev_left = self._value(cond.left, self.previous)
        prev_right = self._value(cond.right, self.previous)
        if prev_left is None or prev_right is None:
            return False
        if op == "crosses_above":
            return prev_left <= prev_right and left > right
        return prev_left >= prev_right and left < right  # crosses_below

    @staticmethod
    def _value(operand: Operand, values: Mapping[str, float | None]) -> float | None:
        return operand if isinstance(operand, float) else values.get(operand)


# -- the strategy ----------------------------------------------------------------------

GOLDEN_CROSS: dict[str, object] = {
    "indicators": {"fast": {"kind": "ema", "period": 12}, "slow": {"kind": "ema", "period": 26}},
    "entry": {"all": [{"left": "fast", "op": "crosses_above", "right": "slow"}]},
    "exit": {"any": [{"left": "fast", "op": "crosses_below", "right": "slow"}]},
    "sizing": {"fraction_of_cash": "1"},
}
"""The default rule set: an EMA 12/26 golden cross (what ``ema_cross`` does)."""


class RuleStrategy(Strategy):
    name = "rules"
    description = "Your own entry and exit rules on indicators, built without code."
    params = (
        Param(
            "spec", str, RuleSpec.parse(GOLDEN_CROSS).to_json(),
            "the rule set as JSON: indicators, entry and exit conditions, sizing, stops",
        ),
    )  # fmt: skip

    def check_params(self) -> None:
        text = self.p["spec"]
        assert isinstance(text, str)
        try:
            self.spec = RuleSpec.from_json(text)
        except ValidationError as exc:
            raise ValidationError(f"rules: parameter 'spec': {exc}") from None

    def on_start(self, ctx: StrategyContext) -> None:
        self._rules = RuleEvaluator(self.spec)
        self._protected = False

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        rules = self._rules
        rules.update(candle)
        position = ctx.position
        if position <= ZERO:
            self._protected = False
            if not ctx.has_open_orders and rules.holds(self.spec.entry):
                self._enter(ctx, candle)
            return
        if rules.holds(self.spec.exit):
            ctx.cancel_all()
            ctx.sell(quantity=position, tag="rule exit")
            self._protected = False
            return
        if not self._protected and not ctx.has_open_orders:
            self._protect(ctx, position, candle)

    def _enter(self, ctx: StrategyContext, candle: Candle) -> None:
        sizing = self.spec.sizing
        if sizing.quantity is not None:
            quantity = round_size(ctx.instrument, sizing.quantity)
            if quantity <= ZERO:
                return
            if quantity * candle.close > ctx.cash:  # would be refused by the venue
                ctx.log(f"rules: entry skipped, {quantity} base costs more than the free cash")
                return
            ctx.buy(quantity=quantity, tag="rule entry")
        elif sizing.fraction_of_cash is not None and ctx.cash > ZERO:
            ctx.buy(quote_quantity=ctx.cash * sizing.fraction_of_cash, tag="rule entry")

    def _protect(self, ctx: StrategyContext, position: Decimal, candle: Candle) -> None:
        stop, take = self.spec.stop_loss_pct, self.spec.take_profit_pct
        if stop is None and take is None:
            return
        buys = [f.fill for f in ctx.fills if f.fill.side is OrderSide.BUY]
        if buys:
            size = sum((f.quantity for f in buys), ZERO)
            entry = sum((f.price * f.quantity for f in buys), ZERO) / size
        else:
            entry = candle.close
        inst = ctx.instrument
        quantity = round_size(inst, position)
        if quantity <= ZERO:
            return
        self._protected = True
        stop_price = None if stop is None else round_price(inst, entry * (1 - stop))
        take_price = None if take is None else round_price(inst, entry * (1 + take), up=True)
        if stop_price is not None and take_price is not None:
            ctx.oco(OrderSide.SELL, quantity, take_price, stop_price)
        elif stop_price is not None:
            ctx.stop(OrderSide.SELL, quantity, stop_price)
        elif take_price is not None:
            ctx.limit(OrderSide.SELL, quantity, take_price, tag="take profit")
