"""The bot runtime: one strategy on one instrument, bar by bar.

Per closed bar: (1) a candle-driven venue matches pending orders against the bar,
(2) the book is marked at the close, (3) the strategy sees the bar, (4) the orders it
asked for are sent. An order from bar t is therefore first matched on bar t+1.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Generic, TypeVar, cast

from task_station.domain.bar_columns import BarColumns, replay_bar
from task_station.domain.bots import BotStatus
from task_station.domain.candles import TIMEFRAME_SECONDS, Candle
from task_station.domain.clock import Clock, ManualClock, ReplayClock
from task_station.domain.commands import CancelOrder, SubmitOrder
from task_station.domain.errors import (
    ConfigurationError,
    NotFoundError,
    StrategyError,
    ValidationError,
)
from task_station.domain.events import BarClosed, OrderFilled
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import Order, OrderSide, OrderType, TimeInForce
from task_station.domain.proposals import ControlMode, Proposal
from task_station.engine.approvals import ApprovalQueue
from task_station.engine.bus import EventBus
from task_station.engine.emulated_orders import EmulatedOrders, Gate, Timers, round_size
from task_station.engine.feeds import BarSlice
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.sandbox import StrategySandbox
from task_station.strategies.base import Series, Strategy
from task_station.strategies.indicators import Indicator
from task_station.venues.base import CandleDrivenVenue, Venue, VenueCapabilities

log = logging.getLogger(__name__)

#: How many closed candles ``RuntimeContext.history`` keeps.
HISTORY_BARS = 5000
#: A warm-up hands the event loop back every this many bars.
WARMUP_YIELD_BARS = 500


class RuntimeContext:
    """The ``StrategyContext`` a running bot hands to its strategy.

    A bot trades one primary instrument and, optionally, more on the same venue (a
    rotation or a pairs strategy); every symbol-taking method defaults to the primary.
    """

    def __init__(
        self,
        bot_id: str,
        instrument: Instrument,
        portfolio: Portfolio,
        orders: OrderManager,
        clock: Clock,
        *,
        bus: EventBus | None = None,
        capabilities: VenueCapabilities | None = None,
        instruments: Sequence[Instrument] = (),
    ) -> None:
        self._bot_id = bot_id
        self._instrument = instrument
        self._instruments: dict[str, Instrument] = {instrument.symbol: instrument}
        for extra in instruments:
            if extra.quote != instrument.quote:
                raise ConfigurationError(
                    f"bot {bot_id}: every instrument must be quoted in {instrument.quote} "
                    f"(the currency its book is valued in), not {extra.symbol}"
                )
            self._instruments.setdefault(extra.symbol, extra)
        self._portfolio = portfolio
        self._orders = orders
        self._clock = clock
        self.pending: list[SubmitOrder] = []
        # The richer API: cancels run before the bar's new orders go out; fills, history
        # and the bar count come from the bus; linked orders live in ``_emulated``.
        self._capabilities = capabilities
        self._cancels: list[str] = []
        self._fills: list[OrderFilled] = []
        self._history: dict[str, deque[Candle]] = {
            symbol: deque(maxlen=HISTORY_BARS) for symbol in self._instruments
        }
        self._bars = 0
        self._timers = Timers()
        self._bus = bus
        self._emulated: dict[str, EmulatedOrders] = {}
        self._unsubscribe: list[Callable[[], None]] = []
        if bus is not None:
            self._unsubscribe = [
                bus.subscribe(BarClosed, self._on_bar_closed),
                bus.subscribe(OrderFilled, self._on_fill),
            ]
        #: Whether a proposal of this bot waits for the trader (a mixed bot's runtime sets it).
        self.awaiting_approval: Callable[[], bool] = lambda: False
        #: Where emulated legs ask for approval (a mixed bot's runtime sets it).
        self.gate: Gate | None = None
        # Declared indicators: fed bar by bar live; read from a whole-replay batch when a
        # replay runs on columns (``bars``, with the bar at hand at ``cursor.i``).
        self._live_series: list[tuple[str, _LiveSeries[object]]] = []
        #: The series whose change wakes the strategy (``indicator(..., wake=True)``).
        self.wakers: list[_LiveSeries[object] | _ReplaySeries[object]] = []
        self.replay: BarColumns | None = None
        self.cursor = _Cursor()
        self._marked_at = -1

    @property
    def now(self) -> datetime:
        return self._clock.now()

    @property
    def instrument(self) -> Instrument:
        return self._instrument

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._instruments)

    def instrument_of(self, symbol: str | None = None) -> Instrument:
        if symbol is None:
            return self._instrument
        try:
            return self._instruments[symbol]
        except KeyError:
            raise ValidationError(
                f"this bot trades {', '.join(self._instruments)}, not {symbol!r}"
            ) from None

    @property
    def position(self) -> Decimal:
        return self._portfolio.position(self._instrument.symbol).quantity

    def position_of(self, symbol: str) -> Decimal:
        return self._portfolio.position(self.instrument_of(symbol).symbol).quantity

    def price(self, symbol: str | None = None) -> Decimal:
        return self._last_price(self.instrument_of(symbol).symbol)

    @property
    def cash(self) -> Decimal:
        return self._portfolio.balance(self._instrument.quote).free

    @property
    def has_open_orders(self) -> bool:
        return (
            bool(self._orders.open_orders)
            or bool(self.pending)
            or self.awaiting_approval()
            or any(e.active for e in self._emulated.values())
        )

    def buy(
        self,
        *,
        quantity: Decimal | None = None,
        quote_quantity: Decimal | None = None,
        price: Decimal | None = None,
        symbol: str | None = None,
        tag: str | None = None,
    ) -> None:
        self._queue(OrderSide.BUY, quantity, quote_quantity, price, symbol, tag)

    def sell(
        self,
        *,
        quantity: Decimal,
        price: Decimal | None = None,
        symbol: str | None = None,
        tag: str | None = None,
    ) -> None:
        self._queue(OrderSide.SELL, quantity, None, price, symbol, tag)

    def log(self, message: str) -> None:
        log.info("bot %s: %s", self._bot_id, message)

    def _queue(
        self,
        side: OrderSide,
        qty: Decimal | None,
        quote_qty: Decimal | None,
        price: Decimal | None,
        symbol: str | None = None,
        tag: str | None = None,
    ) -> None:
        self.pending.append(
            SubmitOrder(
                symbol=self.instrument_of(symbol).symbol,
                side=side,
                type=OrderType.LIMIT if price is not None else OrderType.MARKET,
                quantity=qty,
                quote_quantity=quote_qty,
                price=price,
                bot_id=self._bot_id,
                tag=_tag(tag),
            )
        )

    # -- the richer order API (see ``StrategyContext``) ------------------------------------

    @property
    def equity(self) -> Decimal:
        self.mark_replay()
        return self._portfolio.valuation().equity

    @property
    def open_orders(self) -> Sequence[Order]:
        return tuple(self._orders.open_orders)

    @property
    def fills(self) -> Sequence[OrderFilled]:
        return tuple(self._fills)

    def history(self, bars: int, symbol: str | None = None) -> Sequence[Candle]:
        if isinstance(bars, bool) or not isinstance(bars, int) or bars < 1:
            raise ValidationError(f"history needs a number of bars >= 1, got {bars!r}")
        kept = self._history[self.instrument_of(symbol).symbol]
        if self.replay is not None:
            end = self.cursor.i + 1
            start = max(0, end - min(bars, HISTORY_BARS))
            return tuple(replay_bar(self.replay, j) for j in range(start, end))
        start = max(0, len(kept) - bars)
        return tuple(itertools.islice(kept, start, None))

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
        self.pending.append(
            SubmitOrder(
                symbol=self.instrument_of(symbol).symbol,
                side=_side(side),
                type=OrderType.LIMIT,
                quantity=quantity,
                price=price,
                bot_id=self._bot_id,
                time_in_force=time_in_force,
                post_only=post_only,
                reduce_only=reduce_only,
                tag=_tag(tag),
            )
        )

    def stop(
        self,
        side: OrderSide | str,
        quantity: Decimal,
        trigger_price: Decimal,
        limit_price: Decimal | None = None,
        *,
        symbol: str | None = None,
    ) -> None:
        kind = OrderType.STOP_MARKET if limit_price is None else OrderType.STOP_LIMIT
        if not self._native(kind):
            self._emulation(symbol).add_stop(_side(side), quantity, trigger_price, limit_price)
            return
        self.pending.append(
            SubmitOrder(
                symbol=self.instrument_of(symbol).symbol,
                side=_side(side),
                type=kind,
                quantity=quantity,
                price=limit_price,
                trigger_price=trigger_price,
                bot_id=self._bot_id,
                tag="stop",
            )
        )

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
        self._emulation(symbol).add_oco(
            _side(side), quantity, price, trigger_price, stop_limit_price
        )

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
        self._emulation(symbol).add_bracket(
            _side(side), quantity, entry_price, stop_loss, take_profit
        )

    def trailing_stop(
        self,
        side: OrderSide | str,
        quantity: Decimal,
        trail_pct: Decimal,
        *,
        symbol: str | None = None,
    ) -> None:
        target = self.instrument_of(symbol).symbol
        self._emulation(symbol).add_trailing(
            _side(side), quantity, trail_pct, lambda: self._last_price(target)
        )

    def target_position(
        self, quantity: Decimal, *, symbol: str | None = None, tag: str | None = None
    ) -> None:
        if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity < ZERO:
            raise ValidationError(
                f"target_position needs a base quantity >= 0 (spot), got {quantity!r}"
            )
        instrument = self.instrument_of(symbol)
        held = self._expected_position(instrument.symbol)
        delta = round_size(instrument, abs(quantity - held))
        if delta <= ZERO:
            return
        if quantity > held:
            self.buy(quantity=delta, symbol=instrument.symbol, tag=tag)
        else:
            self.sell(quantity=delta, symbol=instrument.symbol, tag=tag)

    def target_percent(
        self, fraction: Decimal, *, symbol: str | None = None, tag: str | None = None
    ) -> None:
        if not isinstance(fraction, Decimal) or not ZERO <= fraction <= 1:
            raise ValidationError(
                f"target_percent needs a fraction of equity in [0, 1] (0.5 means 50 %), "
                f"got {fraction!r}"
            )
        instrument = self.instrument_of(symbol)
        price = self._last_price(instrument.symbol)
        target = self.equity * fraction / price
        held = self._expected_position(instrument.symbol)
        if target >= held:
            spend = min((target - held) * price, self.cash)
            quote_sized = self._capabilities is None or self._capabilities.quote_sized_market_buy
            if quote_sized and spend > ZERO:
                self.buy(quote_quantity=spend, symbol=instrument.symbol, tag=tag)
            elif (size := round_size(instrument, spend / price)) > ZERO:
                self.buy(quantity=size, symbol=instrument.symbol, tag=tag)
        elif (size := round_size(instrument, held - target)) > ZERO:
            self.sell(quantity=size, symbol=instrument.symbol, tag=tag)

    def cancel(self, client_order_id: str) -> None:
        self._cancels.append(client_order_id)

    def cancel_all(self) -> None:
        self.pending.clear()
        for emulated in self._emulated.values():
            emulated.drop_all()
        self._cancels.extend(o.client_order_id for o in self._orders.open_orders)

    def set_timer(self, every: int | timedelta, name: str, *, repeat: bool = False) -> None:
        self._timers.set(every, name, repeat, self._bars, self.now)

    def cancel_timer(self, name: str) -> None:
        self._timers.cancel(name)

    async def after_bars(
        self, bars: Mapping[str, Candle], fire_timer: Callable[[str], None]
    ) -> None:
        """Once per time step, after the strategy: the cancels asked for, due timers
        (through ``fire_timer``), then the emulated orders of each symbol against its
        bar; the runtime then sends ``pending``."""
        if self._bus is None:  # no bus: keep the bar bookkeeping here
            for symbol, candle in bars.items():
                if symbol in self._history:
                    self._history[symbol].append(candle)
            self._bars += 1
        self._fills.clear()
        await self._send_cancels()
        if self._timers:
            for name in self._timers.due(self._bars, self.now):
                fire_timer(name)
                await self._send_cancels()
        if self._emulated:
            await self.step_emulated(bars)

    async def step_emulated(self, bars: Mapping[str, Candle]) -> None:
        """Advance the emulated orders (stops, OCO, brackets, trailing) on these bars.

        Also called while a risk limit pauses the bot: its protective exits must keep
        working when the strategy no longer runs.
        """
        for symbol, emulated in list(self._emulated.items()):
            candle = bars.get(symbol)
            if candle is not None:
                await emulated.step(candle)

    def close(self) -> None:
        """Stop listening to the bus (the bot has stopped)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        for emulated in self._emulated.values():
            emulated.close()

    def indicator(
        self, indicator: Indicator[V], *, symbol: str | None = None, wake: bool = False
    ) -> Series[V]:
        instrument = self.instrument_of(symbol)
        if self.replay is not None:
            if instrument.symbol != self._instrument.symbol:
                raise ConfigurationError("a replay on columns carries one instrument")
            replayed = _ReplaySeries(indicator.batch(self.replay), self.cursor)
            if wake:
                self.wakers.append(cast("_ReplaySeries[object]", replayed))
            return replayed
        series: _LiveSeries[V] = _LiveSeries(indicator)
        for candle in self._history[instrument.symbol]:  # declared late: catch up
            series.push(indicator.update(candle))
        self._live_series.append((instrument.symbol, cast("_LiveSeries[object]", series)))
        if wake:
            self.wakers.append(cast("_LiveSeries[object]", series))
        return series

    @property
    def asleep(self) -> bool:
        """The strategy has nothing to do this bar: it declared the series that wake it,
        none of them changed, and no fill of this bot arrived since its previous bar."""
        return bool(self.wakers) and not self._fills and not any(s.changed for s in self.wakers)

    def feed_indicators(self, bars: Mapping[str, Candle]) -> None:
        """Give every declared indicator its symbol's closed bar (live runs)."""
        for symbol, series in self._live_series:
            candle = bars.get(symbol)
            if candle is not None:
                series.push(series.indicator.update(candle))

    @property
    def busy(self) -> bool:
        """Whether the step after the strategy has work: cancels, timers, linked orders."""
        if self._cancels or self._timers:
            return True
        if not self._emulated:
            return False
        return any(e.groups for e in self._emulated.values())

    def count_bars(self, n: int) -> None:
        """A replay's quiet bars closed (what ``BarClosed`` counts when published)."""
        self._bars += n

    @property
    def has_fills(self) -> bool:
        """Fills of this bot arrived since its previous bar."""
        return bool(self._fills)

    def mark_replay(self) -> None:
        """A replay marks the book at the bar's close only when something reads it."""
        i = self.cursor.i
        if self.replay is not None and self._marked_at != i:
            self._portfolio.mark(self._instrument.symbol, self.replay.exact("close", i))
            self._marked_at = i

    def _native(self, kind: OrderType) -> bool:
        return self._capabilities is None or kind in self._capabilities.order_types

    def _emulation(self, symbol: str | None = None) -> EmulatedOrders:
        if self._bus is None:
            raise ConfigurationError("emulated orders need the runtime's event bus")
        instrument = self.instrument_of(symbol)
        emulated = self._emulated.get(instrument.symbol)
        if emulated is None:
            emulated = EmulatedOrders(
                bot_id=self._bot_id,
                instrument=instrument,
                orders=self._orders,
                bus=self._bus,
                native_stops=self._native(OrderType.STOP_MARKET),
                gate=self.gate,
            )
            self._emulated[instrument.symbol] = emulated
        return emulated

    def _last_price(self, symbol: str | None = None) -> Decimal:
        symbol = symbol or self._instrument.symbol
        if self.replay is not None and self.cursor.i >= 0:
            return self.replay.exact("close", self.cursor.i)
        kept = self._history.get(symbol)
        if kept:
            return kept[-1].close
        price = self._portfolio.mark_of(symbol)
        if price is None:
            raise ValidationError(f"no price is known yet for {symbol}: wait for its first bar")
        return price

    def _expected_position(self, symbol: str | None = None) -> Decimal:
        """The position once this bar's queued base-sized market orders have filled."""
        symbol = symbol or self._instrument.symbol
        queued = sum(
            (c.quantity * c.side.sign for c in self.pending
             if c.symbol == symbol and c.type is OrderType.MARKET and c.quantity is not None),
            ZERO,
        )  # fmt: skip
        return self._portfolio.position(symbol).quantity + queued

    async def _send_cancels(self) -> None:
        if not self._cancels:
            return
        cancels, self._cancels = self._cancels, []
        working = {o.client_order_id for o in self._orders.open_orders}
        for cid in dict.fromkeys(cancels):
            if cid in working:
                with contextlib.suppress(NotFoundError):  # it finished meanwhile
                    await self._orders.cancel(CancelOrder(cid, self._bot_id))

    def _on_bar_closed(self, event: BarClosed) -> None:
        if event.bot_id != self._bot_id:
            return
        kept = self._history.get(event.symbol)
        if kept is not None:
            if self.replay is None:  # a replay's history is its columns
                kept.append(event.candle)
            if event.symbol == self._instrument.symbol:
                self._bars += 1

    def _on_fill(self, event: OrderFilled) -> None:
        if event.order.bot_id == self._bot_id and event.fill.symbol in self._instruments:
            self._fills.append(event)

    # -- warm-up (a resumed bot's strategy sees the bars it already saw, trading none) --

    def warm_up_bar(self, candle: Candle) -> list[str]:
        """Count a warm-up bar of the primary instrument as ``BarClosed`` would (history,
        bar count); returns the timers it makes due."""
        if self.replay is None:  # a replay's history is its columns
            self._history[self._instrument.symbol].append(candle)
        self._bars += 1
        self.feed_indicators({self._instrument.symbol: candle})
        return self._timers.due(self._bars, self.now)

    def discard_requests(self) -> None:
        """Drop every order, cancel and linked order asked for (a warm-up trades nothing)."""
        self.pending.clear()
        self._cancels.clear()
        for emulated in self._emulated.values():
            emulated.drop_all()


