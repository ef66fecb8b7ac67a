"""The strategy interface.

A strategy is written once against ``StrategyContext`` and runs unchanged in a backtest,
in paper trading and live: it never sees the clock, the venue or the database directly.
Orders it asks for are sent by the runtime after ``on_bar`` returns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Protocol

from task_station.domain.candles import Candle
from task_station.domain.instruments import Instrument
from task_station.strategies.params import Param, ParamValue, validate_params


class StrategyContext(Protocol):
    """What a strategy may see and do."""

    @property
    def now(self) -> datetime: ...

    @property
    def instrument(self) -> Instrument: ...

    @property
    def position(self) -> Decimal:
        """Base quantity held by this bot (positive long)."""

    @property
    def cash(self) -> Decimal:
        """Free quote balance of this bot."""

    @property
    def has_open_orders(self) -> bool: ...

    def buy(
        self,
        *,
        quantity: Decimal | None = None,
        quote_quantity: Decimal | None = None,
        price: Decimal | None = None,
    ) -> None:
        """Ask to buy ``quantity`` base (or spend ``quote_quantity``); ``price`` makes it a limit."""

    def sell(self, *, quantity: Decimal, price: Decimal | None = None) -> None: ...

    def log(self, message: str) -> None: ...


class Strategy(ABC):
    """Base class of every strategy: declare ``name``, ``description`` and ``params``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    params: ClassVar[Sequence[Param]] = ()

    def __init__(self, params: Mapping[str, object] | None = None) -> None:
        self.p: dict[str, ParamValue] = validate_params(self.name, self.params, params or {})
        self.check_params()

    def check_params(self) -> None:
        """Cross-parameter checks; raise ``ValidationError`` with a helpful message."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Called once before the first bar."""

    @abstractmethod
    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        """Called when a bar closes."""

    def on_stop(self, ctx: StrategyContext) -> None:
        """Called once when the bot stops."""
