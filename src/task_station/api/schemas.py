"""Request and response bodies.

Money is ``Decimal`` in the station, so it travels as a JSON *string* in plain notation
(``"123.4500"``, never ``1.2345E+2`` and never a binary float). Requests accept strings
and also JSON numbers, which are converted through ``str`` so ``0.1`` stays ``0.1``.
Request bodies refuse unknown fields: a typo must not be silently ignored.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, SecretStr

from task_station.domain.bots import BotDefinition
from task_station.domain.proposals import ControlMode
from task_station.domain.risk import PositionStops, RiskLimits, split_bot_params


def format_money(value: Decimal) -> str:
    """Render ``value`` exactly, in plain (non-scientific) notation."""
    return format(value, "f")


def _money_from_json(value: object) -> object:
    # bool is an int in Python: refuse it before pydantic's lax mode turns it into 1.
    if isinstance(value, bool):
        raise ValueError("must be a number or a numeric string, not a boolean")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    raise ValueError("must be a number or a numeric string")


#: Money in a response: serialized as an exact string.
Money = Annotated[Decimal, PlainSerializer(format_money, return_type=str)]
#: Money in a request: a numeric string or a JSON number (converted via ``str``).
MoneyIn = Annotated[Decimal, BeforeValidator(_money_from_json), Field(allow_inf_nan=False)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- requests ----------------------------------------------------------------------------


#: A whole number in a request; JSON ``true`` or ``2.5`` is refused, not converted.
CountIn = Annotated[int, Field(strict=True)]


class RiskLimitsIn(_Request):
    """A bot's limits; a field left out (or ``null``) is no limit. The station checks
    the ranges (positive values, a drawdown below 1) and names the field it refuses."""

    max_position: MoneyIn | None = Field(default=None, description="Base units per symbol.")
    max_order_notional: MoneyIn | None = Field(
        default=None, description="Quote currency per order."
    )
    max_open_orders: CountIn | None = None
    max_daily_loss: MoneyIn | None = Field(default=None, description="Quote currency per UTC day.")
    max_drawdown: MoneyIn | None = Field(default=None, description="Fraction of peak equity (0.2).")
    max_orders_per_minute: CountIn | None = None
    pause_on: list[str] | None = Field(
        default=None,
        description="Limits whose breach pauses the bot (default: daily loss, drawdown).",
    )

    def to_mapping(self) -> dict[str, object]:
        return self.model_dump(exclude_none=True)


class PositionStopsIn(_Request):
    """Exits the engine manages, in percent of the entry price (5 = 5 %)."""

    stop_loss_pct: MoneyIn | None = None
    take_profit_pct: MoneyIn | None = None
    trailing_stop_pct: MoneyIn | None = None

    def to_mapping(self) -> dict[str, object]:
        return self.model_dump(exclude_none=True)


class BotCreate(_Request):
    name: str = Field(min_length=1, max_length=80)
    strategy: str = Field(min_length=1, max_length=80)
    params: dict[str, Any] = Field(default_factory=dict)
    quote_budget: MoneyIn
    symbol: str = "BTC/USDT"
    data_source: str = "synthetic:7"
    fee_bps: MoneyIn = Decimal("10")
    risk_limits: RiskLimitsIn | None = None
    stops: PositionStopsIn | None = None
    control_mode: ControlMode = Field(
        default=ControlMode.AUTOMATED,
        description="Who decides its orders: automated, mixed or manual.",
    )


# -- responses ---------------------------------------------------------------------------


class BotParamsUpdate(_Request):
    """New strategy parameters for a stopped bot; ``stops`` replaces its position stops
    when given (its risk limits stay)."""

    params: dict[str, Any] = Field(default_factory=dict)
    stops: PositionStopsIn | None = None


class HealthOut(_Response):
    status: str
    version: str
    time: datetime


class LimitsOut(BaseModel):
    """Money and quantities as exact strings; ``null`` is no limit."""

    max_position: Money | None
    max_order_notional: Money | None
    max_open_orders: int | None
    max_daily_loss: Money | None
    max_drawdown: Money | None
    max_orders_per_minute: int | None
    pause_on: list[str]

    @classmethod
    def of(cls, limits: RiskLimits) -> LimitsOut:
        return cls(
            max_position=limits.max_position,
            max_order_notional=limits.max_order_notional,
            max_open_orders=limits.max_open_orders,
            max_daily_loss=limits.max_daily_loss,
            max_drawdown=limits.max_drawdown,
            max_orders_per_minute=limits.max_orders_per_minute,
            pause_on=sorted(k.value for k in limits.pause_on),
        )


class StopsOut(BaseModel):
    stop_loss_pct: Money | None
    take_profit_pct: Money | None
    trailing_stop_pct: Money | None

    @classmethod
    def of(cls, stops: PositionStops) -> StopsOut:
        return cls(
            stop_loss_pct=stops.stop_loss_pct,
            take_profit_pct=stops.take_profit_pct,
            trailing_stop_pct=stops.trailing_stop_pct,
        )


class BotOut(_Response):
    """A bot; ``params`` are its strategy's, its limits and stops are shown apart."""

    id: str
    name: str
    strategy: str
    params: dict[str, Any]
    risk_limits: LimitsOut
    stops: StopsOut
    venue: str
    symbol: str
    timeframe: str
    quote_budget: Money
    fee_bps: Money
    data_source: str
    mode: str
    control_mode: str  # automated, mixed or manual: who decides its orders
    status: str
    owner: str | None
    error: str | None
    created_at: datetime

    @classmethod
    def of(cls, bot: BotDefinition) -> BotOut:
        params, limits, stops = split_bot_params(bot.params)
        return cls(
            id=bot.id,
            name=bot.name,
            strategy=bot.strategy,
            params=params,
            risk_limits=LimitsOut.of(limits),
            stops=StopsOut.of(stops),
            venue=bot.venue,
            symbol=bot.symbol,
            timeframe=bot.timeframe,
            quote_budget=bot.quote_budget,
            fee_bps=bot.fee_bps,
            data_source=bot.data_source,
            mode=bot.mode.value,
            control_mode=bot.control_mode.value,
            status=bot.status.value,
            owner=bot.owner,
            error=bot.error,
            created_at=bot.created_at,
        )


