"""Events: immutable facts, named in the past tense, published on the bus."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from task_station.domain.bots import BotStatus
from task_station.domain.candles import Candle
from task_station.domain.fast_init import fast_init
from task_station.domain.orders import Fill, Order
from task_station.domain.proposals import ControlMode, Proposal


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event on the bus."""

    ts: datetime


@dataclass(frozen=True, slots=True)
class BarClosed(Event):
    bot_id: str | None
    venue: str
    symbol: str
    timeframe: str
    candle: Candle


@dataclass(frozen=True, slots=True)
class OrderUpdated(Event):
    """An order moved to a new state (submitted, accepted, rejected, canceled, ...)."""

    order: Order


@dataclass(frozen=True, slots=True)
class OrderDenied(Event):
    """A pre-trade check refused the order; it never reached the venue."""

    order: Order
    reason: str


@dataclass(frozen=True, slots=True)
class OrderFilled(Event):
    order: Order
    fill: Fill


@dataclass(frozen=True, slots=True)
class BotStatusChanged(Event):
    bot_id: str
    name: str
    status: BotStatus
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PortfolioChanged(Event):
    """Balances or positions of an account/bot changed; readers reload the snapshot."""

    bot_id: str | None
    equity: Decimal
    cash: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class ReconciliationCompleted(Event):
    """The order manager compared its orders with the venue and repaired what differed.

    Nothing is invented: every change below is backed by what the venue reported.
    """

    venue: str
    bot_id: str | None
    checked: int
    fills_recorded: tuple[str, ...]  # trade ids recorded only now
    status_changes: tuple[tuple[str, str, str], ...]  # (client id, from, to)
    unknown_to_venue: tuple[str, ...]  # client ids the venue never saw

    @property
    def changed(self) -> bool:
        return bool(self.fills_recorded or self.status_changes or self.unknown_to_venue)


@dataclass(frozen=True, slots=True)
class ArbitrageAlert(Event):
    """An arbitrage needs a human: a leg failed and was held, a repair failed, or its
    strategy kept failing. ``paused`` says whether it stopped making new plans."""

    bot_id: str | None
    strategy: str
    message: str
    paused: bool


@dataclass(frozen=True, slots=True)
class ArbitrageTradeCompleted(Event):
    """An arbitrage plan was executed (whatever the outcome); P&L in ``quote_asset``."""

    bot_id: str | None
    strategy: str
    outcome: str
    legs: int
    realized_pnl: Decimal
    fees: Decimal
    gas: Decimal
    quote_asset: str
    reason: str


@dataclass(frozen=True, slots=True)
class RiskBreached(Event):
    """A risk limit refused an order or a mark crossed one. ``paused``: this breach
    paused the bot (the runtime stops calling its strategy; its stops still work)."""

    bot_id: str | None
    limit: str  # a RiskLimitKind value, e.g. "max_daily_loss"
    scope: str  # "bot" or "global"
    message: str
    paused: bool


@dataclass(frozen=True, slots=True)
class KillSwitchChanged(Event):
    """The station's kill switch was engaged (every new order refused) or released."""

    engaged: bool
    actor: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class ProposalCreated(Event):
    """A mixed-mode bot's strategy asked for an order; it waits for a decision."""

    proposal: Proposal


@dataclass(frozen=True, slots=True)
class ProposalDecided(Event):
    """A proposal was approved, edited, rejected, expired, refused or auto-approved."""

    proposal: Proposal


@dataclass(frozen=True, slots=True)
class BotControlChanged(Event):
    """Who decides a bot's orders changed (mode or approval rules)."""

    bot_id: str
    mode: ControlMode
    actor: str


@dataclass(frozen=True, slots=True)
class BacktestProgress(Event):
    """A backtest run in a worker process got ``done`` of its ``total`` bars through."""

    run_id: str
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class BacktestFinished(Event):
    """A backtest run ended: ``status`` is finished, failed or cancelled; ``error`` says
    why a run failed; ``final_equity`` is known only for a finished run."""

    run_id: str
    status: str
    final_equity: Decimal | None
    error: str | None = None


for _hot in (BarClosed, OrderUpdated, OrderFilled, PortfolioChanged):  # per bar / order
    fast_init(_hot)
