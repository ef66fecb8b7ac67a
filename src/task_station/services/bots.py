"""Bots: create, list, start, stop; each running bot is an asyncio task."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from task_station.domain.bots import BotDefinition, BotStatus
from task_station.domain.candles import Candle
from task_station.domain.clock import Clock, ManualClock
from task_station.domain.errors import ConflictError, NotFoundError, StrategyError, ValidationError
from task_station.domain.events import BotStatusChanged
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO, bps_to_rate, to_decimal
from task_station.domain.ports import AuditLog, BotStore, OrderStore, PortfolioStore
from task_station.engine.bus import EventBus
from task_station.engine.feeds import ReplayFeed
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
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
    ) -> BotDefinition:
        """Validate everything first; store nothing unless the bot can run."""
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
        series = self._market.series(data_source)
        bot = BotDefinition(
            id=uuid.uuid4().hex,
            name=name,
            strategy=strategy,
            params={k: (str(v) if isinstance(v, Decimal) else v) for k, v in built.p.items()},
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

    # -- internals -------------------------------------------------------------

    def _prepare(self, bot: BotDefinition) -> _Running:
        strategy = build_strategy(bot.strategy, bot.params)
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
