"""The strategy interface.

A strategy is written once against ``StrategyContext`` and runs unchanged in a backtest,
in paper trading and live: it never sees the clock, the venue or the database directly.
Orders it asks for are sent by the runtime after ``on_bar`` returns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import ClassVar, Protocol, TypeVar

from task_station.domain.candles import Candle
from task_station.domain.events import OrderFilled
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Order, OrderSide, TimeInForce
from task_station.strategies.indicators import Indicator
from task_station.strategies.params import Param, ParamValue, validate_params

V = TypeVar("V", covariant=True)
W = TypeVar("W")


class Series(Protocol[V]):
    """A declared indicator as the strategy reads it."""

    @property
    def value(self) -> V | None:
        """Its value at the bar being handled (None while it warms up)."""


class StrategyContext(Protocol):
    """What a strategy may see and do."""

    @property
    def now(self) -> datetime: ...

    @property
    def instrument(self) -> Instrument: ...

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every symbol this bot trades, its primary instrument first."""

    def instrument_of(self, symbol: str | None = None) -> Instrument: ...

    def price(self, symbol: str | None = None) -> Decimal:
        """The last close of ``symbol`` (default: the primary instrument)."""

    def position_of(self, symbol: str) -> Decimal:
        """Base quantity of ``symbol`` held by this bot."""

    @property
    def position(self) -> Decimal:
        """Base quantity held by this bot (positive long)."""

    @property
    def cash(self) -> Decimal:
        """Free quote balance of this bot."""

    @property
    def has_open_orders(self) -> bool: ...

    # Every order helper takes ``symbol=`` for a bot trading several instruments;
    # without it the order is for the primary instrument.

    def buy(
        self,
        *,
        quantity: Decimal | None = None,
        quote_quantity: Decimal | None = None,
        price: Decimal | None = None,
        symbol: str | None = None,
        tag: str | None = None,
    ) -> None:
        """Ask to buy ``quantity`` base (or spend ``quote_quantity``); ``price`` makes it a
        limit; ``tag`` says why (the trade table's entry or exit reason)."""

    def sell(
        self,
        *,
        quantity: Decimal,
        price: Decimal | None = None,
        symbol: str | None = None,
        tag: str | None = None,
    ) -> None: ...

    def log(self, message: str) -> None: ...

    # -- the richer order API ----------------------------------------------------------
    # Sides are ``OrderSide`` or "buy"/"sell"; prices are absolute; fractions are
    # fractions (0.02 means 2 %). Like ``buy``/``sell``, nothing is sent before the bar's
    # strategy call returns: an order asked for on bar t is first matched on bar t+1.
    # What a venue cannot do natively (OCO, brackets, trailing stops, stops on a venue
    # without them) the runtime emulates, checking the legs once per closed bar.

    @property
    def equity(self) -> Decimal:
        """Cash plus holdings marked at the last close, in the quote currency."""

    @property
    def open_orders(self) -> Sequence[Order]:
        """This bot's orders working at the venue (not those still queued this bar)."""

    @property
    def fills(self) -> Sequence[OrderFilled]:
        """This bot's executions since its previous bar, oldest first (order and fill)."""

    def history(self, bars: int, symbol: str | None = None) -> Sequence[Candle]:
        """The last ``bars`` closed candles, oldest first, the current one included."""

    def limit(
        self,
        side: OrderSide | str,
        quantity: Decimal,
        price: Decimal,
        *,
        post_only: bool = False,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
        symbol: str | None = None,
        tag: str | None = None,
    ) -> None:
        """A limit order with the venue flags ``buy``/``sell`` do not expose."""

    def stop(
        self,
        side: OrderSide | str,
        quantity: Decimal,
        trigger_price: Decimal,
        limit_price: Decimal | None = None,
        *,
        symbol: str | None = None,
    ) -> None:
        """A stop-market (or stop-limit with ``limit_price``) order that works once the
        market trades at ``trigger_price``."""

    def oco(
        self,
        side: OrderSide | str,
        quantity: Decimal,
        price: Decimal,
        trigger_price: Decimal,
        stop_limit_price: Decimal | None = None,
        *,
        symbol: str | None = None,
    ) -> None:
        """One-cancels-the-other: a limit at ``price`` and a stop at ``trigger_price``;
        when either trades, the other is canceled."""

    def bracket(
        self,
        side: OrderSide | str,
        quantity: Decimal,
        entry_price: Decimal | None,
        stop_loss: Decimal,
        take_profit: Decimal,
        *,
        symbol: str | None = None,
    ) -> None:
        """An entry (market when ``entry_price`` is None, else limit), then once it has
        filled an OCO pair of exits: a take-profit limit and a stop-loss."""

    def trailing_stop(
        self,
        side: OrderSide | str,
        quantity: Decimal,
        trail_pct: Decimal,
        *,
        symbol: str | None = None,
    ) -> None:
        """A stop that follows the best price since it was placed at ``trail_pct`` behind
        it (a sell trails the highest high, a buy the lowest low) and never moves back."""

    def target_position(
        self, quantity: Decimal, *, symbol: str | None = None, tag: str | None = None
    ) -> None:
        """Trade at market what it takes to hold ``quantity`` base."""

    def target_percent(
        self, fraction: Decimal, *, symbol: str | None = None, tag: str | None = None
    ) -> None:
        """Trade at market what it takes to hold ``fraction`` of equity in the base asset."""

    def cancel(self, client_order_id: str) -> None:
        """Cancel one working order (before this bar's new orders are sent)."""

    def cancel_all(self) -> None:
        """Cancel every working, queued and emulated order of this bot."""

    def set_timer(self, every: int | timedelta, name: str, *, repeat: bool = False) -> None:
        """Call ``Strategy.on_timer(ctx, name)`` after ``every`` bars (an int) or once
        ``every`` time has passed (a timedelta, checked at each bar close); ``repeat``
        keeps it going. Setting a name again replaces that timer."""

    def cancel_timer(self, name: str) -> None: ...

    def indicator(
        self, indicator: Indicator[W], *, symbol: str | None = None, wake: bool = False
    ) -> Series[W]:
        """Declare an indicator (in ``on_start``) and read ``.value`` on every bar.

        Live, the runtime feeds it each closed bar of ``symbol`` before the strategy
        runs; a backtest computes it over the whole replay at once (``Indicator.batch``),
        which is what makes a million-bar backtest fast. Both give the same values.

        ``wake=True`` is a promise: on a bar where none of the waking series changed
        value and no fill of this bot arrived, ``on_bar`` would do nothing (no order, no
        state that matters later). The runtime then does not call it on such bars, live
        and in backtests alike, and a backtest skips straight to the next change.
        """


