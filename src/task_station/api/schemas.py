"""Request and response bodies.

Money is ``Decimal`` in the station, so it travels as a JSON *string* in plain notation
(``"123.4500"``, never ``1.2345E+2`` and never a binary float). Requests accept strings
and also JSON numbers, which are converted through ``str`` so ``0.1`` stays ``0.1``.
Request bodies refuse unknown fields: a typo must not be silently ignored.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, SecretStr


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


class LoginRequest(_Request):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class BotCreate(_Request):
    name: str = Field(min_length=1, max_length=80)
    strategy: str = Field(min_length=1, max_length=80)
    params: dict[str, Any] = Field(default_factory=dict)
    quote_budget: MoneyIn
    symbol: str = "BTC/USDT"
    data_source: str = "synthetic:7"
    fee_bps: MoneyIn = Decimal("10")


# -- responses ---------------------------------------------------------------------------


class HealthOut(_Response):
    status: str
    version: str
    time: datetime


class UserOut(_Response):
    username: str
    role: str


class TokenOut(_Response):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 scheme name, not a secret
    expires_at: datetime
    user: UserOut


class BotOut(_Response):
    id: str
    name: str
    strategy: str
    params: dict[str, Any]
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


class StrategyOut(BaseModel):
    name: str
    description: str
    params: list[ParamOut]


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
