"""The arbitrage strategy interface.

An arbitrage reacts to markets, not bars: it reads a ``MarketSnapshot`` of several
venues and answers with an ``ArbPlan`` (or nothing). It subclasses ``Strategy`` so its
parameters are declared, validated and listed like any other strategy's; it is run by
``engine.arbitrage.ArbitrageRuntime``, never by the bar-driven ``BotRuntime``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from task_station.domain.arbitrage import (
    ArbPlan,
    LegPolicy,
    MarketSnapshot,
    VenueKind,
)
from task_station.domain.candles import Candle
from task_station.domain.errors import ConfigurationError, ValidationError
from task_station.domain.money import BPS
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.params import Param

POLICIES = ", ".join(p.value for p in LegPolicy)


class ArbitrageContext(Protocol):
    """What an arbitrage strategy may see and do."""

    @property
    def now(self) -> datetime: ...

    def balance(self, venue: str, asset: str) -> Decimal:
        """Free balance of ``asset`` on ``venue`` in this arbitrage's book."""

    def log(self, message: str) -> None: ...

    def alert(self, message: str) -> None:
        """Tell the trader something needs attention (does not pause)."""


def common_params(min_profit: str = "1") -> tuple[Param, ...]:
    """Parameters every arbitrage shares."""
    return (
        Param(
            "min_profit",
            Decimal,
            Decimal(min_profit),
            "smallest expected net profit worth a trade, in the quote currency",
            minimum=Decimal(0),
        ),
        Param(
            "slippage_bps",
            Decimal,
            Decimal("10"),
            "buffer against prices moving before the legs fill, in basis points",
            minimum=Decimal(0),
            maximum=Decimal(1000),
        ),
        Param(
            "leg_policy",
            str,
            LegPolicy.UNWIND.value,
            f"when one leg fills and another fails: {POLICIES}",
        ),
        Param(
            "cooldown_ms",
            int,
            0,
            "milliseconds to wait after a plan before making the next",
            minimum=0,
        ),
        Param(
            "size_step",
            Decimal,
            Decimal("0.0001"),
            "lot step that quantities are rounded down to (0: none)",
            minimum=Decimal(0),
        ),
    )


class ArbitrageStrategy(Strategy):
    """Base of the arbitrage family: declare ``markets`` and implement ``on_market``."""

    def __init__(self, params: Mapping[str, object] | None = None) -> None:
        super().__init__(params)
        self._quiet_until: datetime | None = None

    def check_params(self) -> None:
        policy = str(self.p.get("leg_policy", LegPolicy.UNWIND.value))
        if policy not in {p.value for p in LegPolicy}:
            raise ValidationError(
                f"{self.name}: leg_policy must be one of {POLICIES}, got {policy!r}"
            )

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        raise ConfigurationError(
            f"{self.name} is an arbitrage strategy: it runs on market snapshots through the "
            "arbitrage runtime, not on bars"
        )

    @abstractmethod
    def markets(self) -> tuple[tuple[str, str, VenueKind], ...]:
        """``(venue, symbol, kind)`` of every market the snapshots must carry."""

    @abstractmethod
    def on_market(self, ctx: ArbitrageContext, snapshot: MarketSnapshot) -> ArbPlan | None:
        """Look at ``snapshot``; return the trade to make now, or None."""

    # -- helpers for subclasses ----------------------------------------------------

    @property
    def policy(self) -> LegPolicy:
        return LegPolicy(str(self.p["leg_policy"]))

    def dec(self, name: str) -> Decimal:
        value = self.p[name]
        assert isinstance(value, Decimal), name
        return value

    def text(self, name: str) -> str:
        return str(self.p[name])

    def integer(self, name: str) -> int:
        value = self.p[name]
        assert isinstance(value, int) and not isinstance(value, bool), name
        return value

    def rate(self, name: str) -> Decimal:
        """A basis-point parameter as a fraction."""
        return self.dec(name) / BPS

    @property
    def size_step(self) -> Decimal | None:
        step = self.dec("size_step")
        return step if step > 0 else None

    def cooling_down(self, now: datetime) -> bool:
        return self._quiet_until is not None and now < self._quiet_until

    def planned(self, now: datetime) -> None:
        """Start the cooldown after a plan was handed to the runtime."""
        self._quiet_until = now + timedelta(milliseconds=self.integer("cooldown_ms"))
