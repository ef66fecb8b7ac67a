"""The one composition root: build everything from ``Settings``.

Faces receive the ``Services`` bundle and never import this module (the CLI, which
starts the process, is the exception that calls it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from task_station.config import Settings
from task_station.domain.clock import SystemClock
from task_station.domain.risk import RiskLimits
from task_station.engine.approvals import ApprovalRegistry
from task_station.engine.bus import EventBus
from task_station.engine.risk import GlobalRisk
from task_station.jobs.workers import WorkerPool
from task_station.persistence.backtests import SqlBacktestRunStore
from task_station.persistence.database import Database
from task_station.persistence.dex import SqlDexStore
from task_station.persistence.proposals import SqlProposalStore
from task_station.security.tokens import TokenIssuer
from task_station.security.vault import SecretsVault
from task_station.services.accounts import AccountService
from task_station.services.backtests import BacktestService
from task_station.services.bots import BotService
from task_station.services.bundle import Services
from task_station.services.dex import DexService, Web3ChainNodes
from task_station.services.market import MarketService
from task_station.services.presets import PresetService
from task_station.services.proposals import ProposalService
from task_station.services.strategies import StrategyService
from task_station.services.trading import OrderService, PortfolioService
from task_station.services.users import AuthService, UserService, token_ttl
from task_station.strategies.catalog import StrategyCatalog
from task_station.venues.ccxt_cex import CcxtVenueFactory

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
        handled = await self.services.bots.resume_after_restart()
        for bot in handled:
            log.warning("bot %r after the restart: %s%s", bot.name, bot.status.value,
                        f" ({bot.error})" if bot.error else "")  # fmt: skip

    async def aclose(self) -> None:
        """End the bots' tasks (they keep their status and resume on the next start)."""
        await self.services.bots.shutdown()
        await self.services.backtests.shutdown()  # workers stop; their runs fail
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
    services = Services(
        auth=AuthService(database.users, database.sessions, database.audit, clock, issuer),
        users=UserService(database.users, database.audit, clock, settings.bcrypt_rounds),
        bots=bots,
        orders=OrderService(database.orders),
        portfolio=PortfolioService(database.portfolio, database.bots),
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
        clock=clock,
        accounts=AccountService(
            database.accounts, vault, clock, database.audit, CcxtVenueFactory(clock)
        ),
        dex=DexService(SqlDexStore.on(database), vault, clock, database.audit, Web3ChainNodes()),
        proposals=ProposalService(
            bots=database.bots, approvals=approvals, audit=database.audit, bus=bus, clock=clock
        ),
        presets=PresetService(),
        strategies=StrategyService(strategies, audit=database.audit, clock=clock),
    )
    return Container(settings, database, vault, services)
