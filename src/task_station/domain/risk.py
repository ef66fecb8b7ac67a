"""Risk limits, position stops and the kill switch's state: plain, validated values.

A limit left at ``None`` is no limit, so a station or a bot opts into each one. Which
breaches pause the bot is part of the limits (``pause_on``): a loss or a drawdown says
the strategy is wrong about the market today, so it must stop deciding; an oversized
order or a burst of orders only says that one order is wrong, so only that order is
denied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from task_station.domain.errors import ValidationError
from task_station.domain.money import ZERO, to_decimal

#: The key under which a bot's limits and stops ride in its stored parameters (the
#: parameters are a JSON document already; the strategy never sees this key).
RISK_PARAMS_KEY = "_risk"

_HUNDRED = Decimal(100)


class RiskLimitKind(StrEnum):
    """One kind of limit; the value is the field name in ``RiskLimits``."""

    MAX_POSITION = "max_position"
    MAX_ORDER_NOTIONAL = "max_order_notional"
    MAX_OPEN_ORDERS = "max_open_orders"
    MAX_DAILY_LOSS = "max_daily_loss"
    MAX_DRAWDOWN = "max_drawdown"
    MAX_ORDERS_PER_MINUTE = "max_orders_per_minute"
    KILL_SWITCH = "kill_switch"


#: Breaches that pause the bot unless the limits say otherwise.
DEFAULT_PAUSE_ON: frozenset[RiskLimitKind] = frozenset(
    {RiskLimitKind.MAX_DAILY_LOSS, RiskLimitKind.MAX_DRAWDOWN}
)

_DECIMAL_LIMITS = ("max_position", "max_order_notional", "max_daily_loss", "max_drawdown")
_INT_LIMITS = ("max_open_orders", "max_orders_per_minute")


def _positive_decimal(value: object, name: str) -> Decimal | None:
    if value is None:
        return None
    number = to_decimal(value, name=name)
    if number <= ZERO:
        raise ValidationError(f"{name} must be positive, got {number}; leave it empty for no limit")
    return number


def _positive_int(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ValidationError(f"{name} must be a whole number, got {value!r}")
    number = to_decimal(value, name=name)
    if number != number.to_integral_value():
        raise ValidationError(f"{name} must be a whole number, got {number}")
    if number < 1:
        raise ValidationError(
            f"{name} must be at least 1, got {number}; to stop all trading use the kill switch"
        )
    return int(number)


def _pause_kinds(values: Iterable[object]) -> frozenset[RiskLimitKind]:
    kinds = set()
    for value in values:
        try:
            kinds.add(RiskLimitKind(str(value)))
        except ValueError:
            known = ", ".join(k.value for k in RiskLimitKind if k is not RiskLimitKind.KILL_SWITCH)
            raise ValidationError(
                f"pause_on: unknown limit {value!r}; use some of {known}"
            ) from None
    return frozenset(kinds)


def _refuse_unknown(data: Mapping[str, object], allowed: Iterable[str], what: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError(
            f"unknown {what} field(s) {', '.join(unknown)}; use {', '.join(sorted(allowed))}"
        )


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Limits of one bot, or of the whole station (summed across its bots).

    ``max_position`` is in base units per symbol, ``max_order_notional`` and
    ``max_daily_loss`` in the quote currency, ``max_drawdown`` a fraction of peak equity
    (0.2 = 20 %), the two counts whole numbers. Values are checked on construction, so a
    ``RiskLimits`` that exists can be enforced.
    """

    max_position: Decimal | None = None
    max_order_notional: Decimal | None = None
    max_open_orders: int | None = None
    max_daily_loss: Decimal | None = None
    max_drawdown: Decimal | None = None
    max_orders_per_minute: int | None = None
    pause_on: frozenset[RiskLimitKind] = field(default=DEFAULT_PAUSE_ON)

    def __post_init__(self) -> None:
        for name in _DECIMAL_LIMITS:
            object.__setattr__(self, name, _positive_decimal(getattr(self, name), name))
        for name in _INT_LIMITS:
            object.__setattr__(self, name, _positive_int(getattr(self, name), name))
        drawdown = self.max_drawdown
        if drawdown is not None and drawdown >= 1:
            raise ValidationError(
                f"max_drawdown is a fraction of peak equity below 1 (0.2 = 20 %), got {drawdown}"
            )
        object.__setattr__(self, "pause_on", _pause_kinds(self.pause_on))

    @classmethod
    def from_mapping(cls, data: Mapping[str, object] | None) -> RiskLimits:
        """Build from JSON-like data (API bodies, stored parameters); unknown keys are
        refused by name, since a misspelt limit silently not applying is the worst case."""
        if not data:
            return cls()
        allowed = [f.name for f in fields(cls)]
        _refuse_unknown(data, allowed, "risk limit")
        values: dict[str, object] = {k: v for k, v in data.items() if k != "pause_on"}
        pause_on = data.get("pause_on")
        if pause_on is not None:
            if isinstance(pause_on, str) or not isinstance(pause_on, Iterable):
                raise ValidationError("pause_on must be a list of limit names")
            values["pause_on"] = _pause_kinds(pause_on)
        return cls(**values)  # type: ignore[arg-type]

    def to_mapping(self) -> dict[str, object]:
        """JSON-safe: Decimals as exact strings, unset limits left out."""
        out: dict[str, object] = {}
        for name in (*_DECIMAL_LIMITS, *_INT_LIMITS):
            value = getattr(self, name)
            if value is not None:
                out[name] = format(value, "f") if isinstance(value, Decimal) else value
        if self.pause_on != DEFAULT_PAUSE_ON:
            out["pause_on"] = sorted(k.value for k in self.pause_on)
        return out

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, n) is None for n in (*_DECIMAL_LIMITS, *_INT_LIMITS))

    def pauses(self, kind: RiskLimitKind) -> bool:
        return kind in self.pause_on


