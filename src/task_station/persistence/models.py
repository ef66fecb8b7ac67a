"""Declarative models for the whole schema.

The models mirror ``migrations/versions``; a test compares them with the migrated
database so the two cannot drift. Money columns are ``ExactDecimal``, timestamps
``UtcDateTime``, free-form documents ``JsonDocument``. The account book of the portfolio
is stored under the book key ``""`` (see ``ACCOUNT_BOOK``) so that a plain unique
constraint covers it on every backend; ``bot_id`` stays ``None`` in the domain.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from task_station.persistence.types import ExactDecimal, JsonDocument, UtcDateTime

#: Deterministic constraint names, so Alembic can drop and alter them by name later.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Book key of the account's own portfolio (``bot_id is None`` in the domain).
ACCOUNT_BOOK = ""

ID = String(64)
NAME = String(128)
SYMBOL = String(64)
KIND = String(32)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        Decimal: ExactDecimal(),
        datetime: UtcDateTime(),
        dict[str, Any]: JsonDocument(),
        str: String(255),
    }


# --- users and access -----------------------------------------------------------------


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    username: Mapped[str] = mapped_column(NAME, unique=True)  # stored lower-case
    role: Mapped[str] = mapped_column(KIND)
    password_hash: Mapped[str]
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class SessionRow(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    #: The login this link belongs to; every refresh adds a link to it (0010).
    family_id: Mapped[str] = mapped_column(ID, index=True)
    #: SHA-256 of the link's refresh token (the token itself is never stored).
    refresh_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    rotated_at: Mapped[datetime | None]
    client: Mapped[str | None]


class AccountRow(Base):
    """A venue account. ``secret_ref`` names a keyring entry; secrets never live here."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    venue: Mapped[str] = mapped_column(ID)
    sandbox: Mapped[bool] = mapped_column(Boolean)
    secret_ref: Mapped[str | None]
    created_at: Mapped[datetime]


# --- strategies and bots --------------------------------------------------------------


class StrategyRow(Base):
    __tablename__ = "strategies"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(NAME)
    version: Mapped[str] = mapped_column(KIND)
    params_schema: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class BotRow(Base):
    __tablename__ = "bots"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, index=True)
    strategy: Mapped[str] = mapped_column(NAME)
    params: Mapped[dict[str, Any]]
    venue: Mapped[str] = mapped_column(ID)
    symbol: Mapped[str] = mapped_column(SYMBOL)
    timeframe: Mapped[str] = mapped_column(String(16))
    quote_budget: Mapped[Decimal]
    created_at: Mapped[datetime]
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(NAME)
    error: Mapped[str | None] = mapped_column(Text)
    data_source: Mapped[str] = mapped_column(String(1024))
    fee_bps: Mapped[Decimal]
    control_mode: Mapped[str] = mapped_column(String(16), server_default="automated")
    #: Bars of its feed the bot has processed: where it resumes after a restart.
    bars_done: Mapped[int] = mapped_column(Integer, server_default="0")
    #: What its loss limits had measured (peak, daily start): limits survive a restart.
    risk_marks: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument, nullable=True)


# --- orders and fills -----------------------------------------------------------------