class FillOut(_Response):
    trade_id: str
    client_order_id: str
    bot_id: str | None
    symbol: str
    side: str
    price: Money
    quantity: Money
    fee: Money
    fee_currency: str
    liquidity: str
    ts: datetime


class OrderOut(_Response):
    client_order_id: str
    bot_id: str | None
    venue: str
    symbol: str
    side: str
    type: str
    status: str
    quantity: Money | None
    quote_quantity: Money | None
    price: Money | None
    filled_quantity: Money
    filled_notional: Money
    average_price: Money | None
    fees: Money
    venue_order_id: str | None
    reason: str | None
    created_at: datetime
    updated_at: datetime | None


class PositionOut(_Response):
    symbol: str
    quantity: Money
    average_price: Money | None
    mark: Money | None
    realized_pnl: Money
    unrealized_pnl: Money
    fees_paid: Money


class BookOut(_Response):
    bot_id: str
    bot_name: str
    quote: str
    balances: dict[str, Money]
    positions: list[PositionOut]
    cash: Money
    equity: Money
    realized_pnl: Money
    unrealized_pnl: Money
    fees_paid: Money


class CandleOut(_Response):
    ts: datetime
    open: Money
    high: Money
    low: Money
    close: Money
    volume: Money


class ParamOut(BaseModel):
    """One tunable parameter; numbers of kind ``decimal`` are strings, like money."""

    name: str
    kind: str
    default: int | bool | str
    description: str
    minimum: int | bool | str | None
    maximum: int | bool | str | None
    step: int | str | None = Field(
        default=None, description="The grid a value sits on, from the minimum (or 0); null: any."
    )
    choices: list[str] | None = Field(default=None, description="The allowed values of a text one.")


class StrategyOut(BaseModel):
    name: str
    description: str
    params: list[ParamOut]
    origin: str = "builtin"
    """``builtin``, or ``user`` for a strategy file in the station's data directory."""
    file: str | None = None
    """The user strategy's file name (None for a built-in)."""


class StrategyReloadOut(BaseModel):
    """What ``POST /strategies/reload`` changed, and why files were refused."""

    added: list[str]
    updated: list[str]
    removed: list[str]
    errors: list[str]
    changed: bool


class ErrorOut(BaseModel):
    error: str
    detail: str


# --- exchange accounts -----------------------------------------------------------------


class AccountCreate(_Request):
    """Secrets travel in this body only; they are never echoed back."""

    name: str = Field(min_length=1, max_length=80)
    exchange_id: str = Field(min_length=1, max_length=40)
    api_key: SecretStr
    api_secret: SecretStr
    password: SecretStr | None = None
    sandbox: bool = False


class AccountOut(_Response):
    """The public face of an account: no key, no secret, no vault reference."""

    id: str
    name: str
    exchange_id: str
    sandbox: bool
    created_at: datetime


class ConnectionTestOut(_Response):
    account_id: str
    exchange_id: str
    assets: int
    checked_at: datetime
    ok: bool = True


class AccountBalanceOut(_Response):
    asset: str
    total: Money
    locked: Money
    free: Money
