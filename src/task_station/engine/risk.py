"""The risk manager: the last word before an order leaves the station.

Every bot's ``OrderManager`` asks its ``RiskManager`` after the instrument and balance
checks; the answer is a denial reason a trader can act on, or ``None``. One
``GlobalRisk`` is shared by every bot of the station: it sums exposure, losses and order
flow across bots for the station-wide limits and holds the kill switch.

Orders that only reduce a position (a sell of what a long holds, a stop's exit) are
exempt from the exposure limits (position, notional, daily loss, drawdown): refusing
them would keep a losing position open, which is the very thing the limits are for.
They still count against the order-flow limits and the kill switch.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from task_station.domain.commands import SubmitOrder
from task_station.domain.events import KillSwitchChanged, RiskBreached
from task_station.domain.money import ZERO
from task_station.domain.orders import Order, OrderSide, OrderType
from task_station.domain.ports import KillSwitchStore
from task_station.domain.positions import Position
from task_station.domain.risk import (
    KillSwitchState,
    PositionStops,
    RiskBreach,
    RiskLimitKind,
    RiskLimits,
    RiskMarks,
)
from task_station.engine.bus import EventBus
from task_station.engine.portfolio import Portfolio

log = logging.getLogger(__name__)

#: The window of ``max_orders_per_minute``.
ORDER_RATE_WINDOW = timedelta(minutes=1)
_HUNDRED = Decimal(100)
_DISPLAY_STEP = Decimal("1e-8")

OpenOrders = Callable[[], Sequence[Order]]
K = RiskLimitKind


def fmt(value: Decimal) -> str:
    """A number as a trader reads it: thousands separators, no exponent, no noise."""
    if value.as_tuple().exponent < -8:  # type: ignore[operator]
        value = value.quantize(_DISPLAY_STEP)
    text = format(value.normalize(), ",f")
    return text


def _pct(fraction: Decimal) -> str:
    return fmt((fraction * _HUNDRED).quantize(Decimal("0.01"))) + " %"


def _mark_of(portfolio: Portfolio, symbol: str) -> Decimal | None:
    return dict(portfolio.snapshot().marks).get(symbol)


def _signed(side: OrderSide, quantity: Decimal) -> Decimal:
    return quantity if side is OrderSide.BUY else -quantity


def _base_quantity(order: Order, price: Decimal | None) -> Decimal | None:
    """The order's size in base units (a quote-sized buy is estimated at ``price``)."""
    if order.quantity is not None:
        return order.remaining_quantity
    if order.quote_quantity is not None and price is not None and price > ZERO:
        spent = order.filled_notional + order.fees
        return max(order.quote_quantity - spent, ZERO) / price
    return None


def _reference_price(order: Order, portfolio: Portfolio) -> Decimal | None:
    if order.price is not None:
        return order.price
    if order.trigger_price is not None:
        return order.trigger_price
    return _mark_of(portfolio, order.symbol)


def _working(
    orders: Sequence[Order], symbol: str, side: OrderSide, price: Decimal | None
) -> Decimal:
    """Base quantity still working on ``side`` of ``symbol`` (it may yet fill)."""
    total = ZERO
    for o in orders:
        if o.symbol == symbol and o.side is side:
            qty = _base_quantity(o, o.price if o.price is not None else price)
            total += qty or ZERO
    return total


def _reduces(order: Order, position: Decimal) -> bool:
    """True when the order can only bring the position closer to flat."""
    if order.quantity is None:
        return False  # a quote-sized buy opens or adds
    signed = _signed(order.side, order.quantity)
    return (
        position != ZERO and (position > ZERO) != (signed > ZERO) and abs(signed) <= abs(position)
    )


@dataclass
class _DayBook:
    """One bot's equity at the start of its current UTC day and now."""

    day: date
    start: Decimal
    equity: Decimal


@dataclass
class _Book:
    portfolio: Portfolio
    open_orders: OpenOrders


