"""Small builders of domain objects for the persistence tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from task_station.domain.bots import BotDefinition
from task_station.domain.orders import Fill, Order, OrderSide, OrderType
from task_station.domain.users import Role, User

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
#: A non-UTC zone, to prove values come back as the same instant in UTC.
PLUS_TWO = timezone(timedelta(hours=2))
BIG = Decimal("123456789.123456789012345678")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def limit_buy(
    client_order_id: str = "o-1",
    *,
    quantity: str = "2",
    price: str = "100.5",
    bot_id: str | None = "bot-1",
    created: float = 0,
) -> Order:
    return Order(
        client_order_id=client_order_id,
        venue="paper",
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        created_at=at(created),
        quantity=Decimal(quantity),
        price=Decimal(price),
        bot_id=bot_id,
    )


def fill_for(
    order: Order, trade_id: str, quantity: str, price: str = "100.5", *, ts: float = 1
) -> Fill:
    return Fill(
        trade_id=trade_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        price=Decimal(price),
        quantity=Decimal(quantity),
        fee=Decimal("0.000000000000000001"),
        fee_currency="USDT",
        liquidity="maker",
        ts=at(ts),
        bot_id=order.bot_id,
    )


def bot(bot_id: str = "bot-1", name: str = "grid one") -> BotDefinition:
    return BotDefinition(
        id=bot_id,
        name=name,
        strategy="grid",
        params={"levels": 5, "step": Decimal("0.000000000000000123"), "tags": ["a", "b"]},
        venue="paper",
        symbol="BTC/USDT",
        timeframe="1m",
        quote_budget=BIG,
        created_at=T0,
    )


def user(user_id: str = "u-1", username: str = "Alice") -> User:
    return User(
        id=user_id,
        username=username,
        role=Role.TRADER,
        created_at=T0,
        password_hash="$2b$12$abcdefghijklmnopqrstuv",
    )
