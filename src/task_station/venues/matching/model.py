"""The engine's working records, its configuration and the events it emits.

``WorkingOrder`` is a mutable, slotted mirror of a domain ``Order`` in integer lots: the
engine mutates it in place on the hot path, and the venue layer turns the emitted events
into domain transitions and venue reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from task_station.domain.money import ZERO
from task_station.domain.orders import OrderType, TimeInForce
from task_station.venues.matching.slippage import NO_SLIPPAGE, SlippageModel

MAKER = "maker"
TAKER = "taker"


@dataclass(frozen=True, slots=True)
class MatchingConfig:
    """How the simulated venue fills.

    The defaults reproduce the v1 paper venue exactly: no slippage, no volume cap and
    no latency. ``volume_participation`` caps each order to that fraction of a bar's
    volume per bar (the rest keeps working); ``latency`` delays when an order may first
    trade, in market time.
    """

    maker_fee: Decimal = ZERO
    taker_fee: Decimal = ZERO
    slippage: SlippageModel = NO_SLIPPAGE
    volume_participation: Decimal | None = None
    latency: timedelta = timedelta(0)

    @property
    def latency_ms(self) -> int:
        return int(self.latency.total_seconds() * 1000)


class WorkingOrder:
    """One live order inside the engine, in integer lots and ticks."""

    __slots__ = (
        "cid",
        "eligible_ms",
        "filled",
        "kind",
        "lock_per_lot",
        "locked",
        "lots",
        "post_only",
        "price",
        "quote_left",
        "reduce_only",
        "rested",
        "side",
        "ticks",
        "tif",
        "trigger",
        "triggered",
    )

    def __init__(
        self,
        cid: str,
        side: int,
        kind: OrderType,
        lots: int,
        price: Decimal | None,
        ticks: int,
        *,
        trigger: Decimal | None = None,
        quote: Decimal | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        post_only: bool = False,
        reduce_only: bool = False,
        eligible_ms: int = 0,
    ) -> None:
        self.cid = cid
        self.side = side
        self.kind = kind
        self.lots = lots  # 0 for a quote-sized market buy
        self.price = price
        self.ticks = ticks
        self.trigger = trigger
        self.quote_left = quote
        self.tif = tif
        self.post_only = post_only
        self.reduce_only = reduce_only
        self.eligible_ms = eligible_ms
        self.filled = 0
        self.locked = ZERO
        self.lock_per_lot = ZERO
        self.triggered = False
        # True once the order rests in the book: a resting order is hit at its own price.
        self.rested = post_only


@dataclass(slots=True)
class Accepted:
    cid: str


@dataclass(slots=True)
class Rejected:
    cid: str
    reason: str


@dataclass(slots=True)
class Triggered:
    cid: str


@dataclass(slots=True)
class Filled:
    cid: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    liquidity: str
    complete: bool


@dataclass(slots=True)
class Canceled:
    cid: str
    reason: str | None = None


EngineEvent = Accepted | Rejected | Triggered | Filled | Canceled
