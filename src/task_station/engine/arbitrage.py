"""The arbitrage runtime: snapshots in, plans executed leg by leg, leg risk handled.

Per snapshot the strategy (inside the sandbox) may return a plan. Its legs go out
through each venue's own ``OrderManager`` (so every order is write-ahead logged and
reconcilable like any other), one after the other, each awaited to a terminal state
with a timeout, or all at once when the plan says ``parallel``. A leg that does not fill
in full after another filled leaves an exposure; the plan's ``LegPolicy`` decides what
happens to it. Only the ``Venue`` protocol and ``OrderManager`` are used, so the same
runtime drives paper venues in a backtest and real ones live.

A venue exception never escapes: the leg is recorded as failed and the policy applies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from task_station.domain.arbitrage import (
    ArbLeg,
    ArbOutcome,
    ArbPlan,
    ArbTradeResult,
    LegExecution,
    LegPolicy,
    LegRole,
    MarketSnapshot,
    VenueKind,
    settle_trade,
    split_symbol,
)
from task_station.domain.bots import BotStatus
from task_station.domain.clock import Clock
from task_station.domain.commands import CancelOrder, SubmitOrder
from task_station.domain.errors import ConfigurationError, StrategyError, ValidationError
from task_station.domain.events import (
    ArbitrageAlert,
    ArbitrageTradeCompleted,
    OrderDenied,
    OrderFilled,
    OrderUpdated,
)
from task_station.domain.money import ZERO
from task_station.domain.orders import Order, OrderSide, OrderStatus, OrderType, TimeInForce
from task_station.domain.ports import OrderStore, PortfolioStore
from task_station.engine.bus import EventBus
from task_station.engine.memory import MemoryOrderStore
from task_station.engine.order_manager import OrderManager, new_client_order_id
from task_station.engine.portfolio import Portfolio
from task_station.engine.sandbox import StrategySandbox
from task_station.strategies.arbitrage.base import ArbitrageStrategy
from task_station.venues.base import Venue

log = logging.getLogger(__name__)

DEFAULT_BOT_ID = "arbitrage"


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    """How legs are sent and repaired.

    ``leg_timeout_s`` bounds the wait for a leg's terminal state (``venue_timeouts``
    overrides it per venue: a swap waits for a block). ``hedge_venues`` names, per venue,
    where a failed leg is completed under ``LegPolicy.HEDGE`` (``hedge_symbols`` renames
    the symbol there); without one the leg is retried once at market on its own venue.
    ``book_time_in_force`` is sent with order-book legs: IOC, so what does not fill at
    once fails the leg instead of resting (GTC for an exchange without IOC: the leg then
    waits for its timeout and is canceled).
    """

    leg_timeout_s: float = 10.0
    venue_timeouts: Mapping[str, float] = field(default_factory=dict)
    cancel_grace_s: float = 2.0
    hedge_venues: Mapping[str, str] = field(default_factory=dict)
    hedge_symbols: Mapping[str, str] = field(default_factory=dict)
    max_strategy_failures: int = 3
    book_time_in_force: TimeInForce = TimeInForce.IOC

    def timeout_for(self, venue: str) -> float:
        return self.venue_timeouts.get(venue, self.leg_timeout_s)


@dataclass(slots=True)
class ArbVenue:
    """One venue the arbitrage trades on, with its own order manager and book."""

    name: str
    venue: Venue
    orders: OrderManager
    portfolio: Portfolio
    kind: VenueKind = VenueKind.CEX


def arb_venue(
    venue: Venue,
    *,
    kind: VenueKind,
    bus: EventBus,
    clock: Clock,
    balances: Mapping[str, Decimal],
    bot_id: str = DEFAULT_BOT_ID,
    quote: str = "",
    store: OrderStore | None = None,
    portfolio_store: PortfolioStore | None = None,
    ids: Callable[[], str] | None = None,
) -> ArbVenue:
    """Wrap ``venue`` with an order manager over ``store`` (in memory by default) and a
    book seeded with ``balances`` (what the account holds on that venue)."""
    portfolio = Portfolio(bot_id, quote, dict(balances))
    orders = OrderManager(
        venue=venue,
        store=store if store is not None else MemoryOrderStore(),
        portfolio=portfolio,
        bus=bus,
        clock=clock,
        portfolio_store=portfolio_store,
        ids=ids or new_client_order_id,
    )
    return ArbVenue(venue.name, venue, orders, portfolio, kind)


@dataclass(slots=True)
class _Watch:
    """The latest state of one order we sent, and a signal when it changes."""

    order: Order
    changed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class _Capture:
    """Catches the client id of the order a ``submit`` call is creating."""

    venue: str
    command: SubmitOrder
    cid: str | None = None


class _Context:
    """The ``ArbitrageContext`` the runtime hands to its strategy."""

    def __init__(self, runtime: ArbitrageRuntime) -> None:
        self._rt = runtime

    @property
    def now(self) -> datetime:
        return self._rt.clock.now()

    def balance(self, venue: str, asset: str) -> Decimal:
        av = self._rt.venues.get(venue)
        if av is None:
            raise ValidationError(f"the arbitrage does not trade on {venue!r}")
        return av.portfolio.balance(asset).free

    def log(self, message: str) -> None:
        log.info("arbitrage %s: %s", self._rt.bot_id, message)

    def alert(self, message: str) -> None:
        self._rt.alert(message, pause=False)


class ArbitrageRuntime:
    """Drives one arbitrage strategy over a stream of market snapshots."""

    def __init__(
        self,
        *,
        strategy: ArbitrageStrategy,
        venues: Iterable[ArbVenue],
        snapshots: AsyncIterable[MarketSnapshot],
        bus: EventBus,
        clock: Clock,
        config: ExecutionConfig | None = None,
        bot_id: str = DEFAULT_BOT_ID,
    ) -> None:
        self.strategy = strategy
        self.venues: dict[str, ArbVenue] = {}
        for av in venues:
            if av.name in self.venues:
                raise ConfigurationError(f"venue {av.name!r} is given twice")
            if av.name != av.venue.name:
                raise ConfigurationError(f"venue {av.venue.name!r} is registered as {av.name!r}")
            self.venues[av.name] = av
        self.config = config or ExecutionConfig()
        self._check_wiring()
        self.bus = bus
        self.clock = clock
        self.bot_id = bot_id
        self._snapshots = snapshots
        self._sandbox = StrategySandbox(bot_id, self.config.max_strategy_failures)
        self._ctx = _Context(self)
        self._watches: dict[str, _Watch] = {}
        self._capture: _Capture | None = None
        self._stop = asyncio.Event()
        self.trades: list[ArbTradeResult] = []
        self.paused = False
        self.pause_reason: str | None = None
        self.snapshots_seen = 0

    def _check_wiring(self) -> None:
        needed = {venue for venue, _, _ in self.strategy.markets()}
        needed |= set(self.config.hedge_venues.values())
        missing = sorted(needed - set(self.venues))
        if missing:
            raise ConfigurationError(
                f"{self.strategy.name} needs venue(s) {', '.join(missing)}; "
                f"the runtime has {', '.join(sorted(self.venues)) or 'none'}"
            )
        for venue, symbol, kind in self.strategy.markets():
            if self.venues[venue].kind is not kind:
                raise ConfigurationError(
                    f"{self.strategy.name} trades {symbol} on {venue} as a {kind.value} venue, "
                    f"but it was registered as {self.venues[venue].kind.value}"
                )

    # -- control -------------------------------------------------------------------

    @property
    def total_pnl(self) -> Decimal:
        """Realized P&L of every trade so far, in the strategy's quote asset."""
        return sum((t.realized_pnl for t in self.trades), ZERO)

    @property
    def total_fees(self) -> Decimal:
        return sum((t.fees for t in self.trades), ZERO)

    @property
    def total_gas(self) -> Decimal:
        return sum((t.gas for t in self.trades), ZERO)

    def pause(self, reason: str) -> None:
        """Stop making new plans (snapshots are still consumed) until ``resume``."""
        self.paused, self.pause_reason = True, reason

    def resume(self) -> None:
        self.paused, self.pause_reason = False, None
        self._sandbox.consecutive_failures = 0

    def request_stop(self) -> None:
        self._stop.set()

    def alert(self, message: str, *, pause: bool) -> None:
        if pause:
            self.pause(message)
        log.warning("arbitrage %s: %s%s", self.bot_id, message, " (paused)" if pause else "")
        self.bus.publish(
            ArbitrageAlert(self.clock.now(), self.bot_id, self.strategy.name, message, pause)
        )

    async def run(self) -> BotStatus:
        """Consume snapshots until they end (FINISHED) or a stop is requested (STOPPED)."""
        async for snapshot in self._snapshots:
            if self._stop.is_set():
                break
            await self.on_snapshot(snapshot)
        return BotStatus.STOPPED if self._stop.is_set() else BotStatus.FINISHED

    async def on_snapshot(self, snapshot: MarketSnapshot) -> ArbTradeResult | None:
        """Show ``snapshot`` to the strategy and execute the plan it returns, if any."""
        self.snapshots_seen += 1
        if self.paused:
            return None
        try:
            plan = self._sandbox.call(
                "on_market", lambda: self.strategy.on_market(self._ctx, snapshot)
            )
            if plan is None:
                return None
            valid = self._sandbox.call("plan", lambda: self._check_plan(plan))
        except StrategyError as exc:
            self.alert(str(exc), pause=True)
            return None
        if not valid:
            return None
        return await self.execute(plan)

    def _check_plan(self, plan: ArbPlan) -> bool:
        unknown = sorted({leg.venue for leg in plan.legs} - set(self.venues))
        if unknown:
            raise ConfigurationError(f"the plan trades on unknown venue(s) {', '.join(unknown)}")
        return True

    # -- execution -------------------------------------------------------------------

    async def execute(self, plan: ArbPlan) -> ArbTradeResult:
        """Send ``plan``'s legs, repair a broken one by its policy, record the result."""
        subscriptions = [
            self.bus.subscribe(OrderUpdated, self._on_order_event),
            self.bus.subscribe(OrderFilled, self._on_order_event),
            self.bus.subscribe(OrderDenied, self._on_order_event),
        ]
        try:
            if plan.parallel:
                executions, outcome, note = await self._parallel(plan)
            else:
                executions, outcome, note = await self._sequential(plan)
        finally:
            for unsubscribe in subscriptions:
                unsubscribe()
        result = settle_trade(plan, executions, outcome, self.clock.now(), note)
        self.trades.append(result)
        log.info(
            "arbitrage %s: %s, P&L %s %s (%s)",
            self.bot_id,
            outcome.value,
            result.realized_pnl,
            plan.quote_asset,
            plan.reason,
        )
        self.bus.publish(
            ArbitrageTradeCompleted(
                result.ts,
                self.bot_id,
                self.strategy.name,
                outcome.value,
                len(plan.legs),
                result.realized_pnl,
                result.fees,
                result.gas,
                plan.quote_asset,
                plan.reason,
            )
        )
        return result

    async def _sequential(self, plan: ArbPlan) -> tuple[list[LegExecution], ArbOutcome, str]:
        done: list[LegExecution] = []
        hedged = False
        for leg in plan.legs:
            ex = await self._send(leg, LegRole.PLANNED)
            done.append(ex)
            if ex.complete:
                continue
            if not any(e.filled for e in done):
                return done, ArbOutcome.ABORTED, f"first leg failed: {ex.reason or ex.status}"
            if plan.policy is LegPolicy.HEDGE:
                fix = await self._hedge(leg, ex)
                done.append(fix)
                if fix.complete:
                    hedged = True
                    continue
                return done, self._hold(plan, f"hedge failed: {fix.reason or fix.status}"), ""
            return done, await self._repair(plan, leg, ex, done), ""
        return done, ArbOutcome.HEDGED if hedged else ArbOutcome.COMPLETED, ""

    async def _parallel(self, plan: ArbPlan) -> tuple[list[LegExecution], ArbOutcome, str]:
        sent = await asyncio.gather(*(self._send(leg, LegRole.PLANNED) for leg in plan.legs))
        done = list(sent)
        failed = [(leg, ex) for leg, ex in zip(plan.legs, sent, strict=True) if not ex.complete]
        if not failed:
            return done, ArbOutcome.COMPLETED, ""
        if not any(e.filled for e in done):
            return done, ArbOutcome.ABORTED, "no leg filled"
        if plan.policy is LegPolicy.HEDGE:
            fixes = await asyncio.gather(*(self._hedge(leg, ex) for leg, ex in failed))
            done.extend(fixes)
            broken = [f for f in fixes if not f.complete]
            if not broken:
                return done, ArbOutcome.HEDGED, ""
            return done, self._hold(plan, f"hedge failed: {broken[0].reason}"), ""
        leg, ex = failed[0]
        return done, await self._repair(plan, leg, ex, done), ""

    async def _repair(
        self, plan: ArbPlan, leg: ArbLeg, failed: LegExecution, done: list[LegExecution]
    ) -> ArbOutcome:
        """UNWIND or HOLD_AND_ALERT after ``leg`` failed (HEDGE is handled by the caller)."""
        why = f"{leg.side.value} {leg.quantity} {leg.symbol} on {leg.venue} failed: " + (
            failed.reason or failed.status
        )
        if plan.policy is LegPolicy.HOLD_AND_ALERT:
            return self._hold(plan, why)
        reversals = await self._unwind(done)
        done.extend(reversals)
        broken = [r for r in reversals if not r.complete]
        if broken:
            why = f"{why}; unwind failed: {broken[0].reason or broken[0].status}"
            return self._hold(plan, why)
        return ArbOutcome.UNWOUND

    def _hold(self, plan: ArbPlan, why: str) -> ArbOutcome:
        self.alert(f"{plan.strategy or self.strategy.name}: {why}; position held", pause=True)
        return ArbOutcome.HELD

    async def _unwind(self, done: list[LegExecution]) -> list[LegExecution]:
        """Reverse the net filled quantity per venue and symbol, latest first."""
        net: dict[tuple[str, str], Decimal] = {}
        prices: dict[tuple[str, str], Decimal] = {}
        for ex in done:
            if ex.filled:
                key = (ex.venue, ex.symbol)
                net[key] = net.get(key, ZERO) + ex.side.sign * ex.filled
                avg = ex.average_price
                if avg is not None:
                    prices[key] = avg
        out: list[LegExecution] = []
        for (venue, symbol), qty in reversed(list(net.items())):
            if qty == ZERO:
                continue
            side = OrderSide.SELL if qty > ZERO else OrderSide.BUY
            leg = ArbLeg(venue, symbol, side, abs(qty), None, prices[(venue, symbol)])
            out.append(await self._send(leg, LegRole.UNWIND))
        return out

    async def _hedge(self, leg: ArbLeg, failed: LegExecution) -> LegExecution:
        """Complete the unfilled part of ``leg`` at market on its hedge venue (or its own)."""
        target = self.config.hedge_venues.get(leg.venue, leg.venue)
        symbol = self.config.hedge_symbols.get(leg.symbol, leg.symbol)
        if target == leg.venue:
            symbol = leg.symbol
        rest = leg.quantity - failed.filled
        hedge = ArbLeg(target, symbol, leg.side, rest, None, leg.expected_price)
        return await self._send(hedge, LegRole.HEDGE, market=True)

    async def _send(self, leg: ArbLeg, role: LegRole, *, market: bool = False) -> LegExecution:
        """Submit one order and wait for its terminal state; never raises."""
        av = self.venues.get(leg.venue)
        if av is None:
            return _failed(leg, role, f"unknown venue {leg.venue!r}")
        limit = None if market else leg.limit_price
        command = SubmitOrder(
            symbol=leg.symbol,
            side=leg.side,
            type=OrderType.MARKET if limit is None else OrderType.LIMIT,
            quantity=leg.quantity,
            price=limit,
            bot_id=self.bot_id,
            # A book order must not rest: what does not fill now is a failed leg. A swap
            # fills or reverts by itself.
            time_in_force=(
                self.config.book_time_in_force if av.kind is VenueKind.CEX else TimeInForce.GTC
            ),
        )
        capture = _Capture(av.name, command)
        self._capture = capture
        error: str | None = None
        try:
            returned: Order | None = await av.orders.submit(command)
        except Exception as exc:  # unreachable venue or a bug: the leg failed, never the engine
            log.warning("arbitrage %s: %s on %s raised: %r", self.bot_id, leg.symbol, av.name, exc)
            error = f"{type(exc).__name__}: {exc}"
            returned = None
        finally:
            if self._capture is capture:
                self._capture = None
        cid = returned.client_order_id if returned is not None else capture.cid
        watch = self._watches.get(cid) if cid is not None else None
        if watch is None:
            if returned is None:
                return _failed(leg, role, error or "the order was not created")
            watch = self._watches[returned.client_order_id] = _Watch(returned)
        cid = watch.order.client_order_id
        try:
            order, timed_out = await self._settle(av, watch)
        finally:
            self._watches.pop(cid, None)
        return _execution(leg, role, av, order, error, timed_out)

    async def _settle(self, av: ArbVenue, watch: _Watch) -> tuple[Order, bool]:
        """Wait for a terminal state; on timeout cancel, wait a grace period, give up."""
        if await _wait_terminal(watch, self.config.timeout_for(av.name)):
            return watch.order, False
        cid = watch.order.client_order_id
        try:
            await av.orders.cancel(CancelOrder(cid, self.bot_id))
        except Exception as exc:  # already gone, or the venue is down: it stays a failure
            log.warning("arbitrage %s: cancel of %s failed: %r", self.bot_id, cid, exc)
        settled = await _wait_terminal(watch, self.config.cancel_grace_s)
        return watch.order, not settled

    def _on_order_event(self, event: OrderUpdated | OrderFilled | OrderDenied) -> None:
        order = event.order
        if order.bot_id != self.bot_id:
            return
        capture = self._capture
        if (
            capture is not None
            and capture.cid is None
            and order.venue == capture.venue
            and order.symbol == capture.command.symbol
            and order.side is capture.command.side
            and order.quantity == capture.command.quantity
        ):
            capture.cid = order.client_order_id
            self._capture = None
            self._watches[order.client_order_id] = _Watch(order)
        watch = self._watches.get(order.client_order_id)
        if watch is not None:
            watch.order = order
            watch.changed.set()