class Strategy(ABC):
    """Base class of every strategy: declare ``name``, ``description`` and ``params``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    params: ClassVar[Sequence[Param]] = ()
    #: How many symbols the strategy needs at least (rotation and pairs need two).
    min_symbols: ClassVar[int] = 1

    def __init__(self, params: Mapping[str, object] | None = None) -> None:
        self.p: dict[str, ParamValue] = validate_params(self.name, self.params, params or {})
        self.check_params()

    def check_params(self) -> None:
        """Cross-parameter checks; raise ``ValidationError`` with a helpful message."""

    def warmup_bars(self) -> int:
        """How many bars the strategy must see before its decisions mean anything (its
        longest lookback). A backtest does not trade on them; 0: it decides from bar 1."""
        return 0

    def on_start(self, ctx: StrategyContext) -> None:
        """Called once before the first bar."""

    @abstractmethod
    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        """Called when a bar of the primary instrument closes."""

    def on_bars(self, ctx: StrategyContext, bars: Mapping[str, Candle]) -> None:
        """Called once per time step with the bars of this bot's symbols that closed.

        The default hands the primary instrument's bar to ``on_bar``; strategies that
        trade several symbols (rotation, pairs) override this instead.
        """
        candle = bars.get(ctx.instrument.symbol)
        if candle is not None:
            self.on_bar(ctx, candle)

    def on_stop(self, ctx: StrategyContext) -> None:
        """Called once when the bot stops."""

    def on_timer(self, ctx: StrategyContext, name: str) -> None:
        """Called when a timer set with ``ctx.set_timer`` is due (after that bar's on_bar)."""
