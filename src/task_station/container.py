"""The one composition root: build everything from ``Settings``.

Faces receive the ``Services`` bundle and never import this module (the CLI, which
starts the process, is the exception that calls it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from task_station.config import Settings
from task_station.domain.audit import Face, acting_through
from task_station.domain.clock import Clock, SystemClock
from task_station.domain.risk import RiskLimits
from task_station.engine.approvals import ApprovalRegistry
from task_station.engine.bus import EventBus
from task_station.engine.risk import GlobalRisk
from task_station.jobs.queue import JobQueue
from task_station.jobs.workers import WorkerPool
from task_station.marketdata.live import LiveMarketData
from task_station.marketdata.store import MarketStore
from task_station.persistence.backtests import SqlBacktestRunStore
from task_station.persistence.backup import DatabaseBackup, head_revision, migrate, schema_revisions
from task_station.persistence.database import Database
from task_station.persistence.dex import SqlDexStore
from task_station.persistence.jobs import SqlJobStore
from task_station.persistence.notifications import SqlNotificationStore
from task_station.persistence.proposals import SqlProposalStore
from task_station.persistence.tasks import SqlTaskStore, schedule_store
from task_station.security.tokens import TokenIssuer
from task_station.security.vault import SecretsVault
from task_station.services.accounts import AccountService
from task_station.services.analytics import AnalyticsService
from task_station.services.audit import AuditService
from task_station.services.backtests import BacktestService
from task_station.services.backup import BackupService, StationLayout
from task_station.services.bots import BotService
from task_station.services.bundle import Services
from task_station.services.dex import DexService, Web3ChainNodes
from task_station.services.health import DatabaseProbe, HealthService, scheduler_check
from task_station.services.jobs import JobService
from task_station.services.logs import LogService
from task_station.services.market import MarketService
from task_station.services.market_data import MarketDataService
from task_station.services.market_live import LiveWatchService
from task_station.services.metrics import StationMetrics
from task_station.services.notifications import NotificationService
from task_station.services.presets import PresetService
from task_station.services.proposals import ProposalService
from task_station.services.settings import SettingsService
from task_station.services.strategies import StrategyService
from task_station.services.tasks import TaskService
from task_station.services.trading import OrderService, PortfolioService
from task_station.services.users import AuthService, UserService, token_ttl
from task_station.strategies.catalog import StrategyCatalog
from task_station.venues.ccxt_cex import CcxtVenueFactory
from task_station.venues.ccxt_cex.history import history_sources
from task_station.venues.ccxt_cex.live_feed import live_feed_opener

log = logging.getLogger(__name__)

JWT_KEY_REF = "jwt-signing-key"


@dataclass
class Container:
    settings: Settings
    database: Database
    vault: SecretsVault
    services: Services

    async def start(self) -> None:
        """Put the station to work: the bots its last run left live resume (see
        ``BotService.resume_after_restart``). Call it once, with the event loop running;
        commands that only read or administer the database (``user create``) do not."""
        self.services.backtests.recover_after_restart()  # runs whose workers died with it
        self.services.health.start()  # event-loop lag sampled, components checked, from now
        self.services.jobs.start()  # queued jobs (this run's and the last one's) run
        handled = await self.services.bots.resume_after_restart()
        for bot in handled:
            log.warning("bot %r after the restart: %s%s", bot.name, bot.status.value,
                        f" ({bot.error})" if bot.error else "")  # fmt: skip
        # tasks' schedules (with the runs missed while down) and triggers, when the
        # process attached the automation (``automation.attach_automation``); what the
        # schedules start is audited as the automation's doing
        with acting_through(Face.AUTOMATION):
            await self.services.tasks.start()

    async def aclose(self) -> None:
        """End the bots' tasks (they keep their status and resume on the next start)."""
        await self.services.tasks.shutdown()  # no new task runs; those running end or fail
        await self.services.market_live.shutdown()  # live feeds close their connections
        await self.services.market_data.shutdown()  # replays stop, recordings are written
        await self.services.bots.shutdown()
        await self.services.health.stop()
        self.services.metrics.close()
        await self.services.backtests.shutdown()  # workers stop; their runs fail
        await self.services.jobs.stop()  # running jobs go back to the queue
        self.database.dispose()


def open_vault(settings: Settings) -> SecretsVault:
    vault = SecretsVault(settings.data_dir, settings.keyring_backend)
    if vault.needs_master_password and settings.keyring_password:
        vault.unlock(settings.keyring_password)
    return vault


def global_risk_limits(settings: Settings) -> RiskLimits:
    """The station-wide limits from the ``TASK_RISK_*`` settings."""
    return RiskLimits(
        max_position=settings.risk_max_position,
        max_order_notional=settings.risk_max_order_notional,
        max_open_orders=settings.risk_max_open_orders,
        max_daily_loss=settings.risk_max_daily_loss,
        max_drawdown=settings.risk_max_drawdown,
        max_orders_per_minute=settings.risk_max_orders_per_minute,
    )


