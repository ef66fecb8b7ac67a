"""Market-data values the ccxt venue streams: small, frozen and exact (Decimal)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from task_station.domain.orders import OrderSide


@dataclass(frozen=True, slots=True)
class Ticker:
    symbol: str
    ts: datetime
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    base_volume: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PublicTrade:
    """A trade on the public tape (anyone's), not one of our fills."""

    id: str
    symbol: str
    ts: datetime
    side: OrderSide | None
    price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """Price levels best first: ``(price, amount)``."""

    symbol: str
    ts: datetime
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0][0] if self.asks else None
