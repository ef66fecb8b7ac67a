"""Orders a venue lacks, emulated by the bot runtime, and the strategy's timers.

A spot account cannot lock the same coins for two resting orders, and most venues have
no trailing stops, so the runtime keeps linked orders itself and advances them once per
closed bar (``EmulatedOrders.step``, called after the strategy's ``on_bar`` and before
the bar's new orders are sent):

- **OCO** (one-cancels-the-other): the limit leg rests at the venue; the stop leg is
  *watched*: when a closed bar trades through its trigger (a sell stop: low <= trigger;
  a buy stop: high >= trigger) the limit leg is canceled and the stop is sent as a
  market order (a limit order at its limit price for a stop-limit), so it fills at the
  next bar's open. As soon as the limit leg has any fill, the watched stop is dropped.
- **Bracket**: the entry is sent (market, or limit at the entry price); once it is done
  (filled, or canceled after a partial fill) an OCO of exits for the filled quantity
  follows: a take-profit limit and a watched stop-loss. The stop-loss is checked against
  the bar in which the entry filled too: a bar's high and low may come after the fill,
  so the emulation assumes the worst.
- **Trailing stop**: a sell trails the highest high since it was placed, a buy the
  lowest low, ``trail`` (a fraction) behind it; the level only ratchets in the trade's
  favour. Where the venue has stop-market orders the level rests there (it fills inside
  the bar, at the trigger or a worse open) and is replaced each bar it moves; elsewhere
  it is watched like an OCO stop.
- **Watched stop**: ``ctx.stop`` on a venue without stop orders.

**Mixed mode** (the bot proposes, the trader approves): an emulated leg that *buys*
(a bracket's entry, a buy stop or OCO: on a spot account, what opens or adds to a
position) becomes a proposal like any other order of the bot, and its group waits for
the decision; a rejected or expired proposal ends the group. Legs that *sell* are the
protection of a position the trader already approved (stop-loss, take-profit, trailing
stop) and go out at once: a stop that waits for a click is not a stop.

A leg the trader (or a risk exit) cancels, or the venue refuses, ends its group: an OCO
with a dead leg is no longer an OCO. Limits of an emulation on candles: within one bar
the order of the high and the low is unknown, and a watched stop fills a bar late.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.commands import CancelOrder, SubmitOrder
from task_station.domain.errors import NotFoundError, ValidationError
from task_station.domain.events import OrderDenied, OrderFilled, OrderUpdated, ProposalDecided
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import Order, OrderSide, OrderType
from task_station.domain.proposals import Proposal
from task_station.engine.bus import EventBus
from task_station.engine.order_manager import OrderManager
from task_station.strategies.common import round_price, round_size

__all__ = ["EmulatedOrders", "Timers", "round_price", "round_size", "stop_hit"]

log = logging.getLogger(__name__)


#: Decides whether an emulated leg is proposed to the trader (returns the proposal) or
#: sent at once (returns None); see ``BotRuntime`` for a mixed-mode bot's rule.
Gate = Callable[[SubmitOrder], Awaitable[Proposal | None]]


def stop_hit(side: OrderSide, trigger: Decimal, candle: Candle) -> bool:
    """True if ``candle`` traded through a ``side`` stop at ``trigger``."""
    return candle.low <= trigger if side is OrderSide.SELL else candle.high >= trigger


@dataclass(slots=True)
class Leg:
    """One order of a group: at the venue once ``cid`` is set, else only planned."""

    side: OrderSide
    quantity: Decimal
    type: OrderType
    price: Decimal | None = None
    trigger: Decimal | None = None
    cid: str | None = None
    order: Order | None = None
    failed: bool = False
    #: Set while the leg waits for the trader's approval (a mixed-mode bot's buy).
    proposal_id: str | None = None
    #: Why it is sent: the order's tag, the trade table's entry or exit reason.
    tag: str | None = None

    @property
    def filled(self) -> Decimal:
        return self.order.filled_quantity if self.order is not None else ZERO

    @property
    def done(self) -> bool:
        """Nothing more can happen to it: terminal at the venue, or never sent."""
        return self.failed or (self.order is not None and self.order.status.is_terminal)

    @property
    def working(self) -> bool:
        return self.cid is not None and not self.done


@dataclass(slots=True)
class Oco:
    """A resting limit leg and a watched stop leg; the first to trade cancels the other."""

    limit: Leg
    stop: Leg  # watched: sent (as market or limit) only when a bar trades its trigger
    armed: bool = False  # False on the bar it was placed: that bar happened before it
    stop_sent: bool = False
    winner: Leg | None = None
    label: str = "oco"


@dataclass(slots=True)
class Bracket:
    entry: Leg
    stop_loss: Decimal
    take_profit: Decimal
    exits: Oco | None = None


@dataclass(slots=True)
class Trailing:
    side: OrderSide
    quantity: Decimal
    trail: Decimal
    extreme: Decimal  # best price since placed: highest high (sell) or lowest low (buy)
    level: Decimal
    native: bool  # rests at the venue as a stop-market order, replaced when it moves
    leg: Leg | None = None
    armed: bool = False
    fired: bool = False  # a watched trailing stop that has been sent as a market order
    levels: list[Decimal] = field(default_factory=list)  # every level it has had


@dataclass(slots=True)
class WatchedStop:
    leg: Leg  # type STOP_MARKET or STOP_LIMIT: the trigger is checked here
    armed: bool = False
    sent: bool = False


Group = Oco | Bracket | Trailing | WatchedStop


class EmulatedOrders:
    """The emulated orders of one bot; ``step`` advances them once per closed bar."""

    def __init__(
        self,
        *,
        bot_id: str,
        instrument: Instrument,
        orders: OrderManager,
        bus: EventBus,
        native_stops: bool,
        gate: Gate | None = None,
    ) -> None:
        self._bot_id = bot_id
        self._instrument = instrument
        self._orders = orders
        self._native_stops = native_stops
        # A mixed-mode bot's gate: returns the proposal a leg became, or None to send it.
        self._gate = gate
        self._decided: dict[str, Proposal] = {}
        self.groups: list[Group] = []
        #: Latest state of this bot's orders, as the order manager published it.
        self._latest: dict[str, Order] = {}
        self._unsubscribe = [
            bus.subscribe(OrderUpdated, lambda e: self._observe(e.order)),
            bus.subscribe(OrderFilled, lambda e: self._observe(e.order)),
            bus.subscribe(OrderDenied, lambda e: self._observe(e.order)),
            bus.subscribe(ProposalDecided, self._on_decided),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    @property
    def active(self) -> bool:
        return bool(self.groups)

    # -- what the strategy asks for (validated here, acted on in ``step``) ------------

    def add_oco(
        self,
        side: OrderSide,
        quantity: Decimal,
        price: Decimal,
        trigger: Decimal,
        stop_limit: Decimal | None,
    ) -> Oco:
        _positive(quantity=quantity, price=price, trigger_price=trigger)
        if stop_limit is not None:
            _positive(stop_limit_price=stop_limit)
        if side is OrderSide.SELL and not trigger < price:
            raise ValidationError(
                f"OCO sell: the stop ({trigger}) must be below the limit ({price})"
            )
        if side is OrderSide.BUY and not trigger > price:
            raise ValidationError(
                f"OCO buy: the stop ({trigger}) must be above the limit ({price})"
            )
        group = Oco(
            self._limit_leg(side, quantity, price, tag="oco limit"),
            self._stop_leg(side, quantity, trigger, stop_limit, tag="oco stop"),
        )
        self.groups.append(group)
        return group

    def add_bracket(
        self,
        side: OrderSide,
        quantity: Decimal,
        entry_price: Decimal | None,
        stop_loss: Decimal,
        take_profit: Decimal,
    ) -> Bracket:
        _positive(quantity=quantity, stop_loss=stop_loss, take_profit=take_profit)
        if entry_price is not None:
            _positive(entry_price=entry_price)
        if side is OrderSide.BUY:
            low, high, what = stop_loss, take_profit, "stop_loss < entry_price < take_profit"
        else:
            low, high, what = take_profit, stop_loss, "take_profit < entry_price < stop_loss"
        if not low < high or (entry_price is not None and not low < entry_price < high):
            raise ValidationError(
                f"bracket {side.value}: needs {what} (entry {entry_price}, stop_loss "
                f"{stop_loss}, take_profit {take_profit})"
            )
        entry = (
            Leg(side, quantity, OrderType.MARKET, tag="bracket entry")
            if entry_price is None
            else self._limit_leg(side, quantity, entry_price, tag="bracket entry")
        )
        group = Bracket(entry, stop_loss, take_profit)
        self.groups.append(group)
        return group

    def add_trailing(
        self,
        side: OrderSide,
        quantity: Decimal,
        trail: Decimal,
        last_price: Callable[[], Decimal],
    ) -> Trailing:
        """A trailing stop starting from ``last_price()`` (asked once the rest is valid)."""
        _positive(quantity=quantity, trail_pct=trail)
        if trail >= 1:
            raise ValidationError(
                f"trail_pct is a fraction of the price (0.02 means 2 %), got {trail}"
            )
        reference = last_price()
        level = self._trail_level(side, reference, trail)
        group = Trailing(side, quantity, trail, reference, level, self._native_stops)
        group.levels.append(level)
        self.groups.append(group)
        return group

    def add_stop(
        self, side: OrderSide, quantity: Decimal, trigger: Decimal, limit: Decimal | None
    ) -> WatchedStop:
        _positive(quantity=quantity, trigger_price=trigger)
        if limit is not None:
            _positive(limit_price=limit)
        group = WatchedStop(self._stop_leg(side, quantity, trigger, limit, tag="stop"))
        self.groups.append(group)
        return group

    def drop_all(self) -> None:
        """Forget every group (their venue legs are canceled with the bot's orders)."""
        self.groups.clear()

    # -- once per bar ------------------------------------------------------------------

    async def step(self, candle: Candle) -> None:
        """Advance every group against the bar that just closed."""
        for group in list(self.groups):
            if isinstance(group, Oco):
                finished = await self._step_oco(group, candle)
            elif isinstance(group, Bracket):
                finished = await self._step_bracket(group, candle)
            elif isinstance(group, Trailing):
                finished = await self._step_trailing(group, candle)
            else:
                finished = await self._step_stop(group, candle)
            if finished and group in self.groups:
                self.groups.remove(group)
        keep = {leg.cid for group in self.groups for leg in _legs(group) if leg.cid}
        self._latest = {cid: o for cid, o in self._latest.items() if cid in keep}

    async def _step_oco(self, group: Oco, candle: Candle) -> bool:
        limit, stop = group.limit, group.stop
        self._refresh(limit, stop)
        if limit.cid is None and not limit.failed and not group.stop_sent:
            if group.armed and stop_hit(stop.side, self._trigger(stop), candle):
                # The exits of a bracket whose entry bar already broke the stop.
                return await self._fire_stop(group, stop)
            await self._send(limit)
        if group.winner is None:
            if limit.filled > ZERO:
                group.winner = limit  # the watched stop is simply never sent
            elif limit.done:
                why = limit.order.reason if limit.order is not None else "not sent"
                log.info("bot %s: %s limit leg ended unfilled (%s); the stop leg is dropped",
                         self._bot_id, group.label, why)  # fmt: skip
                return True
            elif group.armed and stop_hit(stop.side, self._trigger(stop), candle):
                return await self._fire_stop(group, stop)
        group.armed = True
        winner = group.winner
        return winner is not None and winner.done

    async def _fire_stop(self, group: Oco, stop: Leg) -> bool:
        """The watched stop traded: cancel the limit leg, send what it left unfilled."""
        limit = group.limit
        if limit.working:
            await self._cancel(limit)
            self._refresh(limit)
        group.stop_sent = group.armed = True
        remaining = round_size(self._instrument, stop.quantity - limit.filled)
        if remaining <= ZERO:  # the limit leg filled in full before the cancel landed
            group.winner = limit
            return limit.done
        stop.quantity = remaining
        group.winner = stop
        await self._send(stop, watched=True)
        return stop.done

    async def _step_bracket(self, group: Bracket, candle: Candle) -> bool:
        entry = group.entry
        if group.exits is None:
            if entry.cid is None and not entry.failed:
                await self._send(entry)
            self._refresh(entry)
            if not entry.done:
                return False
            filled = round_size(self._instrument, entry.filled)
            if filled <= ZERO:
                return True
            exit_side = OrderSide.SELL if entry.side is OrderSide.BUY else OrderSide.BUY
            group.exits = Oco(
                self._limit_leg(exit_side, filled, group.take_profit, tag="take profit"),
                self._stop_leg(exit_side, filled, group.stop_loss, None, tag="stop loss"),
                armed=True,  # judged on the entry's own bar too (see the module notes)
                label="bracket exit",
            )
        return await self._step_oco(group.exits, candle)

    async def _step_trailing(self, group: Trailing, candle: Candle) -> bool:
        leg = group.leg
        if leg is not None:
            self._refresh(leg)
            if leg.filled > ZERO or group.fired:
                return leg.done  # it fired: wait until it has finished filling
            if leg.done:
                why = leg.order.reason if leg.order is not None else "not sent"
                log.info("bot %s: trailing stop ended unfilled (%s)", self._bot_id, why)
                return True
        if not group.native and group.armed and stop_hit(group.side, group.level, candle):
            group.leg = Leg(group.side, group.quantity, OrderType.MARKET, tag="trailing stop")
            group.fired = True
            await self._send(group.leg)
            return group.leg.done
        if group.armed:
            if group.side is OrderSide.SELL:
                group.extreme = max(group.extreme, candle.high)
            else:
                group.extreme = min(group.extreme, candle.low)
            level = self._trail_level(group.side, group.extreme, group.trail)
            better = level > group.level if group.side is OrderSide.SELL else level < group.level
            if better:
                group.level = level
                group.levels.append(level)
                if group.native and leg is not None and leg.working:
                    await self._cancel(leg)
                    self._refresh(leg)
                    if leg.filled > ZERO:  # it fired before the cancel landed
                        return leg.done
                    group.leg = None
        group.armed = True
        if group.native and (group.leg is None or group.leg.done):
            group.leg = Leg(
                group.side,
                group.quantity,
                OrderType.STOP_MARKET,
                trigger=group.level,
                tag="trailing stop",
            )
            await self._send(group.leg)
            if group.leg.failed:
                return True
        return False

    async def _step_stop(self, group: WatchedStop, candle: Candle) -> bool:
        leg = group.leg
        if group.sent:
            self._refresh(leg)
            return leg.done
        if group.armed and stop_hit(leg.side, self._trigger(leg), candle):
            group.sent = True
            await self._send(leg, watched=True)
            return leg.done
        group.armed = True
        return False

    # -- helpers -------------------------------------------------------------------------

    def _limit_leg(self, side: OrderSide, quantity: Decimal, price: Decimal, *, tag: str) -> Leg:
        return Leg(side, quantity, OrderType.LIMIT, price=price, tag=tag)

    def _stop_leg(
        self,
        side: OrderSide,
        quantity: Decimal,
        trigger: Decimal,
        limit: Decimal | None,
        *,
        tag: str,
    ) -> Leg:
        kind = OrderType.STOP_MARKET if limit is None else OrderType.STOP_LIMIT
        return Leg(side, quantity, kind, price=limit, trigger=trigger, tag=tag)

    @staticmethod
    def _trigger(leg: Leg) -> Decimal:
        assert leg.trigger is not None
        return leg.trigger

    def _trail_level(self, side: OrderSide, extreme: Decimal, trail: Decimal) -> Decimal:
        if side is OrderSide.SELL:
            return round_price(self._instrument, extreme * (1 - trail), up=False)
        return round_price(self._instrument, extreme * (1 + trail), up=True)

    def _observe(self, order: Order) -> None:
        if order.bot_id == self._bot_id and order.symbol == self._instrument.symbol:
            self._latest[order.client_order_id] = order

    def _on_decided(self, event: ProposalDecided) -> None:
        if event.proposal.bot_id == self._bot_id:
            self._decided[event.proposal.id] = event.proposal

    def _refresh(self, *legs: Leg) -> None:
        for leg in legs:
            if leg.cid is None and leg.proposal_id is not None:
                self._settle(leg)
            if leg.cid is not None:
                leg.order = self._latest.get(leg.cid, leg.order)

    def _settle(self, leg: Leg) -> None:
        """A leg waiting for approval takes the trader's decision once there is one."""
        assert leg.proposal_id is not None
        decided = self._decided.pop(leg.proposal_id, None)
        if decided is None:
            return  # still pending
        leg.proposal_id = None
        if decided.client_order_id is None:
            log.info("bot %s: emulated %s leg not sent: proposal %s", self._bot_id,
                     leg.side.value, decided.status.value)  # fmt: skip
            leg.failed = True
            return
        leg.cid = decided.client_order_id
        leg.quantity = decided.order.quantity or leg.quantity  # the trader may have edited it
        leg.order = self._latest.get(leg.cid, leg.order)

    async def _send(self, leg: Leg, *, watched: bool = False) -> None:
        """Submit ``leg``; a watched stop goes out as the order its trigger releases.

        A mixed-mode bot's gate may turn the leg into a proposal instead: the leg then
        waits (neither working nor done) until the trader decides, and the group goes
        on from there; asking again while it waits changes nothing.
        """
        if leg.proposal_id is not None:
            self._refresh(leg)
            return
        kind, trigger = leg.type, leg.trigger
        if watched or (kind.is_stop and not self._native_stops):
            kind = OrderType.LIMIT if kind is OrderType.STOP_LIMIT else OrderType.MARKET
            trigger = None
        command = SubmitOrder(
            symbol=self._instrument.symbol,
            side=leg.side,
            type=kind,
            quantity=leg.quantity,
            price=leg.price if kind.has_limit_price else None,
            trigger_price=trigger,
            bot_id=self._bot_id,
            tag=leg.tag,
        )
        try:
            if self._gate is not None:
                proposal = await self._gate(command)
                if proposal is not None:
                    leg.proposal_id = proposal.id
                    if not proposal.is_pending:  # auto-approved (and sent) at once
                        self._decided[proposal.id] = proposal
                    self._refresh(leg)
                    return
            order = await self._orders.submit(command)
        except Exception:
            log.exception("bot %s: emulated order %s could not be sent", self._bot_id, command)
            leg.failed = True
            return
        leg.cid = order.client_order_id
        leg.order = self._latest.get(leg.cid, order)
        if leg.order.status.is_terminal and leg.filled == ZERO:
            log.info("bot %s: emulated %s %s refused: %s", self._bot_id, kind.value,
                     leg.side.value, leg.order.reason)  # fmt: skip

    async def _cancel(self, leg: Leg) -> None:
        assert leg.cid is not None
        with contextlib.suppress(NotFoundError):  # it finished meanwhile; its state says how
            await self._orders.cancel(CancelOrder(leg.cid, self._bot_id))


def _legs(group: Group) -> list[Leg]:
    if isinstance(group, Oco):
        return [group.limit, group.stop]
    if isinstance(group, Bracket):
        return [group.entry] + ([group.exits.limit, group.exits.stop] if group.exits else [])
    if isinstance(group, Trailing):
        return [group.leg] if group.leg is not None else []
    return [group.leg]


def _positive(**values: Decimal) -> None:
    for name, value in values.items():
        if not isinstance(value, Decimal) or not value.is_finite() or value <= ZERO:
            raise ValidationError(f"{name} must be a positive Decimal, got {value!r}")


# -- timers ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Timer:
    name: str
    bars: int | None
    period: timedelta | None
    due_bar: int
    due_at: datetime | None
    repeat: bool


class Timers:
    """Named timers counted in bars or in time, checked once per closed bar."""

    def __init__(self) -> None:
        self._timers: dict[str, _Timer] = {}

    def __bool__(self) -> bool:
        return bool(self._timers)

    def set(self, every: int | timedelta, name: str, repeat: bool, bar: int, now: datetime) -> None:
        if not name:
            raise ValidationError("a timer needs a name")
        if isinstance(every, timedelta):
            if every <= timedelta(0):
                raise ValidationError(f"timer {name!r}: the period must be positive, got {every}")
            self._timers[name] = _Timer(name, None, every, 0, now + every, repeat)
        elif isinstance(every, int) and not isinstance(every, bool) and every >= 1:
            self._timers[name] = _Timer(name, every, None, bar + every, None, repeat)
        else:
            raise ValidationError(
                f"timer {name!r}: give a number of bars (>= 1) or a timedelta, got {every!r}"
            )

    def cancel(self, name: str) -> None:
        self._timers.pop(name, None)

    def due(self, bar: int, now: datetime) -> list[str]:
        """Names due at ``bar``/``now`` (in the order they were set); re-arms repeaters."""
        fired: list[str] = []
        for timer in list(self._timers.values()):
            if timer.bars is not None and bar >= timer.due_bar:
                fired.append(timer.name)
                if timer.repeat:
                    while timer.due_bar <= bar:
                        timer.due_bar += timer.bars
                else:
                    del self._timers[timer.name]
            elif timer.period is not None and timer.due_at is not None and now >= timer.due_at:
                fired.append(timer.name)
                if timer.repeat:
                    while timer.due_at <= now:
                        timer.due_at += timer.period
                else:
                    del self._timers[timer.name]
        return fired
