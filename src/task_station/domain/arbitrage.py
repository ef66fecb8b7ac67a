"""Arbitrage as plain values: what the markets looked like, what to trade, what happened.

A strategy reads a ``MarketSnapshot`` (order books and AMM pools side by side, at one
instant) and answers with an ``ArbPlan``; the runtime executes it and records an
``ArbTradeResult``. Keeping these pure lets the same plan be sized in a test, replayed
from a recording and executed live, and lets the P&L be recomputed from the legs alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from task_station.domain import amm
from task_station.domain.dex import PoolState, Token
from task_station.domain.errors import ValidationError
from task_station.domain.money import ONE, ZERO
from task_station.domain.orders import OrderSide

Level = tuple[Decimal, Decimal]  # (price, base size)
VenueSymbol = tuple[str, str]  # (venue name, symbol)


class VenueKind(StrEnum):
    """How a venue trades: against an order book, or against a constant-product pool."""

    CEX = "cex"
    DEX = "dex"


def split_symbol(symbol: str) -> tuple[str, str]:
    base, sep, quote = symbol.partition("/")
    if not sep or not base or not quote:
        raise ValidationError(f"symbol {symbol!r} must look like BASE/QUOTE")
    return base, quote


# -- order books ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookSide:
    """One side of a book, best level first; sizes in base units."""

    levels: tuple[Level, ...]
    is_bid: bool

    def __post_init__(self) -> None:
        previous: Decimal | None = None
        for price, size in self.levels:
            if price <= ZERO or size <= ZERO:
                raise ValidationError(f"book level ({price}, {size}) must be positive")
            if previous is not None and (price >= previous if self.is_bid else price <= previous):
                side = "bids must descend" if self.is_bid else "asks must ascend"
                raise ValidationError(f"book levels out of order: {side}, best first")
            previous = price

    @classmethod
    def of(cls, levels: Iterable[tuple[Decimal, Decimal]], *, is_bid: bool) -> BookSide:
        return cls(tuple((Decimal(p), Decimal(s)) for p, s in levels), is_bid)

    @property
    def best(self) -> Level | None:
        return self.levels[0] if self.levels else None

    @property
    def depth(self) -> Decimal:
        return sum((s for _, s in self.levels), ZERO)

    def take(self, quantity: Decimal) -> tuple[Decimal, Decimal, Decimal | None]:
        """``(notional, filled, worst price)`` of taking ``quantity`` base, exactly."""
        if quantity < ZERO:
            raise ValidationError(f"cannot take a negative quantity {quantity}")
        notional = filled = ZERO
        worst: Decimal | None = None
        for price, size in self.levels:
            if filled >= quantity:
                break
            got = min(size, quantity - filled)
            notional += got * price
            filled += got
            worst = price
        return notional, filled, worst


@dataclass(frozen=True, slots=True)
class OrderBook:
    """A depth snapshot of one symbol on one order-book venue."""

    bids: BookSide
    asks: BookSide

    def __post_init__(self) -> None:
        if not self.bids.is_bid or self.asks.is_bid:
            raise ValidationError("an order book needs bids on the bid side and asks on the ask")

    @classmethod
    def of(
        cls,
        bids: Iterable[tuple[Decimal, Decimal]],
        asks: Iterable[tuple[Decimal, Decimal]],
    ) -> OrderBook:
        return cls(BookSide.of(bids, is_bid=True), BookSide.of(asks, is_bid=False))

    @property
    def best_bid(self) -> Decimal | None:
        best = self.bids.best
        return None if best is None else best[0]

    @property
    def best_ask(self) -> Decimal | None:
        best = self.asks.best
        return None if best is None else best[0]

    @property
    def mid(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        if bid is None or ask is None:
            return bid if ask is None else ask
        return (bid + ask) / 2

    def side_for(self, taker: OrderSide) -> BookSide:
        """The side a taker order consumes: a buy lifts the asks, a sell hits the bids."""
        return self.asks if taker is OrderSide.BUY else self.bids

    def walk(self, side: OrderSide, base_qty: Decimal) -> tuple[Decimal, Decimal]:
        """``(average price, filled)`` of a taker order of ``base_qty``; ``(0, 0)`` on an
        empty side. ``filled`` is below ``base_qty`` when the book is too thin."""
        notional, filled, _ = self.side_for(side).take(base_qty)
        return (notional / filled if filled else ZERO), filled

    def cost(self, side: OrderSide, base_qty: Decimal) -> tuple[Decimal, Decimal]:
        """``(notional, filled)``: like ``walk`` but exact (no division)."""
        notional, filled, _ = self.side_for(side).take(base_qty)
        return notional, filled


# -- AMM pools -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PoolMarket:
    """A pool seen as a market in ``base/quote``: which of its tokens is which."""

    pool: PoolState
    base: Token
    quote: Token

    def __post_init__(self) -> None:
        mine = {self.base.address.lower(), self.quote.address.lower()}
        theirs = {self.pool.token0.address.lower(), self.pool.token1.address.lower()}
        if mine != theirs or len(mine) != 2:
            raise ValidationError(
                f"{self.base.symbol}/{self.quote.symbol} are not the two tokens of {self.pool.pair}"
            )

    @property
    def reserves(self) -> tuple[int, int]:
        """``(base reserve, quote reserve)`` in smallest units."""
        return self.pool.reserves_for(self.base.address)

    @property
    def mid_price(self) -> Decimal:
        return self.pool.mid_price(self.base)

    def quote_out(self, base_in: int) -> int:
        """Quote units received for selling ``base_in`` base units (LP fee included)."""
        if base_in <= 0:
            return 0
        r_base, r_quote = self.reserves
        return amm.get_amount_out(base_in, r_base, r_quote, self.pool.fee_bps)

    def quote_in(self, base_out: int) -> int:
        """Quote units paid to receive exactly ``base_out`` base units."""
        if base_out <= 0:
            return 0
        r_base, r_quote = self.reserves
        return amm.get_amount_in(base_out, r_quote, r_base, self.pool.fee_bps)

    def with_reserves(self, reserve0: int, reserve1: int, block: int = 0) -> PoolMarket:
        pool = PoolState(
            self.pool.pair,
            self.pool.token0,
            self.pool.token1,
            reserve0,
            reserve1,
            block,
            self.pool.fee_bps,
        )
        return PoolMarket(pool, self.base, self.quote)


# -- the snapshot a strategy reads ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Every market an arbitrage watches, at one instant.

    ``native_price`` is the chain's gas token in the arbitrage's quote currency and
    ``gas_price_wei`` the going gas price; both optional (a CEX-only arbitrage needs
    neither).
    """

    ts: datetime
    books: Mapping[VenueSymbol, OrderBook] = field(default_factory=dict)
    pools: Mapping[VenueSymbol, PoolMarket] = field(default_factory=dict)
    native_price: Decimal | None = None
    gas_price_wei: int | None = None

    def book(self, venue: str, symbol: str) -> OrderBook:
        try:
            return self.books[(venue, symbol)]
        except KeyError:
            raise ValidationError(f"the snapshot has no {symbol} book on {venue}") from None

    def pool(self, venue: str, symbol: str) -> PoolMarket:
        try:
            return self.pools[(venue, symbol)]
        except KeyError:
            raise ValidationError(f"the snapshot has no {symbol} pool on {venue}") from None