class _RateWindow:
    def __init__(self) -> None:
        self._times: deque[datetime] = deque()

    def count(self, now: datetime) -> int:
        horizon = now - ORDER_RATE_WINDOW
        while self._times and self._times[0] <= horizon:
            self._times.popleft()
        return sum(1 for t in self._times if t <= now)

    def add(self, now: datetime) -> None:
        self._times.append(now)


class GlobalRisk:
    """Station-wide limits summed across bots, and the kill switch.

    Daily losses are kept here per bot rather than in each bot's manager, so stopping
    and restarting a bot the same day does not wipe the loss it already took.
    """

    def __init__(
        self,
        limits: RiskLimits | None = None,
        bus: EventBus | None = None,
        *,
        store: KillSwitchStore | None = None,
    ) -> None:
        self.limits = limits if limits is not None else RiskLimits()
        self._bus = bus
        # The switch outlives the process: an engaged one stays engaged after a restart.
        self._store = store
        stored = store.load() if store is not None else None
        self._switch = stored if stored is not None else KillSwitchState()
        self._books: dict[str | None, _Book] = {}
        self._days: dict[str | None, _DayBook] = {}
        self._peak_total: Decimal | None = None
        self._rate = _RateWindow()
        self._bot_limits: dict[str | None, tuple[RiskLimits, PositionStops]] = {}

    # -- kill switch -------------------------------------------------------------------

    @property
    def kill_switch(self) -> KillSwitchState:
        return self._switch

    def engage(self, actor: str, reason: str, now: datetime) -> KillSwitchState:
        """Refuse every new order, in memory at once and then in the store.

        Safety first: a store that cannot be written does not keep the switch from
        acting now; the failure is logged, and the switch holds until this process ends.
        """
        self._switch = KillSwitchState(True, actor, reason, now)
        log.warning("%s", self._switch.describe())
        if self._store is not None:
            try:
                self._store.save(self._switch)
            except Exception:
                log.exception("the engaged kill switch could not be stored")
        self._publish_switch(now)
        return self._switch

    def release(self, actor: str, now: datetime) -> KillSwitchState:
        """Let orders through again; stored first, so a failed write leaves it engaged."""
        released = KillSwitchState(False, actor, None, now)
        if self._store is not None:
            self._store.save(released)
        self._switch = released
        log.warning("kill switch released by %s", actor)
        self._publish_switch(now)
        return self._switch

    def _publish_switch(self, now: datetime) -> None:
        if self._bus is not None:
            s = self._switch
            self._bus.publish(KillSwitchChanged(now, s.engaged, s.actor or "", s.reason))

    # -- books -------------------------------------------------------------------------

    def attach(
        self,
        bot_id: str | None,
        portfolio: Portfolio,
        open_orders: OpenOrders,
        limits: RiskLimits | None = None,
        stops: PositionStops | None = None,
    ) -> None:
        """Count this book in the station-wide sums (while its bot runs)."""
        self._books[bot_id] = _Book(portfolio, open_orders)
        self._bot_limits[bot_id] = (limits or RiskLimits(), stops or PositionStops())

    def detach(self, bot_id: str | None) -> None:
        """Stop counting the book's position and orders; its day's loss stays counted."""
        self._books.pop(bot_id, None)
        self._bot_limits.pop(bot_id, None)

    def bot_limits(self) -> dict[str | None, tuple[RiskLimits, PositionStops]]:
        """The limits of every attached (running) bot."""
        return dict(self._bot_limits)

    # -- marks -------------------------------------------------------------------------

    def on_mark(self, bot_id: str | None, equity: Decimal, now: datetime) -> None:
        """Feed a bot's marked equity; a new UTC day starts its daily loss at zero."""
        today = now.date()
        book = self._days.get(bot_id)
        if book is None or book.day != today:
            self._days[bot_id] = _DayBook(today, equity, equity)
        else:
            book.equity = equity
        total = self.total_equity
        if self._peak_total is None or total > self._peak_total:
            self._peak_total = total

    def day_of(self, bot_id: str | None) -> tuple[date, Decimal] | None:
        """The bot's current daily-loss day and its equity at the start of it."""
        book = self._days.get(bot_id)
        return None if book is None else (book.day, book.start)

    def restore_day(self, bot_id: str | None, day: date, start: Decimal) -> None:
        """Continue a daily-loss count a previous run of the station began."""
        self._days[bot_id] = _DayBook(day, start, start)

    def daily_loss(self, bot_id: str | None) -> Decimal:
        book = self._days.get(bot_id)
        return max(book.start - book.equity, ZERO) if book else ZERO

    @property
    def total_daily_loss(self) -> Decimal:
        return max(sum((b.start - b.equity for b in self._days.values()), ZERO), ZERO)

    @property
    def total_equity(self) -> Decimal:
        return sum((b.equity for b in self._days.values()), ZERO)

    @property
    def peak_equity(self) -> Decimal | None:
        return self._peak_total

    @property
    def drawdown(self) -> Decimal:
        peak = self._peak_total
        if peak is None or peak <= ZERO:
            return ZERO
        return max(peak - self.total_equity, ZERO) / peak

    # -- sums for the checks -------------------------------------------------------------

    def books_with(
        self, bot_id: str | None, portfolio: Portfolio, open_orders: Sequence[Order]
    ) -> list[tuple[Portfolio, Sequence[Order]]]:
        """Every attached book, with ``bot_id``'s replaced by the one being checked."""
        books: list[tuple[Portfolio, Sequence[Order]]] = [(portfolio, open_orders)]
        for other, book in self._books.items():
            if other != bot_id:
                books.append((book.portfolio, book.open_orders()))
        return books

    def open_orders_elsewhere(self, bot_id: str | None) -> int:
        return sum(len(b.open_orders()) for k, b in self._books.items() if k != bot_id)

    def count_order(self, now: datetime) -> None:
        self._rate.add(now)

    def orders_in_window(self, now: datetime) -> int:
        return self._rate.count(now)