@dataclass(frozen=True, slots=True)
class PositionStops:
    """Exits the engine manages for every position of a bot, in percent of the average
    entry price (fees included): the strategy may forget them, the engine does not.

    ``trailing_stop_pct`` follows the best close since the position opened.
    """

    stop_loss_pct: Decimal | None = None
    take_profit_pct: Decimal | None = None
    trailing_stop_pct: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("stop_loss_pct", "take_profit_pct", "trailing_stop_pct"):
            object.__setattr__(self, name, _positive_decimal(getattr(self, name), name))
        for name in ("stop_loss_pct", "trailing_stop_pct"):
            value = getattr(self, name)
            if value is not None and value >= _HUNDRED:
                raise ValidationError(
                    f"{name} is a percentage of the entry price below 100 (5 = 5 %), got {value}"
                )

    @classmethod
    def from_mapping(cls, data: Mapping[str, object] | None) -> PositionStops:
        if not data:
            return cls()
        _refuse_unknown(data, [f.name for f in fields(cls)], "position stop")
        return cls(**data)  # type: ignore[arg-type]

    def to_mapping(self) -> dict[str, object]:
        return {
            f.name: format(getattr(self, f.name), "f")
            for f in fields(self)
            if getattr(self, f.name) is not None
        }

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


@dataclass(frozen=True, slots=True)
class RiskBreach:
    """A limit that refused an order or stopped a bot; ``message`` is for the trader."""

    kind: RiskLimitKind
    message: str
    pause: bool
    scope: str = "bot"  # "bot" or "global"


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    """Whether every new order of the station is refused, by whom, since when and why."""

    engaged: bool = False
    actor: str | None = None
    reason: str | None = None
    since: datetime | None = None

    def describe(self) -> str:
        if not self.engaged:
            return "kill switch released"
        when = self.since.strftime("%Y-%m-%d %H:%M:%S UTC") if self.since else "an unknown time"
        return f"kill switch engaged by {self.actor} at {when}: {self.reason}"


def split_bot_params(
    params: Mapping[str, object],
) -> tuple[dict[str, object], RiskLimits, PositionStops]:
    """A bot's stored parameters as (strategy parameters, limits, stops)."""
    strategy = {k: v for k, v in params.items() if k != RISK_PARAMS_KEY}
    risk = params.get(RISK_PARAMS_KEY)
    if risk is None:
        return strategy, RiskLimits(), PositionStops()
    if not isinstance(risk, Mapping):
        raise ValidationError(f"{RISK_PARAMS_KEY} must hold 'limits' and 'stops' objects")
    _refuse_unknown(risk, ("limits", "stops"), "bot risk")
    limits, stops = risk.get("limits"), risk.get("stops")
    if (limits is not None and not isinstance(limits, Mapping)) or (
        stops is not None and not isinstance(stops, Mapping)
    ):
        raise ValidationError("a bot's risk 'limits' and 'stops' must be objects")
    return strategy, RiskLimits.from_mapping(limits), PositionStops.from_mapping(stops)


def join_bot_params(
    strategy: Mapping[str, object], limits: RiskLimits, stops: PositionStops
) -> dict[str, object]:
    """The inverse of ``split_bot_params``; nothing is added when both are empty, so a
    bot without limits stores exactly its strategy parameters."""
    params = dict(strategy)
    risk: dict[str, object] = {}
    if not limits.is_empty or limits.pause_on != DEFAULT_PAUSE_ON:
        risk["limits"] = limits.to_mapping()
    if not stops.is_empty:
        risk["stops"] = stops.to_mapping()
    if risk:
        params[RISK_PARAMS_KEY] = risk
    return params


@dataclass(frozen=True, slots=True)
class RiskMarks:
    """What a bot's loss limits have measured so far, kept across a restart.

    Without it a bot resumed after a crash would start its daily loss at zero and its
    drawdown from its current equity: a limit the trader set could be exceeded simply
    because the station restarted in between.
    """

    peak: Decimal | None = None  # the highest equity since the bot started (or resumed)
    day: date | None = None  # the UTC day of the daily-loss count
    day_start: Decimal | None = None  # the equity at the start of that day

    def to_mapping(self) -> dict[str, str]:
        out = {}
        if self.peak is not None:
            out["peak"] = str(self.peak)
        if self.day is not None and self.day_start is not None:
            out["day"] = self.day.isoformat()
            out["day_start"] = str(self.day_start)
        return out

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object] | None) -> RiskMarks:
        if not raw:
            return cls()
        try:
            peak = raw.get("peak")
            day, start = raw.get("day"), raw.get("day_start")
            return cls(
                peak=None if peak is None else to_decimal(peak, name="peak"),
                day=None if day is None else date.fromisoformat(str(day)),
                day_start=None if start is None else to_decimal(start, name="day_start"),
            )
        except (ValueError, ValidationError) as exc:
            raise ValidationError(f"stored risk marks are unreadable: {exc}") from None