V = TypeVar("V")


class _Cursor:
    """Which bar of a replay on columns is being handled."""

    __slots__ = ("i",)

    def __init__(self) -> None:
        self.i = -1


class _LiveSeries(Generic[V]):
    """A declared indicator in a live run: the runtime feeds it each closed bar."""

    __slots__ = ("changed", "indicator", "value")

    def __init__(self, indicator: Indicator[V]) -> None:
        self.indicator = indicator
        self.value: V | None = None
        self.changed = False

    def push(self, value: V | None) -> None:
        self.changed = value != self.value
        self.value = value


class _ReplaySeries(Generic[V]):
    """A declared indicator in a replay: computed once over the whole replay, read at
    the bar at hand (never later: the look-ahead test holds ``batch`` to that)."""

    __slots__ = ("_cursor", "_values")

    def __init__(self, values: Sequence[V | None], cursor: _Cursor) -> None:
        self._values = values
        self._cursor = cursor

    @property
    def value(self) -> V | None:
        i = self._cursor.i
        return self._values[i] if i >= 0 else None

    @property
    def changed(self) -> bool:
        i = self._cursor.i
        if i < 0:
            return False
        return self._values[i] != (self._values[i - 1] if i else None)

    def changes(self) -> list[int]:
        """The bars at which the value differs from the bar before (None before bar 0)."""
        values = self._values
        return [i for i in range(len(values)) if values[i] != (values[i - 1] if i else None)]