class PositionStopper:
    """Stop-loss, take-profit and trailing exits for one bot's positions.

    It sees the marks, not the ticks: a stop is decided on a bar's close and the exit
    (a market order for the whole position) fills at the next price the venue offers.
    """

    def __init__(self, stops: PositionStops) -> None:
        self.stops = stops
        self._best: dict[str, Decimal] = {}
        self._side: dict[str, int] = {}
        self._exits: set[str] = set()

    def track(self, order: Order) -> None:
        """Remember an exit we sent, so the next bar does not send it twice."""
        self._exits.add(order.client_order_id)

    def decide(
        self,
        bot_id: str | None,
        position: Position,
        price: Decimal,
        open_orders: Sequence[Order],
    ) -> tuple[SubmitOrder, str] | None:
        """The exit order for ``position`` at ``price``, with why; None to hold."""
        symbol = position.symbol
        entry = position.average_price
        if position.is_flat or entry is None or entry <= ZERO:
            self._best.pop(symbol, None)
            self._side.pop(symbol, None)
            return None
        long = position.quantity > ZERO
        side = 1 if long else -1
        if self._side.get(symbol) != side:  # a new position (or flipped): trail afresh
            self._best[symbol] = entry
            self._side[symbol] = side
        best = self._best[symbol]
        best = max(best, price) if long else min(best, price)
        self._best[symbol] = best
        live = {o.client_order_id for o in open_orders}
        self._exits &= live
        if self._exits:
            return None  # an exit is already working
        reason = self._reason(long, entry, best, price)
        if reason is None:
            return None
        command = SubmitOrder(
            symbol=symbol,
            side=OrderSide.SELL if long else OrderSide.BUY,
            type=OrderType.MARKET,
            quantity=abs(position.quantity),
            bot_id=bot_id,
            tag=f"risk stop: {reason}"[:128],
        )
        return command, reason

    def _reason(self, long: bool, entry: Decimal, best: Decimal, price: Decimal) -> str | None:
        s = self.stops
        move = (price - entry) / entry * _HUNDRED * (1 if long else -1)
        what = f"{fmt(price)} against an average entry of {fmt(entry)}"
        if s.stop_loss_pct is not None and move <= -s.stop_loss_pct:
            return f"stop-loss: {what} is a loss of {fmt(-move.quantize(Decimal('0.01')))} %, the stop is {fmt(s.stop_loss_pct)} %"
        if s.take_profit_pct is not None and move >= s.take_profit_pct:
            return f"take-profit: {what} is a gain of {fmt(move.quantize(Decimal('0.01')))} %, the target is {fmt(s.take_profit_pct)} %"
        if s.trailing_stop_pct is not None and best > ZERO:
            retrace = (best - price) / best * _HUNDRED * (1 if long else -1)
            if retrace >= s.trailing_stop_pct:
                return (
                    f"trailing stop: {fmt(price)} is {fmt(retrace.quantize(Decimal('0.01')))} % off "
                    f"the best price {fmt(best)} since entry, the trail is {fmt(s.trailing_stop_pct)} %"
                )
        return None


