"""Bots: create, list, start, stop, pause and resume; each running bot is an asyncio task.

Lifecycle: every status change (``BotStatus``) is stored, audited and published as
``BotStatusChanged``. A running bot also stores how many bars of its feed it has
processed (at most once per ``PROGRESS_PERSIST_SECONDS`` of wall time, at once when it
orders or fills, and always when it stops, pauses or finishes). When the station
starts again, ``resume_after_restart`` puts the bots it left starting, running or
paused back to work from that bar, with their stored portfolio, after reconciling
their open orders; the strategy is warmed up on the bars it already saw with every
order dropped (``BotRuntime.warm_up``), so no bar is traded twice.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from task_station.domain.bots import BotDefinition, BotStatus
from task_station.domain.candles import Candle
from task_station.domain.clock import Clock, ManualClock
from task_station.domain.commands import SubmitOrder
from task_station.domain.errors import (
    ConflictError,
    NotFoundError,
    StrategyError,
    TaskStationError,
    ValidationError,
)
from task_station.domain.events import (
    BotStatusChanged,
    OrderDenied,
    OrderFilled,
    OrderUpdated,
    RiskBreached,
)
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO, bps_to_rate, to_decimal
from task_station.domain.orders import Order, OrderSide
from task_station.domain.ports import AuditLog, BotStore, OrderStore, PortfolioStore
from task_station.domain.proposals import ControlMode
from task_station.domain.risk import (
    KillSwitchState,
    PositionStops,
    RiskLimits,
    RiskMarks,
    join_bot_params,
    split_bot_params,
)
from task_station.engine.approvals import ApprovalRegistry
from task_station.engine.bus import EventBus
from task_station.engine.feeds import ReplayFeed
from task_station.engine.market_feed_source import MarketCandleFeed
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.risk import GlobalRisk, RiskManager
from task_station.engine.runtime import BotRuntime
from task_station.services.market import MarketService
from task_station.services.principal import Principal
from task_station.strategies.catalog import StrategyCatalog
from task_station.venues.matching.paper_venue import MatchingPaperVenue

log = logging.getLogger(__name__)

#: Wall-clock seconds between two stored feed positions of a running bot (an order or a
#: fill stores it at once: a resumed bot must never replay a bar it traded on).
PROGRESS_PERSIST_SECONDS = 1.0


@dataclass
class _Running:
    runtime: BotRuntime
    feed: ReplayFeed[Candle] | MarketCandleFeed  # a stored series, or bars from the bus
    orders: OrderManager
    start: int = 0  # the feed position this run started from
    task: asyncio.Task[None] | None = None
    bars: list[Candle] = field(default_factory=list)
    persisted_at: float = 0.0  # time.monotonic() of the last stored position
    suspending: bool = False  # the station is closing: keep the stored status

    @property
    def bars_done(self) -> int:
        """Bars of the feed processed so far (the strategy has seen them)."""
        return self.start + self.runtime.bars_seen

    def halt(self) -> None:
        """Ask the runtime to stop; a bus feed ends too (it may wait for the next bar)."""
        self.runtime.request_stop()
        if isinstance(self.feed, MarketCandleFeed):
            self.feed.close()


@dataclass(frozen=True, slots=True)
class KillSwitchReport:
    """What engaging the kill switch did: the bots it stopped, the orders it canceled."""

    state: KillSwitchState
    stopped_bots: tuple[str, ...]
    canceled_orders: int


@dataclass(frozen=True, slots=True)
class BotRiskView:
    bot_id: str
    name: str
    running: bool
    limits: RiskLimits
    stops: PositionStops
    paused_reason: str | None


@dataclass(frozen=True, slots=True)
class RiskView:
    """The station's limits, the kill switch, and every bot that carries limits or stops."""

    kill_switch: KillSwitchState
    limits: RiskLimits
    bots: tuple[BotRiskView, ...]


def _limits_of(value: RiskLimits | Mapping[str, object] | None) -> RiskLimits:
    return value if isinstance(value, RiskLimits) else RiskLimits.from_mapping(value)


def _stops_of(value: PositionStops | Mapping[str, object] | None) -> PositionStops:
    return value if isinstance(value, PositionStops) else PositionStops.from_mapping(value)