async def _wait_terminal(watch: _Watch, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not watch.order.status.is_terminal:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        watch.changed.clear()
        try:
            await asyncio.wait_for(watch.changed.wait(), remaining)
        except TimeoutError:
            return watch.order.status.is_terminal
    return True


def _failed(leg: ArbLeg, role: LegRole, reason: str) -> LegExecution:
    return LegExecution(
        role=role,
        venue=leg.venue,
        symbol=leg.symbol,
        side=leg.side,
        requested=leg.quantity,
        fee_currency=split_symbol(leg.symbol)[1],
        status="error",
        reason=reason,
    )


def _execution(
    leg: ArbLeg,
    role: LegRole,
    av: ArbVenue,
    order: Order,
    error: str | None,
    timed_out: bool,
) -> LegExecution:
    status = order.status.value
    reason = error or order.reason
    if timed_out:
        status = "timeout"
        reason = reason or f"no final state in time (last seen {order.status.value})"
    elif order.status is OrderStatus.FILLED or order.filled_quantity >= leg.quantity:
        reason = None
    return LegExecution(
        role=role,
        venue=av.name,
        symbol=leg.symbol,
        side=leg.side,
        requested=leg.quantity,
        filled=order.filled_quantity,
        notional=order.filled_notional,
        fee=order.fees,
        fee_currency=order.fills[-1].fee_currency if order.fills else split_symbol(leg.symbol)[1],
        status=status,
        client_order_id=order.client_order_id,
        reason=reason,
        gas=av.kind is VenueKind.DEX,
    )