class RiskManager:
    """One bot's limits and stops, plus its share of the station's ``GlobalRisk``.

    A breach whose kind the limits list in ``pause_on`` pauses the bot: ``pause_reason``
    is set (the runtime stops calling the strategy) and a ``RiskBreached`` event with
    ``paused`` tells the services and the faces.
    """

    def __init__(
        self,
        bot_id: str | None,
        limits: RiskLimits | None = None,
        stops: PositionStops | None = None,
        *,
        global_risk: GlobalRisk | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.bot_id = bot_id
        self.limits = limits if limits is not None else RiskLimits()
        self.stops = stops if stops is not None else PositionStops()
        self.global_risk = global_risk if global_risk is not None else GlobalRisk()
        self.stopper = PositionStopper(self.stops)
        self._bus = bus
        self._rate = _RateWindow()
        self._peak: Decimal | None = None
        self._equity: Decimal | None = None
        self._quote = ""
        self._pause: RiskBreach | None = None

    # -- wiring ------------------------------------------------------------------------

    def attach(self, portfolio: Portfolio, open_orders: OpenOrders) -> None:
        """Called by the order manager that consults this risk manager."""
        self._quote = portfolio.quote
        self.global_risk.attach(self.bot_id, portfolio, open_orders, self.limits, self.stops)

    def detach(self) -> None:
        self.global_risk.detach(self.bot_id)

    def resume(self) -> None:
        """A trader looked at the pause: trade again, the drawdown measured afresh."""
        self._pause = None
        self._peak = self._equity

    def marks(self) -> RiskMarks:
        """What the loss limits have measured, to store with the bot's progress."""
        day = self.global_risk.day_of(self.bot_id)
        return RiskMarks(
            peak=self._peak,
            day=None if day is None else day[0],
            day_start=None if day is None else day[1],
        )

    def restore(self, marks: RiskMarks) -> None:
        """Continue from a previous run's marks (a resumed bot): the drawdown from the
        stored peak, the daily loss from the stored start of the day."""
        self._peak = marks.peak
        if marks.day is not None and marks.day_start is not None:
            self.global_risk.restore_day(self.bot_id, marks.day, marks.day_start)

    @property
    def pause_reason(self) -> str | None:
        """Why the bot is paused (the breach's message), or None while it may trade."""
        return None if self._pause is None else self._pause.message

    # -- state -------------------------------------------------------------------------

    @property
    def daily_loss(self) -> Decimal:
        return self.global_risk.daily_loss(self.bot_id)

    @property
    def drawdown(self) -> Decimal:
        if self._peak is None or self._equity is None or self._peak <= ZERO:
            return ZERO
        return max(self._peak - self._equity, ZERO) / self._peak

    # -- the checks --------------------------------------------------------------------

    def check(
        self, order: Order, portfolio: Portfolio, open_orders: Sequence[Order], now: datetime
    ) -> str | None:
        """A denial reason naming the limit and the numbers, or None to let it go."""
        breach = self.evaluate(order, portfolio, open_orders, now)
        return None if breach is None else breach.message

    def evaluate(
        self, order: Order, portfolio: Portfolio, open_orders: Sequence[Order], now: datetime
    ) -> RiskBreach | None:
        """Like ``check``, with the breach's kind and whether it paused the bot."""
        self._quote = portfolio.quote
        breach = self._first_breach(order, portfolio, open_orders, now)
        if breach is None:
            self._rate.add(now)
            self.global_risk.count_order(now)
            return None
        self._report(breach, now)
        return breach

    def on_mark(self, equity: Decimal, now: datetime) -> RiskBreach | None:
        """Feed the bot's marked equity; a loss or drawdown beyond a limit is a breach."""
        self._equity = equity
        if self._peak is None or equity > self._peak:
            self._peak = equity
        self.global_risk.on_mark(self.bot_id, equity, now)
        if self._pause is not None:
            return None
        # only a pausing breach is news on a mark; the others wait for the next order
        breach = next((b for b in self._loss_breaches() if b.pause), None)
        if breach is not None:
            self._report(breach, now)
        return breach

    def exit_orders(
        self, symbol: str, portfolio: Portfolio, price: Decimal, open_orders: Sequence[Order]
    ) -> list[tuple[SubmitOrder, str]]:
        """The stops' exits for ``symbol`` at ``price`` (the runtime sends them)."""
        if self.stops.is_empty:
            return []
        decided = self.stopper.decide(self.bot_id, portfolio.position(symbol), price, open_orders)
        return [] if decided is None else [decided]

    # -- internals ---------------------------------------------------------------------

    def _report(self, breach: RiskBreach, now: datetime) -> None:
        paused = breach.pause and self._pause is None
        if paused:
            self._pause = breach
            log.warning("bot %s paused by a risk limit: %s", self.bot_id, breach.message)
        if self._bus is not None:
            self._bus.publish(
                RiskBreached(
                    now, self.bot_id, breach.kind.value, breach.scope, breach.message, paused
                )
            )

    def _first_breach(
        self, order: Order, portfolio: Portfolio, open_orders: Sequence[Order], now: datetime
    ) -> RiskBreach | None:
        switch = self.global_risk.kill_switch
        if switch.engaged:
            return RiskBreach(
                K.KILL_SWITCH,
                f"{switch.describe()}; every new order is refused until it is released",
                pause=False,
                scope="global",
            )
        position = portfolio.position(order.symbol).quantity
        reducing = _reduces(order, position)
        if self._pause is not None and not reducing:
            return RiskBreach(
                self._pause.kind,
                f"the bot is paused by a risk limit ({self._pause.message}); "
                f"only orders that reduce a position are sent",
                pause=False,
                scope=self._pause.scope,
            )
        for check in (self._open_orders_breach, self._rate_breach):
            breach = check(open_orders, now)
            if breach is not None:
                return breach
        if reducing:
            return None
        price = _reference_price(order, portfolio)
        return (
            self._notional_breach(order, price)
            or self._position_breach(order, portfolio, open_orders, price)
            or next(iter(self._loss_breaches()), None)
        )

    def _scoped(self) -> list[tuple[str, str, RiskLimits]]:
        """(scope, how a message names the limit, limits): the bot's first."""
        return [
            ("bot", "the bot's limit", self.limits),
            ("global", "the station's limit", self.global_risk.limits),
        ]

    def _open_orders_breach(self, open_orders: Sequence[Order], now: datetime) -> RiskBreach | None:
        g = self.global_risk
        for scope, named, limits in self._scoped():
            cap = limits.max_open_orders
            if cap is None:
                continue
            if scope == "bot":
                count = len(open_orders)
            else:
                count = len(open_orders) + g.open_orders_elsewhere(self.bot_id)
            if count + 1 > cap:
                return self._breach(
                    K.MAX_OPEN_ORDERS,
                    scope,
                    limits,
                    f"{count} orders already open, {named} is {cap} open orders; "
                    f"cancel one or wait for fills",
                )
        return None

    def _rate_breach(self, _open: Sequence[Order], now: datetime) -> RiskBreach | None:
        for scope, named, limits in self._scoped():
            cap = limits.max_orders_per_minute
            if cap is None:
                continue
            count = (
                self._rate.count(now) if scope == "bot" else self.global_risk.orders_in_window(now)
            )
            if count + 1 > cap:
                return self._breach(
                    K.MAX_ORDERS_PER_MINUTE,
                    scope,
                    limits,
                    f"{count} orders sent in the last minute, {named} is {cap} per minute; "
                    f"the strategy may be looping: check it before raising the limit",
                )
        return None

    def _notional_breach(self, order: Order, price: Decimal | None) -> RiskBreach | None:
        for scope, named, limits in self._scoped():
            cap = limits.max_order_notional
            if cap is None:
                continue
            if order.quote_quantity is not None:
                notional = order.quote_quantity
            elif price is not None and order.quantity is not None:
                notional = order.quantity * price
            else:
                return self._breach(
                    K.MAX_ORDER_NOTIONAL,
                    scope,
                    limits,
                    f"no price known for {order.symbol} yet, so the order notional cannot be "
                    f"checked against {named} {fmt(cap)} {self._quote}; give a limit price",
                )
            if notional > cap:
                return self._breach(
                    K.MAX_ORDER_NOTIONAL,
                    scope,
                    limits,
                    f"order notional {fmt(notional)} {self._quote} above {named} "
                    f"{fmt(cap)} {self._quote}; make the order smaller or raise the limit",
                )
        return None

    def _position_breach(
        self,
        order: Order,
        portfolio: Portfolio,
        open_orders: Sequence[Order],
        price: Decimal | None,
    ) -> RiskBreach | None:
        qty = _base_quantity(order, price)
        if qty is None:
            return None
        base = order.symbol.split("/")[0]
        for scope, named, limits in self._scoped():
            cap = limits.max_position
            if cap is None:
                continue
            books = (
                [(portfolio, open_orders)]
                if scope == "bot"
                else self.global_risk.books_with(self.bot_id, portfolio, open_orders)
            )
            held = sum((p.position(order.symbol).quantity for p, _ in books), ZERO)
            working = sum(
                (_working(orders, order.symbol, order.side, price) for _, orders in books), ZERO
            )
            after = held + _signed(order.side, working + qty)
            if abs(after) > cap:
                return self._breach(
                    K.MAX_POSITION,
                    scope,
                    limits,
                    f"{order.symbol} position would reach {fmt(abs(after))} {base} (holding "
                    f"{fmt(held)}, {fmt(working)} on working orders, {fmt(qty)} on this order) "
                    f"above {named} {fmt(cap)} {base}; trade smaller or raise the limit",
                )
        return None

    def _loss_breaches(self) -> list[RiskBreach]:
        """Every loss limit crossed now: the bot's first, then the station's."""
        found: list[RiskBreach] = []
        g = self.global_risk
        quote = self._quote
        for scope, named, limits in self._scoped():
            cap = limits.max_daily_loss
            loss = self.daily_loss if scope == "bot" else g.total_daily_loss
            if cap is not None and loss > cap:
                found.append(
                    self._breach(
                        K.MAX_DAILY_LOSS,
                        scope,
                        limits,
                        f"daily loss {fmt(loss)} {quote} since 00:00 UTC above {named} "
                        f"{fmt(cap)} {quote}; new orders are refused until the next UTC day "
                        f"(stop the bot and review the strategy, or raise the limit)",
                    )
                )
        for scope, named, limits in self._scoped():
            cap = limits.max_drawdown
            if cap is None:
                continue
            dd = self.drawdown if scope == "bot" else g.drawdown
            peak = self._peak if scope == "bot" else g.peak_equity
            if dd > cap:
                found.append(
                    self._breach(
                        K.MAX_DRAWDOWN,
                        scope,
                        limits,
                        f"drawdown {_pct(dd)} from peak equity {fmt(peak or ZERO)} {quote} above "
                        f"{named} {_pct(cap)}; review the strategy, then resume or restart the bot",
                    )
                )
        return found

    def _breach(
        self, kind: RiskLimitKind, scope: str, limits: RiskLimits, message: str
    ) -> RiskBreach:
        return RiskBreach(kind, message, pause=limits.pauses(kind), scope=scope)