def user_strategy_catalog(settings: Settings) -> StrategyCatalog:
    """The built-ins plus the trader's files in ``<data dir>/strategies`` (created if
    missing, so the trader finds where to put them); broken files are logged, not fatal."""
    catalog = StrategyCatalog.with_folder(settings.data_dir / "strategies", create=True)
    for error in catalog.errors:
        log.warning("user strategy not loaded: %s", error)
    return catalog


def market_data_service(
    settings: Settings, clock: Clock | None = None, bus: EventBus | None = None
) -> MarketDataService:
    """The candle store under the data directory and the venues it downloads from: any
    ccxt exchange id, and ``simulator`` (binance's dialect at ``settings.simulator_url``).
    Needs no database or vault, so ``task-station data`` builds only this; with the
    station's ``bus`` it also records and replays market data."""
    clock = clock or SystemClock()
    return MarketDataService(
        MarketStore(settings.market_data_dir, clock=clock),
        history_sources(settings.simulator_url),
        clock,
        bus=bus,
    )


def backup_service(settings: Settings) -> BackupService:
    """Backup and restore of the station ``settings`` point at (no vault, no migration:
    a restore must work on a station that does not start)."""
    url = settings.resolved_database_url
    layout = StationLayout(
        data_dir=settings.data_dir,
        vault_backend=settings.keyring_backend,
        known_revisions=tuple(schema_revisions()),
        settings=settings.model_dump(mode="json"),
    )
    return BackupService(layout, DatabaseBackup(url), lambda: migrate(url), SystemClock())


def build_container(settings: Settings, vault: SecretsVault | None = None) -> Container:
    """Create the data directory, migrate the database and wire every service.

    The vault must be unlocked: the JWT signing key lives there.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    vault = vault or open_vault(settings)
    database = Database(settings.resolved_database_url)
    database.upgrade()
    clock = SystemClock()
    bus = EventBus()
    issuer = TokenIssuer(
        vault.get_or_create(JWT_KEY_REF).encode("utf-8"), token_ttl(settings.token_ttl_minutes)
    )
    market = MarketService()
    strategies = user_strategy_catalog(settings)
    approvals = ApprovalRegistry(
        store=SqlProposalStore.on(database), bus=bus, clock=clock, audit=database.audit
    )
    bots = BotService(
        bots=database.bots,
        orders=database.orders,
        portfolios=database.portfolio,
        audit=database.audit,
        bus=bus,
        clock=clock,
        market=market,
        pace=settings.demo_pace_seconds,
        fast_forward_bars=settings.replay_fast_forward_bars,
        approvals=approvals,
        risk=GlobalRisk(global_risk_limits(settings), bus=bus, store=database.kill_switch),
        strategies=strategies,
    )
    approvals.expire_leftovers()  # proposals of a run that died with the last process
    job_store = SqlJobStore.on(database)
    jobs = JobService(JobQueue(job_store, bus, clock), job_store)
    notifications = NotificationService(
        SqlNotificationStore.on(database), vault, jobs, bus, clock, audit=database.audit
    )
    metrics = StationMetrics(bus, wall_clock=clock.now)
    health = HealthService(
        DatabaseProbe(database.current_revision, head_revision()),
        metrics,
        venues=lambda: len(database.accounts.list()),
        clock=clock,
    )
    orders = OrderService(database.orders)
    services = Services(
        auth=AuthService(
            database.users,
            database.sessions,
            database.audit,
            clock,
            issuer,
            session_ttl=timedelta(minutes=settings.session_ttl_minutes),
        ),
        users=UserService(
            database.users,
            database.audit,
            clock,
            settings.bcrypt_rounds,
            sessions=database.sessions,
        ),
        audit=AuditService(database.audit),
        bots=bots,
        orders=orders,
        portfolio=PortfolioService(database.portfolio, database.bots),
        analytics=AnalyticsService(bots, orders),
        settings=SettingsService(settings, database.audit, clock),
        market_live=LiveWatchService(
            LiveMarketData(bus.publish, clock), live_feed_opener(clock, settings.simulator_url)
        ),
        market=market,
        backtests=BacktestService(
            strategies,
            runs=SqlBacktestRunStore.on(database),
            workers=WorkerPool(),
            bus=bus,
            clock=clock,
            reports_dir=settings.data_dir / "backtests",
        ),
        events=bus,
        jobs=jobs,
        notifications=notifications,
        clock=clock,
        accounts=AccountService(
            database.accounts, vault, clock, database.audit, CcxtVenueFactory(clock)
        ),
        dex=DexService(SqlDexStore.on(database), vault, clock, database.audit, Web3ChainNodes()),
        proposals=ProposalService(
            bots=database.bots, approvals=approvals, audit=database.audit, bus=bus, clock=clock
        ),
        market_data=market_data_service(settings, clock, bus),
        health=health,
        metrics=metrics,
        logs=LogService(settings.log_file),
        tasks=TaskService(
            SqlTaskStore.on(database),
            vault=vault,
            users=database.users,
            audit=database.audit,
            bus=bus,
            clock=clock,
            notifier=notifications,
            schedule_store=schedule_store(database),
        ),
        presets=PresetService(),
        strategies=StrategyService(strategies, audit=database.audit, clock=clock),
    )
    health.register("scheduler", scheduler_check(lambda: services.tasks.running))
    return Container(settings, database, vault, services)