class BotService:
    def __init__(
        self,
        *,
        bots: BotStore,
        orders: OrderStore,
        portfolios: PortfolioStore,
        audit: AuditLog,
        bus: EventBus,
        clock: Clock,
        market: MarketService,
        pace: float,
        fast_forward_bars: int = 0,
        risk: GlobalRisk | None = None,
        approvals: ApprovalRegistry | None = None,
        strategies: StrategyCatalog | None = None,
    ) -> None:
        self._bots = bots
        # the station's strategies (its user files too); built-ins only when not given
        self._strategies = strategies if strategies is not None else StrategyCatalog()
        self._orders = orders
        self._portfolios = portfolios
        self._audit = audit
        self._bus = bus
        self._clock = clock
        self._market = market
        self._pace = pace
        self._fast_forward = fast_forward_bars
        self._running: dict[str, _Running] = {}
        self._history: dict[str, list[Candle]] = {}
        self._risk = risk if risk is not None else GlobalRisk(bus=bus)
        self._approvals = approvals  # mixed and manual bots' queues (None: all automated)
        self._stop_reasons: dict[str, str] = {}
        bus.subscribe(RiskBreached, self._on_risk_breached)
        bus.subscribe(OrderUpdated, self._on_order_event)
        bus.subscribe(OrderFilled, self._on_order_event)
        bus.subscribe(OrderDenied, self._on_order_event)

    # -- queries ---------------------------------------------------------------

    def list(self) -> builtins.list[BotDefinition]:
        return self._bots.list()

    def get(self, bot_id: str) -> BotDefinition:
        bot = self._bots.get(bot_id)
        if bot is None:
            raise NotFoundError(f"no bot with id {bot_id!r}")
        return bot

    def bars(self, bot_id: str) -> builtins.list[Candle]:
        """Bars the bot has seen so far (for its chart)."""
        self.get(bot_id)
        return list(self._history.get(bot_id, ()))

    def is_running(self, bot_id: str) -> bool:
        return bot_id in self._running

    # -- commands --------------------------------------------------------------

    def create(
        self,
        actor: Principal,
        *,
        name: str,
        strategy: str,
        params: Mapping[str, object],
        quote_budget: object,
        symbol: str = "BTC/USDT",
        data_source: str = "synthetic:7",
        fee_bps: object = Decimal(10),
        risk_limits: RiskLimits | Mapping[str, object] | None = None,
        stops: PositionStops | Mapping[str, object] | None = None,
        control_mode: ControlMode | str = ControlMode.AUTOMATED,
    ) -> BotDefinition:
        """Validate everything first; store nothing unless the bot can run.

        ``risk_limits`` and ``stops`` are kept inside the stored parameters (a JSON
        document already), so they survive restarts without a schema change.
        ``control_mode`` says who decides its orders (automated, mixed or manual).
        """
        actor.require_trader("create bots")
        name = name.strip()
        if not name or len(name) > 80:
            raise ValidationError("the bot name must have 1-80 characters")
        built = self._strategies.build(strategy, params)
        if built.min_symbols > 1:
            raise ValidationError(
                f"{strategy} trades {built.min_symbols} or more symbols together, and a "
                f"station bot trades one; run it in an account backtest "
                f"(task-station account-backtest)"
            )
        budget = to_decimal(quote_budget, name="quote_budget")
        if budget <= ZERO:
            raise ValidationError(f"quote_budget must be positive, got {budget}")
        fee = to_decimal(fee_bps, name="fee_bps")
        if not ZERO <= fee < 1000:
            raise ValidationError(f"fee_bps must be between 0 and 1000, got {fee}")
        Instrument.from_symbol(symbol)
        limits, bot_stops = _limits_of(risk_limits), _stops_of(stops)
        try:
            mode = ControlMode(str(control_mode).strip().lower())
        except ValueError:
            allowed = ", ".join(m.value for m in ControlMode)
            raise ValidationError(
                f"control_mode {control_mode!r} is not one of {allowed}"
            ) from None
        series = self._market.series(data_source)
        bot = BotDefinition(
            id=uuid.uuid4().hex,
            name=name,
            strategy=strategy,
            params=join_bot_params(
                {k: (str(v) if isinstance(v, Decimal) else v) for k, v in built.p.items()},
                limits,
                bot_stops,
            ),
            venue="paper",
            symbol=symbol,
            timeframe=series.timeframe,
            quote_budget=budget,
            created_at=self._clock.now(),
            owner=actor.username,
            data_source=data_source,
            fee_bps=fee,
            control_mode=mode,
        )
        self._bots.add(bot)
        self._publish(bot)  # every face learns of a bot created by any other face
        self._audit.record(
            self._clock.now(), actor.username, "bot.create", bot.id, f"{name} {strategy}",
            after={"name": bot.name, "strategy": strategy, "params": dict(bot.params),
                   "quote_budget": str(budget), "status": bot.status.value},
        )  # fmt: skip
        return bot

    async def start(self, actor: Principal, bot_id: str) -> BotDefinition:
        """created/stopped/error -> starting (open orders reconciled) -> running.

        A bot started again goes on from the bar it had reached, its strategy warmed up
        on the bars before. A start that fails leaves the bot in ERROR, saying why.
        """
        actor.require_trader("start bots")
        bot = self.get(bot_id)
        if bot_id in self._running:
            raise ConflictError(f"bot {bot.name!r} is already running")
        switch = self._risk.kill_switch
        if switch.engaged:
            raise ConflictError(f"{switch.describe()}; an admin must release it before bots start")
        starting = self._transition(bot, BotStatus.STARTING)
        try:
            prepared = await self._launch_prepared(starting)
        except Exception as exc:
            self._transition(starting, BotStatus.ERROR, f"could not start: {exc}")
            raise
        if (switch := self._risk.kill_switch).engaged:  # engaged while it reconciled
            self._release(bot_id, prepared)
            self._transition(starting, BotStatus.STOPPED, f"not started: {switch.describe()}")
            raise ConflictError(f"{switch.describe()}; an admin must release it before bots start")
        running = self._transition(starting, BotStatus.RUNNING, launch=prepared)
        self._audit.record(
            self._clock.now(), actor.username, "bot.start", bot_id,
            before={"status": bot.status.value}, after={"status": running.status.value},
        )  # fmt: skip
        return running

    async def stop(self, actor: Principal, bot_id: str) -> BotDefinition:
        """running/paused -> stopping -> stopped (its open orders canceled)."""
        actor.require_trader("stop bots")
        bot = self.get(bot_id)
        entry = self._running.get(bot_id)
        if entry is None:
            raise ConflictError(f"bot {bot.name!r} is not running")
        self._request_stop(bot, entry)
        if entry.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await entry.task
        self._audit.record(self._clock.now(), actor.username, "bot.stop", bot_id)
        return self.get(bot_id)

    async def shutdown(self) -> None:
        """End every bot's task because the station is closing; their status stays.

        Closing the station is not a trader's decision to stop a bot: a bot stored as
        running (or paused) keeps that status, with the bar it reached and its book, and
        ``resume_after_restart`` puts it back to work when the station starts again.
        """
        for bot_id, entry in list(self._running.items()):
            entry.suspending = True
            entry.halt()
            if entry.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await entry.task
            log.info("bot %s suspended for shutdown at bar %d", bot_id, entry.bars_done)

    async def resume_after_restart(self) -> builtins.list[BotDefinition]:
        """Put back to work the bots the last run of the station left live.

        Call it once when the station starts, with the event loop running. Bots stored
        as starting or running resume running, paused ones resume paused (their stops
        still work, their strategy waits for a trader), each from the bar it had reached
        with its stored book, its open orders reconciled first. Bots stored as stopping
        become stopped. A bot that cannot resume (its strategy or data is gone, the kill
        switch is engaged) is stored with the reason and does not keep the others from
        resuming. Returns every bot handled, as it is now.
        """
        handled = []
        for bot in self._bots.list():
            if not bot.status.is_live or bot.id in self._running:
                continue
            handled.append(await self._resume_one(bot))
        return handled

    async def _resume_one(self, bot: BotDefinition) -> BotDefinition:
        if bot.status is BotStatus.STOPPING:
            why = "the station closed while the bot was stopping"
            self._audit.record(self._clock.now(), "system", "bot.stop", bot.id, why)
            return self._transition(bot, BotStatus.STOPPED, why)
        switch = self._risk.kill_switch
        if switch.engaged:
            why = f"not resumed after the restart: {switch.describe()}"
            self._audit.record(self._clock.now(), "system", "bot.stop", bot.id, why)
            if bot.status is not BotStatus.STARTING:
                bot = self._transition(bot, BotStatus.STOPPING, why)
            return self._transition(bot, BotStatus.STOPPED, why)
        paused = bot.error if bot.status is BotStatus.PAUSED else None
        try:
            prepared = await self._launch_prepared(bot, paused=paused)
        except Exception as exc:  # one broken bot must not keep the others down
            log.exception("bot %s could not resume after the restart", bot.id)
            why = f"could not resume after the restart: {exc}; fix the cause, then start it again"
            self._audit.record(self._clock.now(), "system", "bot.error", bot.id, why)
            return self._transition(bot, BotStatus.ERROR, why)
        target = BotStatus.PAUSED if paused is not None else BotStatus.RUNNING
        self._audit.record(
            self._clock.now(),
            "system",
            "bot.resume",
            bot.id,
            f"after restart at bar {prepared.start}",
        )
        if bot.status is BotStatus.STARTING:
            return self._transition(bot, target, paused, launch=prepared)
        self._launch(bot, prepared)
        self._publish(bot)  # still running (or paused): every face learns it runs again
        return bot

    # -- risk ------------------------------------------------------------------

    @property
    def global_risk(self) -> GlobalRisk:
        """The station-wide limits and kill switch every bot's risk manager shares."""
        return self._risk

    def risk(self) -> RiskView:
        """The station's limits, the kill switch and the limits of each bot that has any."""
        bots = []
        for bot in self._bots.list():
            _, limits, stops = split_bot_params(bot.params)
            entry = self._running.get(bot.id)
            if limits.is_empty and stops.is_empty and entry is None:
                continue
            paused = entry.runtime.paused_reason if entry is not None else None
            bots.append(BotRiskView(bot.id, bot.name, entry is not None, limits, stops, paused))
        return RiskView(self._risk.kill_switch, self._risk.limits, tuple(bots))

    async def kill_switch(self, actor: Principal, reason: str) -> KillSwitchReport:
        """Refuse every new order, cancel every open order and stop every bot.

        The switch is engaged first, so nothing a bot does while it winds down can
        reach a venue; orders are canceled before the bots stop, so nothing fills in
        between. A venue that cannot be reached does not keep the other bots running.
        """
        actor.require_trader("engage the kill switch")
        reason = reason.strip()
        if not reason:
            raise ValidationError("say why the kill switch is engaged (it goes into the audit log)")
        if len(reason) > 500:
            raise ValidationError("the kill switch reason must have at most 500 characters")
        now = self._clock.now()
        state = self._risk.engage(actor.username, reason, now)
        self._audit.record(now, actor.username, "risk.kill_switch.engage", "station", reason)
        entries = list(self._running.items())
        canceled = 0
        for bot_id, entry in entries:
            try:
                count = await entry.orders.cancel_all()
            except TaskStationError as exc:
                log.error("kill switch: could not cancel the orders of bot %s: %s", bot_id, exc)
                self._audit.record(
                    self._clock.now(), actor.username, "order.cancel_all", bot_id, f"failed: {exc}"
                )
                continue
            canceled += count
            self._audit.record(
                self._clock.now(), actor.username, "order.cancel_all", bot_id, f"{count} canceled"
            )
        for bot_id, entry in entries:
            self._stop_reasons[bot_id] = f"stopped by the kill switch: {reason}"
            self._request_stop(self.get(bot_id), entry)
        stopped = []
        for bot_id, entry in entries:
            if entry.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await entry.task
            stopped.append(bot_id)
            self._audit.record(self._clock.now(), actor.username, "bot.stop", bot_id, "kill switch")
        return KillSwitchReport(state, tuple(stopped), canceled)

    def release_kill_switch(self, actor: Principal) -> KillSwitchState:
        """Let orders through again; bots stay stopped until someone starts them.

        Stopping is every trader's right, trading again is an admin's decision.
        """
        actor.require_admin("release the kill switch")
        if not self._risk.kill_switch.engaged:
            raise ConflictError("the kill switch is not engaged")
        now = self._clock.now()
        state = self._risk.release(actor.username, now)
        self._audit.record(now, actor.username, "risk.kill_switch.release", "station")
        return state

    def update_params(
        self,
        actor: Principal,
        bot_id: str,
        params: Mapping[str, object],
        *,
        stops: PositionStops | Mapping[str, object] | None = None,
    ) -> BotDefinition:
        """Change a stopped bot's strategy parameters (and, if given, its position
        stops); its risk limits stay. Everything is validated before anything is saved.

        A running bot keeps the parameters it started with: changing them under it
        would leave orders placed by one configuration managed by another, so the
        trader stops it first (``ConflictError`` says so).
        """
        actor.require_trader("change bot parameters")
        bot = self.get(bot_id)
        if bot_id in self._running or bot.status in (BotStatus.RUNNING, BotStatus.PAUSED):
            raise ConflictError(
                f"bot {bot.name!r} is {bot.status.value}: stop it before changing its parameters"
            )
        built = self._strategies.build(bot.strategy, params)
        _, limits, old_stops = split_bot_params(bot.params)
        new_stops = old_stops if stops is None else _stops_of(stops)
        stored = join_bot_params(
            {k: (str(v) if isinstance(v, Decimal) else v) for k, v in built.p.items()},
            limits,
            new_stops,
        )
        if stored == bot.params:
            return bot
        updated = dataclasses.replace(bot, params=stored)
        self._bots.update(updated)
        self._publish(updated)
        changed = ", ".join(
            f"{k}={stored[k]}" for k in stored if stored.get(k) != bot.params.get(k)
        )
        self._audit.record(
            self._clock.now(), actor.username, "bot.update_params", bot_id, changed[:500],
            before={"params": dict(bot.params)}, after={"params": dict(stored)},
        )  # fmt: skip
        return updated

    def resume(self, actor: Principal, bot_id: str) -> BotDefinition:
        """paused -> running: call the strategy again after a risk limit paused it."""
        actor.require_trader("resume bots")
        bot = self.get(bot_id)
        entry = self._running.get(bot_id)
        if entry is None or bot.status is not BotStatus.PAUSED:
            raise ConflictError(f"bot {bot.name!r} is not paused")
        entry.runtime.resume()
        self._save_progress(bot_id, entry)
        resumed = self._transition(bot, BotStatus.RUNNING)
        self._audit.record(self._clock.now(), actor.username, "bot.resume", bot_id)
        return resumed

    def pause(self, actor: Principal, bot_id: str, reason: str | None = None) -> BotDefinition:
        """running -> paused: stop calling the strategy (marks and stops go on) until a
        trader resumes it; ``ConflictError`` when it is not running."""
        actor.require_trader("pause bots")
        bot = self.get(bot_id)
        entry = self._running.get(bot_id)
        if entry is None or bot.status is not BotStatus.RUNNING:
            raise ConflictError(f"bot {bot.name!r} is not running, so it cannot be paused")
        why = f"paused by {actor.username}" + (f": {reason.strip()}" if reason else "")
        entry.runtime.pause(why)
        self._save_progress(bot_id, entry)
        paused = self._transition(bot, BotStatus.PAUSED, why)
        self._audit.record(self._clock.now(), actor.username, "bot.pause", bot_id, why)
        return paused

    async def cancel_orders(self, actor: Principal, bot_id: str) -> int:
        """Cancel every open order of a running bot; returns how many were asked to."""
        actor.require_trader("cancel orders")
        bot = self.get(bot_id)
        entry = self._running.get(bot_id)
        if entry is None:
            raise ConflictError(f"bot {bot.name!r} is not running: it has no open orders")
        count = await entry.orders.cancel_all()
        self._audit.record(
            self._clock.now(), actor.username, "order.cancel_all", bot_id, f"{count} canceled"
        )
        return count

    async def close_positions(
        self, actor: Principal, bot_id: str | None = None
    ) -> builtins.list[Order]:
        """Cancel the open orders of a running bot (of every running bot when ``bot_id``
        is None), then send a market order that flattens its position; returns those
        orders (each may be denied by a risk check, as any order). A strategy that
        keeps running may open a new position: pause or stop it as well."""
        actor.require_trader("close positions")
        targets = [bot_id] if bot_id is not None else builtins.list(self._running)
        closing = []
        for target in targets:
            bot = self.get(target)
            entry = self._running.get(target)
            if entry is None:
                raise ConflictError(f"bot {bot.name!r} is not running: it holds no live position")
            await entry.orders.cancel_all()
            quantity = entry.runtime.portfolio.position(bot.symbol).quantity
            if quantity == ZERO:
                continue
            side = OrderSide.SELL if quantity > ZERO else OrderSide.BUY
            command = SubmitOrder(
                bot.symbol, side, quantity=abs(quantity), bot_id=bot.id, tag="close positions"
            )
            order = await entry.orders.submit(command)
            closing.append(order)
            self._audit.record(
                self._clock.now(), actor.username, "order.close_position", order.client_order_id,
                f"bot {bot.id}: {side.value} {abs(quantity)} {bot.symbol} -> {order.status.value}",
            )  # fmt: skip
        return closing

    def _on_risk_breached(self, event: RiskBreached) -> None:
        """A limit paused a bot: store it PAUSED with the reason, where every face shows it."""
        if not event.paused or event.bot_id is None or event.bot_id not in self._running:
            return
        bot = self.get(event.bot_id)
        if bot.status is not BotStatus.RUNNING:
            return
        self._save_progress(bot.id, self._running[bot.id])
        self._transition(bot, BotStatus.PAUSED, f"paused by a risk limit: {event.message}")
        self._audit.record(self._clock.now(), "risk", "bot.pause", bot.id, event.message)

    def _on_order_event(self, event: OrderUpdated | OrderFilled | OrderDenied) -> None:
        """A bot's order changed: store its position now, so a resume never replays it."""
        bot_id = event.order.bot_id
        entry = self._running.get(bot_id) if bot_id is not None else None
        if bot_id is not None and entry is not None:
            self._save_progress(bot_id, entry)

    # -- internals -------------------------------------------------------------

    async def _launch_prepared(self, bot: BotDefinition, paused: str | None = None) -> _Running:
        """Build the bot's runtime and settle the orders a previous run left open.

        ``paused``: the bot comes back paused for that reason (its strategy waits).
        """
        prepared = self._prepare(bot)
        if paused is not None:
            prepared.runtime.pause(paused)
        try:
            # Orders a previous run left open (e.g. the station crashed) are settled first.
            await prepared.orders.reconcile(self._audit)
        except BaseException:
            self._release(bot.id, prepared)
            raise
        return prepared

    def _launch(self, bot: BotDefinition, prepared: _Running) -> None:
        self._running[bot.id] = prepared
        prepared.persisted_at = time.monotonic()
        prepared.task = asyncio.create_task(self._run(bot, prepared), name=f"bot-{bot.name}")

    def _release(self, bot_id: str, entry: _Running) -> None:
        """Undo what preparing the bot registered (its approvals queue, its risk book)."""
        if self._approvals is not None:  # nothing can be sent now: pending ones expire
            self._approvals.close(bot_id, "the bot stopped")
        if entry.orders.risk is not None:
            entry.orders.risk.detach()
        if isinstance(entry.feed, MarketCandleFeed):
            entry.feed.close()  # it stops listening to the bus

    def _request_stop(self, bot: BotDefinition, entry: _Running) -> None:
        """running/paused -> stopping (stored), then ask the runtime to stop."""
        if bot.status in (BotStatus.RUNNING, BotStatus.PAUSED):
            self._transition(bot, BotStatus.STOPPING, bot.error)
        entry.halt()

    def _transition(
        self,
        bot: BotDefinition,
        status: BotStatus,
        error: str | None = None,
        *,
        launch: _Running | None = None,
    ) -> BotDefinition:
        """Store the bot's new status, start its task when ``launch``, then tell everyone."""
        changed = bot.with_status(status, error)
        self._bots.update(changed)
        if launch is not None:
            self._launch(changed, launch)
        self._publish(changed)
        return changed

    def _save_progress(self, bot_id: str, entry: _Running) -> None:
        self._bots.save_progress(bot_id, entry.bars_done)
        risk = entry.orders.risk
        if risk is not None and not (risk.limits.is_empty and risk.stops.is_empty):
            self._bots.save_risk_marks(bot_id, risk.marks().to_mapping())
        entry.persisted_at = time.monotonic()

    def _on_bar(self, bot_id: str, history: builtins.list[Candle]) -> Callable[[Candle], None]:
        """The runtime's per-bar hook: the chart's bars, and the throttled position."""

        def on_bar(candle: Candle) -> None:
            history.append(candle)
            entry = self._running.get(bot_id)
            if entry is not None and (
                time.monotonic() - entry.persisted_at >= PROGRESS_PERSIST_SECONDS
            ):
                self._save_progress(bot_id, entry)

        return on_bar

    def _prepare(self, bot: BotDefinition) -> _Running:
        strategy_params, limits, stops = split_bot_params(bot.params)
        strategy = self._strategies.build(bot.strategy, strategy_params)
        instrument = Instrument.from_symbol(bot.symbol, venue=bot.venue)
        live = self._market.live_market(bot.data_source)  # None: a stored series
        candles = self._market.series(bot.data_source).candles
        snapshot = self._portfolios.load(bot.id)
        if snapshot is None:
            portfolio = Portfolio(bot.id, instrument.quote, {instrument.quote: bot.quote_budget})
        else:
            portfolio = Portfolio.from_snapshot(snapshot, instrument.quote)
        start = min(self._bots.progress(bot.id), len(candles))
        first = candles[min(start, len(candles) - 1)].ts if candles else self._clock.now()
        clock = ManualClock(first)
        fee = bps_to_rate(bot.fee_bps)
        balances = {b.asset: b.total for b in portfolio.snapshot().balances}
        venue = MatchingPaperVenue(instrument, balances, clock, maker_fee=fee, taker_fee=fee)
        orders = OrderManager(
            venue=venue,
            store=self._orders,
            portfolio=portfolio,
            bus=self._bus,
            clock=clock,
            portfolio_store=self._portfolios,
            risk=RiskManager(bot.id, limits, stops, global_risk=self._risk, bus=self._bus),
        )
        if start > 0 and orders.risk is not None:  # resumed: its limits go on counting
            orders.risk.restore(RiskMarks.from_mapping(self._bots.risk_marks(bot.id)))
        feed: ReplayFeed[Candle] | MarketCandleFeed
        if live is not None:  # live or replayed bars of a market, from the bus
            feed = MarketCandleFeed(self._bus, live.venue, live.symbol, live.timeframe)
        else:
            feed = ReplayFeed(
                candles, pace=self._pace, start=start, fast_forward=self._fast_forward
            )
        history = self._history.setdefault(bot.id, list(candles[max(0, start - 300) : start]))
        runtime = BotRuntime(
            bot_id=bot.id,
            strategy=strategy,
            instrument=instrument,
            timeframe=bot.timeframe,
            feed=feed,
            venue=venue,
            orders=orders,
            portfolio=portfolio,
            bus=self._bus,
            clock=clock,
            on_bar=self._on_bar(bot.id, history),
            publish_marks=True,
            approvals=None if self._approvals is None else self._approvals.open(bot, orders),
            warmup=candles[:start],  # the bars it already saw: rebuilt, never re-traded
        )
        return _Running(runtime, feed, orders, start=start)

    async def _run(self, bot: BotDefinition, entry: _Running) -> None:
        status, error = BotStatus.ERROR, None
        try:
            status = await entry.runtime.run()
        except StrategyError as exc:
            error = str(exc)
        except Exception as exc:  # the engine must outlive any single bot
            log.exception("bot %s crashed", bot.id)
            error = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            self._running.pop(bot.id, None)
            self._release(bot.id, entry)
        # Not in ``finally``: a canceled task (the loop torn down) leaves the stored
        # position as a crash would, which a resume handles.
        self._save_progress(bot.id, entry)
        stop_reason = self._stop_reasons.pop(bot.id, None)
        error = error or stop_reason
        current = self.get(bot.id)
        if not current.status.is_live:
            # Someone else (another process on this database) already changed it.
            log.warning("bot %s ended as %s but is stored as %s", bot.id, status, current.status)
            return
        if (
            status is BotStatus.STOPPED
            and entry.suspending
            and current.status in (BotStatus.RUNNING, BotStatus.PAUSED)
        ):
            return  # the station is closing: it resumes from here when it starts again
        if status is BotStatus.STOPPED and current.status is not BotStatus.STOPPING:
            current = self._transition(current, BotStatus.STOPPING, current.error)
        self._transition(current, status, error)

    def _publish(self, bot: BotDefinition) -> None:
        self._bus.publish(
            BotStatusChanged(self._clock.now(), bot.id, bot.name, bot.status, bot.error)
        )