# -- plans -----------------------------------------------------------------------------


class LegPolicy(StrEnum):
    """What to do when one leg filled and another did not (leg risk)."""

    UNWIND = "unwind"  # reverse the filled legs at market on their own venues
    HEDGE = "hedge"  # complete the failed leg at market elsewhere (or retry it once)
    HOLD_AND_ALERT = "hold_and_alert"  # keep the position, alert and pause


@dataclass(frozen=True, slots=True)
class ArbLeg:
    """One order of a plan. ``limit_price`` None means market."""

    venue: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    limit_price: Decimal | None
    expected_price: Decimal

    def __post_init__(self) -> None:
        split_symbol(self.symbol)
        if self.quantity <= ZERO:
            raise ValidationError(f"{self.symbol} leg quantity must be positive")
        if self.expected_price <= ZERO or (
            self.limit_price is not None and self.limit_price <= ZERO
        ):
            raise ValidationError(f"{self.symbol} leg prices must be positive")

    @property
    def base(self) -> str:
        return split_symbol(self.symbol)[0]

    @property
    def quote(self) -> str:
        return split_symbol(self.symbol)[1]


@dataclass(frozen=True, slots=True)
class ArbPlan:
    """Legs in execution order, the profit expected, and how to execute them.

    ``marks`` price every asset the legs touch in ``quote_asset`` (the quote asset itself
    counts 1): the result's P&L values leftover inventory and fees with them.
    """

    legs: tuple[ArbLeg, ...]
    quote_asset: str
    expected_gross: Decimal
    expected_net: Decimal
    reason: str
    marks: Mapping[str, Decimal] = field(default_factory=dict)
    policy: LegPolicy = LegPolicy.UNWIND
    parallel: bool = False
    strategy: str = ""

    def __post_init__(self) -> None:
        if not self.legs:
            raise ValidationError("an arbitrage plan needs at least one leg")
        unpriced = sorted(
            {a for leg in self.legs for a in (leg.base, leg.quote)}
            - set(self.marks)
            - {self.quote_asset}
        )
        if unpriced:
            raise ValidationError(f"the plan has no mark for {', '.join(unpriced)}")

    def mark(self, asset: str) -> Decimal | None:
        return ONE if asset == self.quote_asset else self.marks.get(asset)


