"""Live market data, venue-agnostic: what a feed publishes and the protocol it follows.

A feed (a ccxt exchange, a DEX pool, a replay) turns subscriptions into events on a
``publish`` callable, which the engine wires to its bus. Consumers (bots, charts, the
order-book keeper in ``marketdata.live``) never learn which venue or transport made
them. Every event carries the venue and the venue-local symbol; ``market`` gives the
station-wide ``venue:BASE/QUOTE`` name.

``FeedStatusChanged`` is how a feed tells the trader about trouble it handles itself:
a dropped socket and its reconnection (with the back-off delay), a book resync after a
sequence gap, trades recovered from REST after an outage, or a stream given up for a
reason only the trader can fix (bad credentials, an unknown market).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.events import Event
from task_station.domain.orders import OrderSide
from task_station.domain.symbols import MarketSymbol
from task_station.domain.timeframes import Timeframe

Level = tuple[Decimal, Decimal]


class StreamKind(StrEnum):
    TRADES = "trades"
    BOOK = "book"
    CANDLES = "candles"
    TICKER = "ticker"
    POOL = "pool"


@dataclass(frozen=True, slots=True)
class Subscription:
    """One stream of one market: ``timeframe`` for candles, ``depth`` for books."""

    kind: StreamKind
    symbol: str
    timeframe: str | None = None
    depth: int | None = None

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ValidationError("a subscription needs a symbol")
        if self.kind is StreamKind.CANDLES:
            if self.timeframe is None:
                raise ValidationError(f"candles of {self.symbol} need a timeframe, e.g. 1m")
            Timeframe.parse(self.timeframe)
        if self.depth is not None and self.depth < 1:
            raise ValidationError(f"book depth must be at least 1, got {self.depth}")

    def describe(self) -> str:
        extra = self.timeframe or (str(self.depth) if self.depth else "")
        return f"{self.kind.value} {self.symbol}{' ' + extra if extra else ''}"


class FeedStatus(StrEnum):
    CONNECTED = "connected"  # data flows (first data after a start or reconnect)
    POLLING = "polling"  # no websocket for this stream: REST polling instead
    DISCONNECTED = "disconnected"  # lost; ``retry_in`` seconds until the next attempt
    RESYNCING = "resyncing"  # book gap: loading a fresh snapshot
    GAP_FILLED = "gap_filled"  # missed data recovered from REST (``recovered`` items)
    GAP_UNFILLED = "gap_unfilled"  # REST could not prove the outage fully covered
    FAILED = "failed"  # given up: the detail says what the trader must fix
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class MarketEvent(Event):
    venue: str
    symbol: str

    @property
    def market(self) -> MarketSymbol:
        return MarketSymbol.of(self.venue, self.symbol)


@dataclass(frozen=True, slots=True)
class TradePrinted(MarketEvent):
    """A public trade. ``recovered``: it came from a REST gap-fill, not the live stream."""

    trade_id: str
    price: Decimal
    amount: Decimal
    side: OrderSide | None  # the taker's side, where the venue says
    recovered: bool = False


@dataclass(frozen=True, slots=True)
class BookUpdated(MarketEvent):
    """The best levels of a book after an update (best first); ``sequence`` is the
    venue's update id where it has one."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    sequence: int | None = None


@dataclass(frozen=True, slots=True)
class TickerUpdated(MarketEvent):
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None


@dataclass(frozen=True, slots=True)
class CandleUpdated(MarketEvent):
    """A candle changed (``closed=False``: it is still forming) or closed for good.

    ``source`` is ``venue`` for the venue's own candles and ``trades`` for candles the
    station built from the trade stream.
    """

    timeframe: str
    candle: Candle
    closed: bool
    source: str = "venue"


@dataclass(frozen=True, slots=True)
class PoolPriceUpdated(MarketEvent):
    """An AMM pool's price after a block: quote per base at the margin (no fee)."""

    pool: str
    price: Decimal
    base_reserve: Decimal
    quote_reserve: Decimal
    block: int
    reorg: bool = False


@dataclass(frozen=True, slots=True)
class FeedStatusChanged(MarketEvent):
    stream: StreamKind
    status: FeedStatus
    detail: str = ""
    retry_in: float | None = None
    recovered: int = 0


Publish = Callable[[Event], None]


class MarketDataFeed(Protocol):
    """A source of live market events for one venue."""

    @property
    def venue(self) -> str: ...

    def subscribe(self, subscription: Subscription) -> None:
        """Ask for a stream; may be called before or while ``run`` runs."""

    async def run(self, publish: Publish) -> None:
        """Publish events until ``stop`` is called; trouble is reported, not raised."""

    async def stop(self) -> None:
        """End ``run`` (subscriptions are closed) and release the connections."""