def _wake_bars(
    wakers: Sequence[_LiveSeries[object] | _ReplaySeries[object]], total: int
) -> list[int] | None:
    """Sorted bars where any waking series changes; None: every bar wakes."""
    if not wakers:
        return None
    changes: set[int] = set()
    for series in wakers:
        if isinstance(series, _ReplaySeries):
            changes.update(series.changes())
        else:  # not a replay series: cannot know ahead, so every bar wakes
            return None
    return sorted(changes)


def _next_at(sorted_bars: list[int], i: int, total: int) -> int:
    """The first bar >= ``i`` in ``sorted_bars`` (``total`` when none)."""
    k = bisect.bisect_left(sorted_bars, i)
    return sorted_bars[k] if k < len(sorted_bars) else total


#: How long an order's tag may be (the orders table's column).
TAG_LENGTH = 128


def _tag(tag: str | None) -> str | None:
    if tag is None:
        return None
    if not isinstance(tag, str):
        raise ValidationError(f"an order's tag is text (why it was sent), got {tag!r}")
    return tag[:TAG_LENGTH]


def _side(side: OrderSide | str) -> OrderSide:
    try:
        return OrderSide(side)
    except ValueError:
        raise ValidationError(f"side must be 'buy' or 'sell', got {side!r}") from None