class OrderRow(Base):
    """An order's latest state. ``id`` only orders rows by insertion; the key is the
    client order id, which the station chooses before sending (write-ahead intent)."""

    __tablename__ = "orders"
    __table_args__ = (
        Index(None, "bot_id", "created_at"),
        Index(None, "status"),
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(ID, unique=True)
    venue: Mapped[str] = mapped_column(ID)
    symbol: Mapped[str] = mapped_column(SYMBOL)
    side: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    quantity: Mapped[Decimal | None]
    quote_quantity: Mapped[Decimal | None]
    price: Mapped[Decimal | None]
    bot_id: Mapped[str | None] = mapped_column(ID)
    trigger_price: Mapped[Decimal | None]
    time_in_force: Mapped[str] = mapped_column(String(8), server_default="gtc")
    post_only: Mapped[bool] = mapped_column(Boolean, server_default=false())
    reduce_only: Mapped[bool] = mapped_column(Boolean, server_default=false())
    status: Mapped[str] = mapped_column(String(24))
    filled_quantity: Mapped[Decimal]
    filled_notional: Mapped[Decimal]
    fees: Mapped[Decimal]
    venue_order_id: Mapped[str | None] = mapped_column(String(128), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None]
    tag: Mapped[str | None] = mapped_column(String(128))


class FillRow(Base):
    """One execution. ``trade_id`` is unique per order: venues number trades per market,
    so two venues may reuse an id, but one order never sees the same trade twice."""

    __tablename__ = "fills"
    __table_args__ = (
        UniqueConstraint("order_id", "trade_id"),
        Index(None, "bot_id", "ts"),
        Index(None, "ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    trade_id: Mapped[str] = mapped_column(String(128))
    symbol: Mapped[str] = mapped_column(SYMBOL)
    side: Mapped[str] = mapped_column(String(8))
    price: Mapped[Decimal]
    quantity: Mapped[Decimal]
    fee: Mapped[Decimal]
    fee_currency: Mapped[str] = mapped_column(String(32))
    liquidity: Mapped[str] = mapped_column(String(8))
    ts: Mapped[datetime]
    bot_id: Mapped[str | None] = mapped_column(ID)


# --- portfolio ------------------------------------------------------------------------


class PortfolioBookRow(Base):
    """One saved book; its presence tells a saved-empty book from one never saved."""

    __tablename__ = "portfolio_books"

    book: Mapped[str] = mapped_column(ID, primary_key=True)  # ACCOUNT_BOOK or a bot id
    saved_at: Mapped[datetime]


class BalanceRow(Base):
    __tablename__ = "balances"
    __table_args__ = (UniqueConstraint("book", "asset"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    book: Mapped[str] = mapped_column(ForeignKey("portfolio_books.book", ondelete="CASCADE"))
    asset: Mapped[str] = mapped_column(String(32))
    total: Mapped[Decimal]
    locked: Mapped[Decimal]


class PositionRow(Base):
    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("book", "symbol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    book: Mapped[str] = mapped_column(ForeignKey("portfolio_books.book", ondelete="CASCADE"))
    symbol: Mapped[str] = mapped_column(SYMBOL)
    quantity: Mapped[Decimal]
    cost: Mapped[Decimal]
    realized_pnl: Mapped[Decimal]
    fees_paid: Mapped[Decimal]


class MarkRow(Base):
    """The mark prices a book was valued at when it was saved."""

    __tablename__ = "portfolio_marks"
    __table_args__ = (UniqueConstraint("book", "symbol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    book: Mapped[str] = mapped_column(ForeignKey("portfolio_books.book", ondelete="CASCADE"))
    symbol: Mapped[str] = mapped_column(SYMBOL)
    price: Mapped[Decimal]


# --- task automation ------------------------------------------------------------------


class TaskRow(Base):
    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean)
    owner: Mapped[str | None] = mapped_column(NAME)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    #: Runs missed while the station was down: skip, run_once or run_all (0008).
    missed_runs: Mapped[str] = mapped_column(String(16), server_default="skip")
    grace_seconds: Mapped[int | None] = mapped_column(Integer)


class TriggerRow(Base):
    """What starts a task: ``kind`` is e.g. cron, price, bot_event or webhook."""

    __tablename__ = "triggers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(KIND)
    config: Mapped[dict[str, Any]]
    enabled: Mapped[bool] = mapped_column(Boolean)
    #: A webhook trigger's public id (``POST /webhooks/{hook_id}``); its secret is in
    #: the vault, never here.
    hook_id: Mapped[str | None] = mapped_column(String(64), unique=True)


class ActionRow(Base):
    """One step of a task, run in ``position`` order."""

    __tablename__ = "actions"
    __table_args__ = (UniqueConstraint("task_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(KIND)
    config: Mapped[dict[str, Any]]


class RunRow(Base):
    """One run of a task: why it ran, how each action ended, its log lines."""

    __tablename__ = "runs"
    __table_args__ = (Index(None, "task_id", "started_at"), Index(None, "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    trigger_id: Mapped[int | None] = mapped_column(ForeignKey("triggers.id", ondelete="SET NULL"))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    output: Mapped[str | None] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(String(64), server_default="manual")
    scheduled_for: Mapped[datetime | None]
    logs: Mapped[list[Any] | None] = mapped_column(JsonDocument, nullable=True)
    outcomes: Mapped[list[Any] | None] = mapped_column(JsonDocument, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument, nullable=True)


class WebhookReceiptRow(Base):
    """The fingerprint of an accepted webhook alert: unique per trigger, so the same
    alert delivered twice (even at the same moment) runs its task once."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (UniqueConstraint("trigger_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trigger_id: Mapped[int] = mapped_column(ForeignKey("triggers.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))


class TaskScheduleRow(Base):
    """APScheduler's job store (``SQLAlchemyJobStore``'s own layout): each cron or
    interval trigger's schedule and next run time, pickled by APScheduler."""

    __tablename__ = "task_schedules"

    id: Mapped[str] = mapped_column(String(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float, index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)


class KillSwitchRow(Base):
    """The station's kill switch (one row, ``id`` = ``KILL_SWITCH_ID``), so an engaged
    switch stays engaged across a restart."""

    __tablename__ = "kill_switch"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    engaged: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str | None] = mapped_column(NAME)
    reason: Mapped[str | None] = mapped_column(Text)
    since: Mapped[datetime | None]


KILL_SWITCH_ID = "station"


# --- logs and market data -------------------------------------------------------------


class AuditEventRow(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str | None] = mapped_column(NAME, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str]
    detail: Mapped[str] = mapped_column(Text)
    # The hash chain (0010, see ``domain.audit``): the face, the state before and after
    # (canonical JSON), the previous event's hash and this event's own.
    face: Mapped[str] = mapped_column(String(16), server_default="system")
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class SystemLogRow(Base):
    __tablename__ = "system_logs"
    __table_args__ = (Index(None, "level", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    level: Mapped[str] = mapped_column(String(16))
    logger: Mapped[str]
    message: Mapped[str] = mapped_column(Text)


class PriceTickRow(Base):
    """The latest tick per venue and symbol (history lives in Parquet, not here)."""

    __tablename__ = "price_ticks"

    venue: Mapped[str] = mapped_column(ID, primary_key=True)
    symbol: Mapped[str] = mapped_column(SYMBOL, primary_key=True)
    ts: Mapped[datetime]
    bid: Mapped[Decimal | None]
    ask: Mapped[Decimal | None]
    last: Mapped[Decimal | None]


# --- DEX registry ---------------------------------------------------------------------

ADDRESS = String(42)


class ChainRow(Base):
    """An EVM chain. ``rpc_url`` is the display form (API keys masked); the full URL is
    in the vault under ``rpc_secret_ref`` when it has a secret part."""

    __tablename__ = "chains"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    rpc_url: Mapped[str] = mapped_column(String(1024))
    native_symbol: Mapped[str] = mapped_column(String(32))
    rpc_secret_ref: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]


class WalletRow(Base):
    """A wallet on a chain. ``secret_ref`` names the vault entry of a signing wallet's
    key; the key itself never lives here. Watch-only wallets have none."""

    __tablename__ = "wallets"
    __table_args__ = (UniqueConstraint("chain_id", "address"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("chains.chain_id"))
    address: Mapped[str] = mapped_column(ADDRESS)
    label: Mapped[str] = mapped_column(NAME)
    watch_only: Mapped[bool] = mapped_column(Boolean)
    secret_ref: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]


class DexRow(Base):
    """A Uniswap V2-compatible DEX (router, factory, LP fee) on a chain."""

    __tablename__ = "dexes"
    __table_args__ = (UniqueConstraint("chain_id", "name"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("chains.chain_id"))
    name: Mapped[str] = mapped_column(NAME)
    router: Mapped[str] = mapped_column(ADDRESS)
    factory: Mapped[str] = mapped_column(ADDRESS)
    fee_bps: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class DexTokenRow(Base):
    """A token the trader follows on one DEX (its pools are listed and quoted)."""

    __tablename__ = "dex_tokens"
    __table_args__ = (UniqueConstraint("dex_id", "address"), UniqueConstraint("dex_id", "symbol"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dex_id: Mapped[str] = mapped_column(ID, ForeignKey("dexes.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(ADDRESS)
    symbol: Mapped[str] = mapped_column(SYMBOL)
    decimals: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


# --- proposals of mixed-mode bots -----------------------------------------------------


class ProposalRow(Base):
    """An order a strategy proposed and its decision. The command's fields are columns
    (money exact); ``edited`` says whether the ``edited_*`` columns are the order sent."""

    __tablename__ = "proposals"
    __table_args__ = (Index(None, "bot_id", "created_at"), Index(None, "status"))

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    bot_id: Mapped[str] = mapped_column(ID, ForeignKey("bots.id", ondelete="CASCADE"))
    symbol: Mapped[str] = mapped_column(SYMBOL)
    side: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal | None]
    quote_quantity: Mapped[Decimal | None]
    price: Mapped[Decimal | None]
    trigger_price: Mapped[Decimal | None]
    time_in_force: Mapped[str] = mapped_column(String(8))
    post_only: Mapped[bool] = mapped_column(Boolean)
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    tag: Mapped[str | None] = mapped_column(String(128))
    reference_price: Mapped[Decimal]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(NAME)
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    edited: Mapped[bool] = mapped_column(Boolean)
    edited_quantity: Mapped[Decimal | None]
    edited_quote_quantity: Mapped[Decimal | None]
    edited_price: Mapped[Decimal | None]
    client_order_id: Mapped[str | None] = mapped_column(ID)


class ApprovalRulesRow(Base):
    """A bot's approval rules (absent: the defaults)."""

    __tablename__ = "approval_rules"

    bot_id: Mapped[str] = mapped_column(
        ID, ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True
    )
    expiry_seconds: Mapped[int] = mapped_column(Integer)
    max_drift_bps: Mapped[Decimal | None]
    auto_approve_below: Mapped[Decimal | None]
    auto_approve_within_bps: Mapped[Decimal | None]
    updated_at: Mapped[datetime]


# --- backtest runs ----------------------------------------------------------------------


class BacktestRunRow(Base):
    """One backtest run submitted to the worker processes: its inputs, its progress and
    what came out (``result`` holds the trades and a downsampled equity curve, capped
    so a row stays small; the full report is a file at ``report_path``)."""

    __tablename__ = "backtest_runs"
    __table_args__ = (Index(None, "created_at"), Index(None, "status"))

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(NAME)
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float)
    strategy: Mapped[str] = mapped_column(NAME)
    params: Mapped[dict[str, Any]]
    symbol: Mapped[str] = mapped_column(SYMBOL)
    timeframe: Mapped[str] = mapped_column(String(16))
    data_source: Mapped[str] = mapped_column(Text)
    bars: Mapped[int] = mapped_column(Integer)
    cash: Mapped[Decimal]
    fee_bps: Mapped[Decimal]
    final_equity: Mapped[Decimal | None]
    trade_count: Mapped[int | None] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    report_path: Mapped[str | None] = mapped_column(Text)


# --- background jobs and notifications ------------------------------------------------


class JobRow(Base):
    """One job of the persistent queue (see ``persistence.jobs``). ``claim_token`` is
    new for each attempt: only the worker holding it may extend the lease or end it."""

    __tablename__ = "jobs"
    __table_args__ = (Index(None, "state", "run_after"), Index(None, "created_at"))

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str]
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_by: Mapped[str | None] = mapped_column(NAME)
    created_at: Mapped[datetime]
    run_after: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(128))
    claim_token: Mapped[str | None] = mapped_column(ID)
    cancel_requested: Mapped[bool] = mapped_column(Boolean)
    progress: Mapped[float] = mapped_column(Float)
    progress_text: Mapped[str | None] = mapped_column(Text)
    steps: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)


class NotificationRow(Base):
    """One entry of the in-app notification feed."""

    __tablename__ = "notifications"
    __table_args__ = (Index(None, "ts"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    ts: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[int] = mapped_column(Integer)
    title: Mapped[str]
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]]
    read_at: Mapped[datetime | None]


class NotificationChannelRow(Base):
    """A notification channel and its routing rule; its secret is in the vault under
    ``secret_ref`` (never here)."""

    __tablename__ = "notification_channels"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean)
    kinds: Mapped[list[str]] = mapped_column(JsonDocument)  # shell patterns; [] = all
    min_severity: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]]
    rate_per_minute: Mapped[float] = mapped_column(Float)
    burst: Mapped[int] = mapped_column(Integer)
    secret_ref: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
