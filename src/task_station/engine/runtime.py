"""The bot runtime: one strategy on one instrument, bar by bar.

Per closed bar: (1) a candle-driven venue matches pending orders against the bar,
(2) the book is marked at the close, (3) the strategy sees the bar, (4) the orders it
asked for are sent. An order from bar t is therefore first matched on bar t+1.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from task_station.domain.bots import BotStatus
from task_station.domain.candles import TIMEFRAME_SECONDS, Candle
from task_station.domain.clock import Clock, ManualClock
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
from task_station.domain.proposals import ControlMode
from task_station.engine.approvals import ApprovalQueue
from task_station.engine.bus import EventBus
from task_station.engine.emulated_orders import EmulatedOrders, Timers, round_size
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.sandbox import StrategySandbox
from task_station.strategies.base import Strategy
from task_station.venues.base import CandleDrivenVenue, VenueCapabilities

log = logging.getLogger(__name__)

#: How many closed candles ``RuntimeContext.history`` keeps.
HISTORY_BARS = 5000


class RuntimeContext:
    """The ``StrategyContext`` a running bot hands to its strategy."""

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
    ) -> None:
        self._bot_id = bot_id
        self._instrument = instrument
        self._portfolio = portfolio
        self._orders = orders
        self._clock = clock
        self.pending: list[SubmitOrder] = []
        # The richer API: cancels run before the bar's new orders go out; fills, history
        # and the bar count come from the bus; linked orders live in ``_emulated``.
        self._capabilities = capabilities
        self._cancels: list[str] = []
        self._fills: list[OrderFilled] = []
        self._history: deque[Candle] = deque(maxlen=HISTORY_BARS)
        self._bars = 0
        self._timers = Timers()
        self._emulated: EmulatedOrders | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        if bus is not None:
            self._emulated = EmulatedOrders(
                bot_id=bot_id,
                instrument=instrument,
                orders=orders,
                bus=bus,
                native_stops=self._native(OrderType.STOP_MARKET),
            )
            self._unsubscribe = [
                bus.subscribe(BarClosed, self._on_bar_closed),
                bus.subscribe(OrderFilled, self._on_fill),
            ]
        #: Whether a proposal of this bot waits for the trader (a mixed bot's runtime sets it).
        self.awaiting_approval: Callable[[], bool] = lambda: False

    @property
    def now(self) -> datetime:
        return self._clock.now()

    @property
    def instrument(self) -> Instrument:
        return self._instrument

    @property
    def position(self) -> Decimal:
        return self._portfolio.position(self._instrument.symbol).quantity

    @property
    def cash(self) -> Decimal:
        return self._portfolio.balance(self._instrument.quote).free

    @property
    def has_open_orders(self) -> bool:
        return (
            bool(self._orders.open_orders)
            or bool(self.pending)
            or self.awaiting_approval()
            or (self._emulated is not None and self._emulated.active)
        )

    def buy(
        self,
        *,
        quantity: Decimal | None = None,
        quote_quantity: Decimal | None = None,
        price: Decimal | None = None,
    ) -> None:
        self._queue(OrderSide.BUY, quantity, quote_quantity, price)

    def sell(self, *, quantity: Decimal, price: Decimal | None = None) -> None:
        self._queue(OrderSide.SELL, quantity, None, price)

    def log(self, message: str) -> None:
        log.info("bot %s: %s", self._bot_id, message)

    def _queue(
        self, side: OrderSide, qty: Decimal | None, quote_qty: Decimal | None, price: Decimal | None
    ) -> None:
        self.pending.append(
            SubmitOrder(
                symbol=self._instrument.symbol,
                side=side,
                type=OrderType.LIMIT if price is not None else OrderType.MARKET,
                quantity=qty,
                quote_quantity=quote_qty,
                price=price,
                bot_id=self._bot_id,
            )
        )

    # -- the richer order API (see ``StrategyContext``) ------------------------------------

    @property
    def equity(self) -> Decimal:
        return self._portfolio.valuation().equity

    @property
    def open_orders(self) -> Sequence[Order]:
        return tuple(self._orders.open_orders)

    @property
    def fills(self) -> Sequence[OrderFilled]:
        return tuple(self._fills)

    def history(self, bars: int) -> Sequence[Candle]:
        if isinstance(bars, bool) or not isinstance(bars, int) or bars < 1:
            raise ValidationError(f"history needs a number of bars >= 1, got {bars!r}")
        start = max(0, len(self._history) - bars)
        return tuple(itertools.islice(self._history, start, None))

    def limit(
        self,
        side: OrderSide | str,
        quantity: Decimal,
        price: Decimal,
        *,
        post_only: bool = False,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
    ) -> None:
        self.pending.append(
            SubmitOrder(
                symbol=self._instrument.symbol,
                side=_side(side),
                type=OrderType.LIMIT,
                quantity=quantity,
                price=price,
                bot_id=self._bot_id,
                time_in_force=time_in_force,
                post_only=post_only,
                reduce_only=reduce_only,
            )
        )

    def stop(
        self,
        side: OrderSide | str,
        quantity: Decimal,
        trigger_price: Decimal,
        limit_price: Decimal | None = None,
    ) -> None:
        kind = OrderType.STOP_MARKET if limit_price is None else OrderType.STOP_LIMIT
        if not self._native(kind):
            self._emulation().add_stop(_side(side), quantity, trigger_price, limit_price)
            return
        self.pending.append(
            SubmitOrder(
                symbol=self._instrument.symbol,
                side=_side(side),
                type=kind,
                quantity=quantity,
                price=limit_price,
                trigger_price=trigger_price,
                bot_id=self._bot_id,
            )
        )

    def oco(
        self,
        side: OrderSide | str,
        quantity: Decimal,
        price: Decimal,
        trigger_price: Decimal,
        stop_limit_price: Decimal | None = None,
    ) -> None:
        self._emulation().add_oco(_side(side), quantity, price, trigger_price, stop_limit_price)

    def bracket(
        self,
        side: OrderSide | str,
        quantity: Decimal,
        entry_price: Decimal | None,
        stop_loss: Decimal,
        take_profit: Decimal,
    ) -> None:
        self._emulation().add_bracket(_side(side), quantity, entry_price, stop_loss, take_profit)

    def trailing_stop(self, side: OrderSide | str, quantity: Decimal, trail_pct: Decimal) -> None:
        self._emulation().add_trailing(_side(side), quantity, trail_pct, self._last_price)

    def target_position(self, quantity: Decimal) -> None:
        if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity < ZERO:
            raise ValidationError(
                f"target_position needs a base quantity >= 0 (spot), got {quantity!r}"
            )
        delta = round_size(self._instrument, abs(quantity - self._expected_position()))
        if delta <= ZERO:
            return
        if quantity > self._expected_position():
            self.buy(quantity=delta)
        else:
            self.sell(quantity=delta)

    def target_percent(self, fraction: Decimal) -> None:
        if not isinstance(fraction, Decimal) or not ZERO <= fraction <= 1:
            raise ValidationError(
                f"target_percent needs a fraction of equity in [0, 1] (0.5 means 50 %), "
                f"got {fraction!r}"
            )
        price = self._last_price()
        target = self.equity * fraction / price
        held = self._expected_position()
        if target >= held:
            spend = min((target - held) * price, self.cash)
            quote_sized = self._capabilities is None or self._capabilities.quote_sized_market_buy
            if quote_sized and spend > ZERO:
                self.buy(quote_quantity=spend)
            elif (size := round_size(self._instrument, spend / price)) > ZERO:
                self.buy(quantity=size)
        elif (size := round_size(self._instrument, held - target)) > ZERO:
            self.sell(quantity=size)

    def cancel(self, client_order_id: str) -> None:
        self._cancels.append(client_order_id)

    def cancel_all(self) -> None:
        self.pending.clear()
        if self._emulated is not None:
            self._emulated.drop_all()
        self._cancels.extend(o.client_order_id for o in self._orders.open_orders)

    def set_timer(self, every: int | timedelta, name: str, *, repeat: bool = False) -> None:
        self._timers.set(every, name, repeat, self._bars, self.now)

    def cancel_timer(self, name: str) -> None:
        self._timers.cancel(name)

    async def after_bar(self, candle: Candle, fire_timer: Callable[[str], None]) -> None:
        """Once per bar, after ``on_bar``: the cancels asked for, due timers (through
        ``fire_timer``), then the emulated orders; the runtime then sends ``pending``."""
        if self._emulated is None:  # no bus: keep the bar bookkeeping here
            self._history.append(candle)
            self._bars += 1
        self._fills.clear()
        await self._send_cancels()
        for name in self._timers.due(self._bars, self.now):
            fire_timer(name)
            await self._send_cancels()
        if self._emulated is not None:
            await self._emulated.step(candle)

    def close(self) -> None:
        """Stop listening to the bus (the bot has stopped)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._emulated is not None:
            self._emulated.close()

    def _native(self, kind: OrderType) -> bool:
        return self._capabilities is None or kind in self._capabilities.order_types

    def _emulation(self) -> EmulatedOrders:
        if self._emulated is None:
            raise ConfigurationError("emulated orders need the runtime's event bus")
        return self._emulated

    def _last_price(self) -> Decimal:
        if self._history:
            return self._history[-1].close
        marks = dict(self._portfolio.snapshot().marks)
        price = marks.get(self._instrument.symbol)
        if price is None:
            raise ValidationError("no price is known yet: wait for the first bar")
        return price

    def _expected_position(self) -> Decimal:
        """The position once this bar's queued base-sized market orders have filled."""
        queued = sum(
            (c.quantity * c.side.sign for c in self.pending
             if c.type is OrderType.MARKET and c.quantity is not None),
            ZERO,
        )  # fmt: skip
        return self.position + queued

    async def _send_cancels(self) -> None:
        cancels, self._cancels = self._cancels, []
        working = {o.client_order_id for o in self._orders.open_orders}
        for cid in dict.fromkeys(cancels):
            if cid in working:
                with contextlib.suppress(NotFoundError):  # it finished meanwhile
                    await self._orders.cancel(CancelOrder(cid, self._bot_id))

    def _on_bar_closed(self, event: BarClosed) -> None:
        if event.bot_id == self._bot_id and event.symbol == self._instrument.symbol:
            self._history.append(event.candle)
            self._bars += 1

    def _on_fill(self, event: OrderFilled) -> None:
        if event.order.bot_id == self._bot_id and event.fill.symbol == self._instrument.symbol:
            self._fills.append(event)


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
    """Drives one strategy from a candle feed through an order manager and venue."""

    def __init__(
        self,
        *,
        bot_id: str,
        strategy: Strategy,
        instrument: Instrument,
        timeframe: str,
        feed: AsyncIterable[Candle],
        venue: CandleDrivenVenue,
        orders: OrderManager,
        portfolio: Portfolio,
        bus: EventBus,
        clock: ManualClock,
        max_strategy_failures: int = 3,
        record_equity: bool = False,
        on_bar: Callable[[Candle], None] | None = None,
        publish_marks: bool = False,
        approvals: ApprovalQueue | None = None,
    ) -> None:
        self.bot_id = bot_id
        self.strategy = strategy
        self.instrument = instrument
        self.timeframe = timeframe
        self._bar = timedelta(seconds=TIMEFRAME_SECONDS.get(timeframe, 3600))
        self._feed = feed
        self._venue = venue
        self._orders = orders
        self._portfolio = portfolio
        self._bus = bus
        self._clock = clock
        self._sandbox = StrategySandbox(bot_id, max_strategy_failures)
        self._ctx = RuntimeContext(
            bot_id, instrument, portfolio, orders, clock, bus=bus, capabilities=venue.capabilities
        )
        #: Who decides this bot's orders (its mode); None: the strategy, always.
        self.approvals = approvals
        if approvals is not None:
            self._ctx.awaiting_approval = lambda: bool(approvals.pending)
        self._stop = asyncio.Event()
        self._on_bar = on_bar
        self._publish_marks = publish_marks
        self.bars_seen = 0
        self.equity_curve: list[EquityPoint] | None = [] if record_equity else None
        #: Why the strategy is not being called (a risk limit paused the bot), or None.
        self.paused_reason: str | None = None

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
        self._sandbox.call("on_start", lambda: self.strategy.on_start(self._ctx))
        async for candle in self._feed:
            if self._stop.is_set():
                break
            await self._step(candle)
        self._sandbox.call("on_stop", lambda: self.strategy.on_stop(self._ctx))
        self._ctx.close()
        if self._venue.capabilities.candle_driven:
            # The simulated venue ends with the bot: nothing left on it can ever fill.
            await self._orders.cancel_all()
        if self._publish_marks:
            self._orders.publish_portfolio()  # the final marks, stored
        return BotStatus.STOPPED if self._stop.is_set() else BotStatus.FINISHED

    async def _step(self, candle: Candle) -> None:
        symbol = self.instrument.symbol
        self._clock.set(candle.ts)
        if self._venue.capabilities.candle_driven:
            self._venue.process_bar(candle)
        close_time = candle.ts + self._bar
        self._clock.set(close_time)
        self._portfolio.mark(symbol, candle.close)
        self.bars_seen += 1
        if self.equity_curve is not None:
            self.equity_curve.append(EquityPoint(close_time, self._portfolio.valuation().equity))
        if self._on_bar is not None:
            self._on_bar(candle)
        self._bus.publish(
            BarClosed(close_time, self.bot_id, self._venue.name, symbol, self.timeframe, candle)
        )
        if self._publish_marks:
            self._orders.publish_marks()
        await self._apply_risk(candle.close)
        if self.paused_reason is not None:
            return
        if self.control_mode is not ControlMode.MANUAL:  # manual: the trader sends orders
            self._sandbox.call("on_bar", lambda: self.strategy.on_bar(self._ctx, candle))
        await self._ctx.after_bar(candle, self._fire_timer)  # cancels, timers, emulated orders
        pending, self._ctx.pending = self._ctx.pending, []
        for command in pending:
            try:
                await self._send(command, candle.close)
            except StrategyError:
                raise
            except Exception as exc:  # a malformed order from the strategy: count it
                self._sandbox.call("order", _raiser(exc))
        self._sync_pause()

    async def _apply_risk(self, close: Decimal) -> None:
        """Feed the risk manager the new equity and send the exits its stops decide.

        The stops run before the strategy (and while the bot is paused): protecting an
        open position must not depend on the code whose losses paused it.
        """
        risk = self._orders.risk
        if risk is None:
            return
        risk.on_mark(self._portfolio.valuation().equity, self._clock.now())
        symbol = self.instrument.symbol
        exits = risk.exit_orders(symbol, self._portfolio, close, self._orders.open_orders)
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

    async def _send(self, command: SubmitOrder, price: Decimal) -> None:
        """A mixed bot's orders become proposals priced at ``price``; others go out."""
        if self.approvals is not None and self.approvals.mode is ControlMode.MIXED:
            await self.approvals.propose(command, price)
        else:
            await self._orders.submit(command)

    def _fire_timer(self, name: str) -> None:
        if self.control_mode is not ControlMode.MANUAL:
            self._sandbox.call("on_timer", lambda: self.strategy.on_timer(self._ctx, name))


def _raiser(exc: Exception) -> Callable[[], None]:
    def fail() -> None:
        raise exc

    return fail