@dataclass(frozen=True, slots=True)
class EquityPoint:
    ts: datetime
    equity: Decimal


class BotRuntime:
    """Drives one strategy through an order manager and venue, one time step at a time.

    Alone (``run``), it replays its own feed: candles of its one instrument, or
    ``BarSlice`` steps of several. On a shared account, ``AccountRuntime`` drives
    ``step`` for every bot after matching the account's orders once per step.
    """

    def __init__(
        self,
        *,
        bot_id: str,
        strategy: Strategy,
        instrument: Instrument,
        timeframe: str,
        feed: AsyncIterable[Candle] | AsyncIterable[BarSlice] | None,
        venue: Venue,
        orders: OrderManager,
        portfolio: Portfolio,
        bus: EventBus,
        clock: ManualClock,
        max_strategy_failures: int = 3,
        record_equity: bool = False,
        on_bar: Callable[[Candle], None] | None = None,
        publish_marks: bool = False,
        approvals: ApprovalQueue | None = None,
        instruments: Sequence[Instrument] = (),
        drive_venue: bool = True,
        warmup: Sequence[Candle] = (),
    ) -> None:
        self.bot_id = bot_id
        self.strategy = strategy
        self.instrument = instrument
        self.timeframe = timeframe
        self._bar = timedelta(seconds=TIMEFRAME_SECONDS.get(timeframe, 3600))
        self._feed = feed
        self._venue = venue
        # A shared account's runtime matches the venue itself, once for every bot.
        self._drive_venue = drive_venue and venue.capabilities.candle_driven
        self._orders = orders
        self._portfolio = portfolio
        self._bus = bus
        self._clock = clock
        self._sandbox = StrategySandbox(bot_id, max_strategy_failures)
        self._ctx = RuntimeContext(
            bot_id,
            instrument,
            portfolio,
            orders,
            clock,
            bus=bus,
            capabilities=venue.capabilities,
            instruments=instruments,
        )
        self.symbols = self._ctx.symbols
        self._mine = frozenset(self.symbols)
        #: Who decides this bot's orders (its mode); None: the strategy, always.
        self.approvals = approvals
        if approvals is not None:
            self._ctx.awaiting_approval = lambda: bool(approvals.pending)
            self._ctx.gate = self._gate
        self._stop = asyncio.Event()
        self._on_bar = on_bar
        self._publish_marks = publish_marks
        self.bars_seen = 0
        #: Bars of the primary instrument the strategy sees before the feed, trading none
        #: (see ``warm_up``).
        self._warmup = warmup
        self.equity_curve: list[EquityPoint] | None = [] if record_equity else None
        #: Why the strategy is not being called (a risk limit paused the bot), or None.
        self.paused_reason: str | None = None

    @property
    def portfolio(self) -> Portfolio:
        return self._portfolio

    @property
    def orders(self) -> OrderManager:
        return self._orders

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        self._stop.set()

    def pause(self, reason: str) -> None:
        """Stop calling the strategy; marks, risk tracking and position stops go on."""
        if self.paused_reason is None:
            log.warning("bot %s paused: %s", self.bot_id, reason)
        self.paused_reason = reason

    def resume(self) -> None:
        """Call the strategy again (a trader reviewed the pause)."""
        self.paused_reason = None
        if self._orders.risk is not None:
            self._orders.risk.resume()

    async def run(self) -> BotStatus:
        """Run until the feed ends (FINISHED), a stop is requested (STOPPED) or the
        strategy keeps failing (raises ``StrategyError``)."""
        if self._feed is None:
            raise ConfigurationError(f"bot {self.bot_id} has no feed of its own to run on")
        self.start()
        await self.warm_up(self._warmup)
        async for item in self._feed:
            if self._stop.is_set():
                break
            if isinstance(item, BarSlice):
                await self.step(item.ts, item.bars)
            else:
                await self.step(item.ts, {self.instrument.symbol: item})
        return await self.finish()

    def start(self) -> None:
        self._sandbox.call("on_start", lambda: self.strategy.on_start(self._ctx))

    async def replay(
        self,
        bars: BarColumns,
        *,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        warmup: int = 0,
    ) -> BotStatus:
        """Run through ``bars`` of the primary instrument: ``run`` for a backtest.

        The first ``warmup`` bars only warm the strategy up (``warm_up``: it sees them,
        nothing it asks for is sent), so it trades from bar ``warmup`` on.

        A bar goes through the live path's ``step`` unless nothing but the strategy can
        act on it: no order working at the venue, no emulated order, timer, risk
        manager, approval queue or pause, nobody else listening to bar events. On such a
        quiet bar the step would match nothing, publish to no one and leave the venue as
        the next processed bar sets it again, so only the strategy runs (with the bar,
        the time, the history and its declared indicators as the step gives them) and
        what it asks for goes out through the same code as ``advance``. A strategy that
        declared the series that wake it is not called on a quiet bar where none of them
        changes (``advance`` skips it live too), so the replay jumps from one such
        event to the next. Marks are made when something reads them.
        ``tests/engine/test_replay.py`` runs strategy families both ways and compares
        every order and fill.

        ``progress(done, total)`` is called about ten times a second; ``should_stop()``
        as often ends the run as STOPPED (a cancelled backtest).
        """
        ctx, clock, venue = self._ctx, self._clock, self._venue
        if len(self.symbols) != 1:
            raise ConfigurationError("a replay on columns runs a one-instrument bot")
        if not (self._drive_venue and isinstance(clock, ReplayClock)):
            raise ConfigurationError("a replay needs its own candle-driven venue and a ReplayClock")
        ctx.replay = bars
        self.start()
        symbol = self.instrument.symbol
        strategy = self.strategy
        plain_on_bar = type(strategy).on_bars is Strategy.on_bars
        bar_ms = int(self._bar.total_seconds() * 1000)
        open_times = bars.ts.tolist()
        close_times = (bars.ts + bar_ms).tolist()
        has_idle = getattr(venue, "idle", None) is not None
        total = len(bars)
        sandbox = self._sandbox
        listening = self._bus.listeners(BarClosed)
        # The bars where a waking series changes (all bars when the strategy declared
        # none): the only quiet bars the strategy is called on.
        wakers = len(ctx.wakers)
        wake_at = _wake_bars(ctx.wakers, total)
        last_report = time.perf_counter()
        events = 0
        i = 0
        while i < min(warmup, total):
            ctx.cursor.i = i
            clock.set_ms(close_times[i])
            self._warm_bar(replay_bar(bars, i))
            self.bars_seen += 1
            i += 1
        while i < total:
            events += 1
            if events & 1023 == 0:
                if self._stop.is_set() or (should_stop is not None and should_stop()):
                    self._stop.set()
                    break
                now = time.perf_counter()
                if now - last_report >= 0.1:
                    last_report = now
                    if progress is not None:
                        progress(i, total)
                    await asyncio.sleep(0)  # the GUI, the API and other bots go on
            if not (
                listening == 1  # the context's own history subscription only
                and self._orders.risk is None
                and self.approvals is None
                and self.paused_reason is None
                and not self._publish_marks
                and self._on_bar is None
                and self.equity_curve is None
            ):
                ctx.cursor.i = i
                clock.set(datetime.fromtimestamp(open_times[i] / 1000, tz=UTC))
                await self.step(clock.now(), {symbol: replay_bar(bars, i)})
                listening = self._bus.listeners(BarClosed)
                if len(ctx.wakers) != wakers:  # declared later: recompute
                    wakers = len(ctx.wakers)
                    wake_at = _wake_bars(ctx.wakers, total)
                i += 1
                continue
            if has_idle and venue.idle and not ctx.busy:  # type: ignore[attr-defined]
                # Quiet from here: skip to the next bar the strategy must see.
                j = i if wake_at is None else _next_at(wake_at, i, total)
                self.bars_seen += j - i
                ctx.count_bars(j - i)
                if j >= total:
                    ctx.cursor.i = total - 1
                    break
                i = j
                ctx.cursor.i = i
                bar = replay_bar(bars, i)
                matched = False
            else:
                # The venue has orders to match (or linked orders, timers, cancels wait):
                # ``step``'s matching, then the rest of the bar as ``advance`` does it with
                # no one else listening, no risk manager, approvals or pause.
                ctx.cursor.i = i
                bar = replay_bar(bars, i)
                clock.set(datetime.fromtimestamp(open_times[i] / 1000, tz=UTC))
                cast(CandleDrivenVenue, venue).process_bar(bar)
                matched = True
            clock.set_ms(close_times[i])
            self.bars_seen += 1
            ctx.count_bars(1)
            if not (matched and ctx.asleep):
                try:
                    if plain_on_bar:
                        strategy.on_bar(ctx, bar)
                    else:
                        strategy.on_bars(ctx, {symbol: bar})
                except Exception as exc:
                    sandbox.call("on_bar", _raiser(exc))
                else:
                    sandbox.consecutive_failures = 0
            if ctx.pending or ctx.busy or ctx.has_fills:
                if not matched:  # the step would have matched this bar first
                    cast(CandleDrivenVenue, venue).process_bar(bar)
                ctx.mark_replay()
                await ctx.after_bars({symbol: bar}, self._fire_timer)
                pending, ctx.pending = ctx.pending, []
                for command in pending:
                    try:
                        await self._send(command, bar)
                    except StrategyError:
                        raise
                    except Exception as exc:  # a malformed order from the strategy
                        sandbox.call("order", _raiser(exc))
                self._sync_pause()
            if len(ctx.wakers) != wakers:
                wakers = len(ctx.wakers)
                wake_at = _wake_bars(ctx.wakers, total)
            i += 1
        if total and not self._stop.is_set():
            ctx.cursor.i = total - 1
            if has_idle and venue.idle:  # type: ignore[attr-defined]
                # the last bar's price and time, as stepping every bar leaves them
                cast(CandleDrivenVenue, venue).process_bar(replay_bar(bars, total - 1))
            ctx.mark_replay()
        if progress is not None:
            progress(self.bars_seen, total)
        return await self.finish()

    async def warm_up(self, bars: Sequence[Candle]) -> None:
        """Replay ``bars`` (of the primary instrument) through the strategy, trading none.

        A bot resumed after a restart goes on from the bar it had reached; its strategy
        object is new, so its indicators are rebuilt here from the bars it already saw.
        Every order, cancel and linked order it asks for meanwhile is dropped; nothing is
        matched, marked or published. A strategy whose state depends only on the bars and
        on what the context shows (position, cash, open orders) then decides on the next
        bar exactly as an uninterrupted run would.
        """
        for n, candle in enumerate(bars, start=1):
            self._warm_bar(candle)
            if n % WARMUP_YIELD_BARS == 0:
                await asyncio.sleep(0)  # the GUI, the API and other bots go on meanwhile

    def _warm_bar(self, candle: Candle) -> None:
        if self._ctx.replay is None:
            self._clock.set(candle.ts + self._bar)
        bars = {self.instrument.symbol: candle}
        due = self._ctx.warm_up_bar(candle)
        if self.control_mode is not ControlMode.MANUAL:
            self._sandbox.call("on_bar", lambda: self.strategy.on_bars(self._ctx, bars))
        for name in due:
            self._fire_timer(name)
        self._ctx.discard_requests()

    async def finish(self) -> BotStatus:
        """Tell the strategy it stops, and end what cannot outlive the bot."""
        self._sandbox.call("on_stop", lambda: self.strategy.on_stop(self._ctx))
        self._ctx.close()
        if self._venue.capabilities.candle_driven:
            # The simulated venue ends with the bot: nothing left on it can ever fill.
            await self._orders.cancel_all()
        if self._publish_marks:
            self._orders.publish_portfolio()  # the final marks, stored
        return BotStatus.STOPPED if self._stop.is_set() else BotStatus.FINISHED

    async def step(self, ts: datetime, bars: Mapping[str, Candle]) -> None:
        """One time step opened at ``ts``: match the venue (when this bot drives it),
        then everything that happens at the bars' close."""
        self._clock.set(ts)
        if self._drive_venue:
            process_bars = getattr(self._venue, "process_bars", None)
            if process_bars is not None:
                process_bars(bars)
            elif (candle := bars.get(self.instrument.symbol)) is not None:
                cast(CandleDrivenVenue, self._venue).process_bar(candle)
        await self.advance(ts, bars)

    async def advance(self, ts: datetime, bars: Mapping[str, Candle]) -> None:
        """The bars opened at ``ts`` have closed (and the venue has matched them)."""
        mine = {s: c for s, c in bars.items() if s in self._mine}
        if not mine:
            return
        close_time = ts + self._bar
        self._clock.set(close_time)
        for symbol, candle in mine.items():
            self._portfolio.mark(symbol, candle.close)
        primary = mine.get(self.instrument.symbol)
        if primary is not None:
            self.bars_seen += 1
            if self._on_bar is not None:
                self._on_bar(primary)
        if self.equity_curve is not None:
            self.equity_curve.append(EquityPoint(close_time, self._portfolio.valuation().equity))
        for symbol, candle in mine.items():
            self._bus.publish(
                BarClosed(close_time, self.bot_id, self._venue.name, symbol, self.timeframe, candle)
            )
        if self._publish_marks:
            self._orders.publish_marks()
        self._ctx.feed_indicators(mine)
        await self._apply_risk(mine)
        if self.paused_reason is not None:
            await self._ctx.step_emulated(mine)  # protective exits keep working
            return
        if self.control_mode is not ControlMode.MANUAL and not self._ctx.asleep:
            # manual: the trader sends orders; asleep: the strategy said it would do nothing
            self._sandbox.call("on_bar", lambda: self.strategy.on_bars(self._ctx, mine))
        await self._ctx.after_bars(mine, self._fire_timer)  # cancels, timers, emulated orders
        pending, self._ctx.pending = self._ctx.pending, []
        for command in pending:
            try:
                await self._send(command, mine.get(command.symbol, primary))
            except StrategyError:
                raise
            except Exception as exc:  # a malformed order from the strategy: count it
                self._sandbox.call("order", _raiser(exc))
        self._sync_pause()

    async def _apply_risk(self, bars: Mapping[str, Candle]) -> None:
        """Feed the risk manager the new equity and send the exits its stops decide.

        The stops run before the strategy (and while the bot is paused): protecting an
        open position must not depend on the code whose losses paused it.
        """
        risk = self._orders.risk
        if risk is None:
            return
        risk.on_mark(self._portfolio.valuation().equity, self._clock.now())
        for symbol, candle in bars.items():
            exits = risk.exit_orders(
                symbol, self._portfolio, candle.close, self._orders.open_orders
            )
            for command, why in exits:
                log.info("bot %s: %s; closing the position", self.bot_id, why)
                for other in self._orders.open_orders:  # they may lock what the exit sells
                    if other.symbol == symbol:
                        await self._orders.cancel(CancelOrder(other.client_order_id, self.bot_id))
                risk.stopper.track(await self._orders.submit(command))
        self._sync_pause()

    def _sync_pause(self) -> None:
        risk = self._orders.risk
        if risk is not None and risk.pause_reason is not None:
            self.pause(risk.pause_reason)

    @property
    def control_mode(self) -> ControlMode:
        return self.approvals.mode if self.approvals is not None else ControlMode.AUTOMATED

    async def _send(self, command: SubmitOrder, bar: Candle | None) -> None:
        """A mixed bot's orders become proposals priced at the bar's close; others go out."""
        if self.approvals is not None and self.approvals.mode is ControlMode.MIXED:
            if bar is None:
                raise ValidationError(f"no price for {command.symbol} to propose the order at")
            await self.approvals.propose(command, bar.close)
        else:
            await self._orders.submit(command)

    async def _gate(self, command: SubmitOrder) -> Proposal | None:
        """A mixed bot's emulated buy legs are proposed; sells (protection) go out."""
        approvals = self.approvals
        if approvals is None or approvals.mode is not ControlMode.MIXED:
            return None
        if command.side is not OrderSide.BUY:
            return None
        return await approvals.propose(command, self._ctx.price(command.symbol))

    def _fire_timer(self, name: str) -> None:
        if self.control_mode is not ControlMode.MANUAL:
            self._sandbox.call("on_timer", lambda: self.strategy.on_timer(self._ctx, name))


def _raiser(exc: Exception) -> Callable[[], None]:
    def fail() -> None:
        raise exc

    return fail
