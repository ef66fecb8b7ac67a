"""The services bundle handed to every face."""

from __future__ import annotations

from dataclasses import dataclass, field

from task_station.domain.clock import Clock
from task_station.engine.bus import EventBus
from task_station.services.accounts import AccountService
from task_station.services.analytics import AnalyticsService
from task_station.services.audit import AuditService
from task_station.services.backtests import BacktestService
from task_station.services.bots import BotService
from task_station.services.dex import DexService
from task_station.services.health import HealthService
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
from task_station.services.users import AuthService, UserService


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a face may call. ``events`` is the bus, for subscribing only."""

    auth: AuthService
    users: UserService
    bots: BotService
    orders: OrderService
    portfolio: PortfolioService
    market: MarketService
    backtests: BacktestService
    events: EventBus
    clock: Clock
    accounts: AccountService
    dex: DexService
    proposals: ProposalService
    market_data: MarketDataService
    jobs: JobService
    notifications: NotificationService
    health: HealthService
    metrics: StationMetrics
    logs: LogService
    tasks: TaskService
    audit: AuditService
    market_live: LiveWatchService
    analytics: AnalyticsService
    settings: SettingsService
    presets: PresetService = field(default_factory=PresetService)
    strategies: StrategyService = field(default_factory=StrategyService)