# -- results -------------------------------------------------------------------------


class LegRole(StrEnum):
    PLANNED = "planned"
    UNWIND = "unwind"
    HEDGE = "hedge"


class ArbOutcome(StrEnum):
    COMPLETED = "completed"  # every planned leg filled in full
    UNWOUND = "unwound"  # a leg failed; the filled ones were reversed
    HEDGED = "hedged"  # a leg failed and was completed by a hedge
    HELD = "held"  # a leg failed and the position was kept (or repair failed)
    ABORTED = "aborted"  # the first leg failed before anything filled: nothing happened


@dataclass(frozen=True, slots=True)
class LegExecution:
    """What one order sent for a trade did (planned leg, unwind or hedge)."""

    role: LegRole
    venue: str
    symbol: str
    side: OrderSide
    requested: Decimal
    filled: Decimal = ZERO
    notional: Decimal = ZERO
    fee: Decimal = ZERO
    fee_currency: str = ""
    status: str = ""
    client_order_id: str | None = None
    reason: str | None = None
    gas: bool = False  # the fee is network gas paid for a swap, not a trading fee

    @property
    def complete(self) -> bool:
        return self.filled >= self.requested

    @property
    def average_price(self) -> Decimal | None:
        return self.notional / self.filled if self.filled else None


@dataclass(frozen=True, slots=True)
class ArbTradeResult:
    """A plan's execution and its P&L in the plan's quote asset.

    ``flows`` is the net change per asset (fees included); ``realized_pnl`` values them
    with the plan's marks, so a leftover position (HELD) is counted at the plan's price.
    """

    ts: datetime
    plan: ArbPlan
    executions: tuple[LegExecution, ...]
    outcome: ArbOutcome
    flows: Mapping[str, Decimal]
    fees: Decimal
    gas: Decimal
    realized_pnl: Decimal
    unpriced: tuple[str, ...] = ()
    note: str = ""

    @property
    def quote_asset(self) -> str:
        return self.plan.quote_asset


def asset_flows(executions: Iterable[LegExecution]) -> dict[str, Decimal]:
    """Net change per asset of ``executions``; a fee leaves in its own currency."""
    flows: dict[str, Decimal] = {}

    def add(asset: str, amount: Decimal) -> None:
        flows[asset] = flows.get(asset, ZERO) + amount

    for ex in executions:
        if not ex.filled and not ex.fee:
            continue
        base, quote = split_symbol(ex.symbol)
        sign = ex.side.sign
        add(base, sign * ex.filled)
        add(quote, -sign * ex.notional)
        if ex.fee:
            add(ex.fee_currency or quote, -ex.fee)
    return flows


def settle_trade(
    plan: ArbPlan,
    executions: Iterable[LegExecution],
    outcome: ArbOutcome,
    ts: datetime,
    note: str = "",
) -> ArbTradeResult:
    """The result of ``plan``: flows, fees, gas and P&L in the plan's quote asset."""
    done = tuple(executions)
    flows = asset_flows(done)
    unpriced: set[str] = set()

    def value(asset: str, amount: Decimal) -> Decimal:
        mark = plan.mark(asset)
        if mark is None:
            if amount:
                unpriced.add(asset)
            return ZERO
        return amount * mark

    fees = gas = ZERO
    for ex in done:
        if ex.fee:
            cost = value(ex.fee_currency or split_symbol(ex.symbol)[1], ex.fee)
            if ex.gas:
                gas += cost
            else:
                fees += cost
    pnl = sum((value(a, amt) for a, amt in sorted(flows.items())), ZERO)
    return ArbTradeResult(
        ts=ts,
        plan=plan,
        executions=done,
        outcome=outcome,
        flows=flows,
        fees=fees,
        gas=gas,
        realized_pnl=pnl,
        unpriced=tuple(sorted(unpriced)),
        note=note,
    )
