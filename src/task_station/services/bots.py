"""Bots: create, list, start, stop; each running bot is an asyncio task."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from task_station.domain.bots import BotDefinition, BotStatus
from task_station.domain.candles import Candle
from task_station.domain.clock import Clock, ManualClock
from task_station.domain.errors import (
    ConflictError,
    NotFoundError,
    StrategyError,
    TaskStationError,
    ValidationError,
)
from task_station.domain.events import BotStatusChanged, RiskBreached
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO, bps_to_rate, to_decimal
from task_station.domain.ports import AuditLog, BotStore, OrderStore, PortfolioStore
from task_station.domain.risk import (
    KillSwitchState,
    PositionStops,
    RiskLimits,
    join_bot_params,
    split_bot_params,
)
from task_station.engine.approvals import ApprovalRegistry
from task_station.engine.bus import EventBus
from task_station.engine.feeds import ReplayFeed
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.risk import GlobalRisk, RiskManager
from task_station.engine.runtime import BotRuntime
from task_station.services.market import MarketService
from task_station.services.principal import Principal
from task_station.strategies.registry import build_strategy
from task_station.venues.matching.paper_venue import MatchingPaperVenue

log = logging.getLogger(__name__)


@dataclass
class _Running:
    runtime: BotRuntime
    feed: ReplayFeed
    orders: OrderManager
    task: asyncio.Task[None] | None = None
    bars: list[Candle] = field(default_factory=list)


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
    ) -> None:
        self._bots = bots
        self._orders = orders
        self._portfolios = portfolios
        self._audit = audit
        self._bus = bus
        self._clock = clock
        self._market = market
        self._pace = pace
        self._fast_forward = fast_forward_bars
        self._running: dict[str, _Running] = {}
        self._resume_at: dict[str, int] = {}
        self._history: dict[str, list[Candle]] = {}
        self._risk = risk if risk is not None else GlobalRisk(bus=bus)
        self._approvals = approvals  # mixed and manual bots' queues (None: all automated)
        self._stop_reasons: dict[str, str] = {}
        bus.subscribe(RiskBreached, self._on_risk_breached)

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
    ) -> BotDefinition:
        """Validate everything first; store nothing unless the bot can run.

        ``risk_limits`` and ``stops`` are kept inside the stored parameters (a JSON
        document already), so they survive restarts without a schema change.
        """
        actor.require_trader("create bots")
        name = name.strip()
        if not name or len(name) > 80:
            raise ValidationError("the bot name must have 1-80 characters")
        built = build_strategy(strategy, params)
        budget = to_decimal(quote_budget, name="quote_budget")
        if budget <= ZERO:
            raise ValidationError(f"quote_budget must be positive, got {budget}")
        fee = to_decimal(fee_bps, name="fee_bps")
        if not ZERO <= fee < 1000:
            raise ValidationError(f"fee_bps must be between 0 and 1000, got {fee}")
        Instrument.from_symbol(symbol)
        limits, bot_stops = _limits_of(risk_limits), _stops_of(stops)
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
        )
        self._bots.add(bot)
        self._publish(bot)  # every face learns of a bot created by any other face
        self._audit.record(
            self._clock.now(), actor.username, "bot.create", bot.id, f"{name} {strategy}"
        )
        return bot

    async def start(self, actor: Principal, bot_id: str) -> BotDefinition:
        actor.require_trader("start bots")
        bot = self.get(bot_id)
        if bot_id in self._running:
            raise ConflictError(f"bot {bot.name!r} is already running")
        switch = self._risk.kill_switch
        if switch.engaged:
            raise ConflictError(f"{switch.describe()}; an admin must release it before bots start")
        running = bot.with_status(BotStatus.RUNNING)
        prepared = self._prepare(running)
        # Orders a previous run left open (e.g. the station crashed) are settled first.
        await prepared.orders.reconcile(self._audit)
        self._bots.update(running)
        self._running[bot_id] = prepared
        prepared.task = asyncio.create_task(self._run(running, prepared), name=f"bot-{bot.name}")
        self._audit.record(self._clock.now(), actor.username, "bot.start", bot_id)
        self._publish(running)
        return running

    async def stop(self, actor: Principal, bot_id: str) -> BotDefinition:
        actor.require_trader("stop bots")
        bot = self.get(bot_id)
        entry = self._running.get(bot_id)
        if entry is None:
            raise ConflictError(f"bot {bot.name!r} is not running")
        entry.runtime.request_stop()
        if entry.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await entry.task
        self._audit.record(self._clock.now(), actor.username, "bot.stop", bot_id)
        return self.get(bot_id)

    async def shutdown(self) -> None:
        """Stop every running bot (the station is closing)."""
        for bot_id, entry in list(self._running.items()):
            entry.runtime.request_stop()
            if entry.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await entry.task
            log.info("bot %s stopped for shutdown", bot_id)

    def recover_after_restart(self) -> builtins.list[BotDefinition]:
        """Bots stored as RUNNING belonged to a process that died: mark them STOPPED."""
        recovered = []
        for bot in self._bots.list():
            if bot.status is BotStatus.RUNNING and bot.id not in self._running:
                stopped = bot.with_status(
                    BotStatus.STOPPED, "the station stopped while the bot ran"
                )
                self._bots.update(stopped)
                recovered.append(stopped)
        return recovered

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
            entry.runtime.request_stop()
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

    def resume(self, actor: Principal, bot_id: str) -> BotDefinition:
        """Call a bot's strategy again after a risk limit paused it (it kept running)."""
        actor.require_trader("resume bots")
        bot = self.get(bot_id)
        entry = self._running.get(bot_id)
        if entry is None or entry.runtime.paused_reason is None:
            raise ConflictError(f"bot {bot.name!r} is not paused")
        entry.runtime.resume()
        resumed = replace(bot, error=None)
        self._bots.update(resumed)
        self._audit.record(self._clock.now(), actor.username, "bot.resume", bot_id)
        self._publish(resumed)
        return resumed

    def _on_risk_breached(self, event: RiskBreached) -> None:
        """A limit paused a bot: keep the reason on the bot, where every face shows it."""
        if not event.paused or event.bot_id is None or event.bot_id not in self._running:
            return
        bot = self.get(event.bot_id)
        paused = replace(bot, error=f"paused by a risk limit: {event.message}")
        self._bots.update(paused)
        self._audit.record(self._clock.now(), "risk", "bot.pause", bot.id, event.message)
        self._publish(paused)

    # -- internals -------------------------------------------------------------

    def _prepare(self, bot: BotDefinition) -> _Running:
        strategy_params, limits, stops = split_bot_params(bot.params)
        strategy = build_strategy(bot.strategy, strategy_params)
        instrument = Instrument.from_symbol(bot.symbol, venue=bot.venue)
        candles = self._market.series(bot.data_source).candles
        snapshot = self._portfolios.load(bot.id)
        if snapshot is None:
            portfolio = Portfolio(bot.id, instrument.quote, {instrument.quote: bot.quote_budget})
        else:
            portfolio = Portfolio.from_snapshot(snapshot, instrument.quote)
        start = self._resume_at.get(bot.id, 0)
        clock = ManualClock(candles[min(start, len(candles) - 1)].ts)
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
        feed = ReplayFeed(candles, pace=self._pace, start=start, fast_forward=self._fast_forward)
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
            on_bar=history.append,
            publish_marks=True,
            approvals=None if self._approvals is None else self._approvals.open(bot, orders),
        )
        return _Running(runtime, feed, orders)

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
            self._resume_at[bot.id] = entry.feed.position
            self._running.pop(bot.id, None)
            if self._approvals is not None:  # nothing can be sent now: pending ones expire
                self._approvals.close(bot.id, "the bot stopped")
            if entry.orders.risk is not None:
                entry.orders.risk.detach()
        stop_reason = self._stop_reasons.pop(bot.id, None)
        error = error or stop_reason
        current = self.get(bot.id)
        if current.status is not BotStatus.RUNNING:
            # Someone else (another process on this database) already changed it.
            log.warning("bot %s ended as %s but is stored as %s", bot.id, status, current.status)
            return
        final = current.with_status(status, error)
        self._bots.update(final)
        self._publish(final)

    def _publish(self, bot: BotDefinition) -> None:
        self._bus.publish(
            BotStatusChanged(self._clock.now(), bot.id, bot.name, bot.status, bot.error)
        )
