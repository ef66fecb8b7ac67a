"""The bot runtime: one strategy on one instrument, bar by bar.

Per closed bar: (1) a candle-driven venue matches pending orders against the bar,
(2) the book is marked at the close, (3) the strategy sees the bar, (4) the orders it
asked for are sent. An order from bar t is therefore first matched on bar t+1.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from task_station.domain.bots import BotStatus
from task_station.domain.candles import TIMEFRAME_SECONDS, Candle
from task_station.domain.clock import Clock, ManualClock
from task_station.domain.commands import SubmitOrder
from task_station.domain.errors import StrategyError
from task_station.domain.events import BarClosed
from task_station.domain.instruments import Instrument
from task_station.domain.orders import OrderSide, OrderType
from task_station.engine.bus import EventBus
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.sandbox import StrategySandbox
from task_station.strategies.base import Strategy
from task_station.venues.base import CandleDrivenVenue

log = logging.getLogger(__name__)


class RuntimeContext:
    """The ``StrategyContext`` a running bot hands to its strategy."""

    def __init__(
        self,
        bot_id: str,
        instrument: Instrument,
        portfolio: Portfolio,
        orders: OrderManager,
        clock: Clock,
    ) -> None:
        self._bot_id = bot_id
        self._instrument = instrument
        self._portfolio = portfolio
        self._orders = orders
        self._clock = clock
        self.pending: list[SubmitOrder] = []

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
        return bool(self._orders.open_orders) or bool(self.pending)

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
        self._ctx = RuntimeContext(bot_id, instrument, portfolio, orders, clock)
        self._stop = asyncio.Event()
        self._on_bar = on_bar
        self._publish_marks = publish_marks
        self.bars_seen = 0
        self.equity_curve: list[EquityPoint] | None = [] if record_equity else None

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> BotStatus:
        """Run until the feed ends (FINISHED), a stop is requested (STOPPED) or the
        strategy keeps failing (raises ``StrategyError``)."""
        self._sandbox.call("on_start", lambda: self.strategy.on_start(self._ctx))
        async for candle in self._feed:
            if self._stop.is_set():
                break
            await self._step(candle)
        self._sandbox.call("on_stop", lambda: self.strategy.on_stop(self._ctx))
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
        self._sandbox.call("on_bar", lambda: self.strategy.on_bar(self._ctx, candle))
        pending, self._ctx.pending = self._ctx.pending, []
        for command in pending:
            try:
                await self._orders.submit(command)
            except StrategyError:
                raise
            except Exception as exc:  # a malformed order from the strategy: count it
                self._sandbox.call("order", _raiser(exc))


def _raiser(exc: Exception) -> Callable[[], None]:
    def fail() -> None:
        raise exc

    return fail
