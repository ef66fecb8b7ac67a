"""How much to trade: the size that maximises an arbitrage's net profit.

CEX↔DEX: profit(q) = AMM curve (concave, LP fee inside) against the book (piecewise
linear, convex cost), so it is concave and its maximum is where the marginal AMM price
meets the effective price of the book level being walked. Walk the levels; within a
level, ``amm.optimal_input_to_price`` solves the curve for that price in exact integers;
if the answer lies before the level starts, the optimum is the level boundary. Gas is a
fixed cost: it does not move the optimum, it only decides whether trading beats not
trading. Fees and a slippage buffer are proportional to the CEX notional, so they fold
into the level's effective price.

Cross-CEX and triangular profits are piecewise linear: walk while the marginal unit
still earns more than its fees.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from task_station.domain import amm
from task_station.domain.arbitrage import BookSide, OrderBook, PoolMarket
from task_station.domain.dex import Token
from task_station.domain.errors import ValidationError
from task_station.domain.money import ONE, ZERO

#: Working precision for profit arithmetic: token amounts carry up to 36 digits.
_PREC = 80


def _wide() -> decimal.Context:
    return decimal.Context(prec=_PREC)


# -- CEX <-> DEX -------------------------------------------------------------------------


class CexDexDirection(StrEnum):
    BUY_DEX = "buy_dex_sell_cex"  # the pool is cheap: buy base there, sell it into the bids
    SELL_DEX = "buy_cex_sell_dex"  # the pool is rich: lift the asks, sell base into the pool


@dataclass(frozen=True, slots=True)
class CexDexCosts:
    """Rates are fractions (10 bps = 0.001); ``gas`` is one swap's cost in quote."""

    cex_fee: Decimal
    slippage: Decimal
    gas: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.cex_fee < ZERO or self.slippage < ZERO or self.gas < ZERO:
            raise ValidationError("fees, slippage and gas cannot be negative")
        if self.cex_fee + self.slippage >= ONE:
            raise ValidationError("the CEX fee and slippage buffer leave nothing to trade")

    @property
    def buy_factor(self) -> Decimal:
        """Quote paid per unit of CEX notional on a buy (fee and buffer included)."""
        return ONE + self.cex_fee + self.slippage

    @property
    def sell_factor(self) -> Decimal:
        return ONE - self.cex_fee - self.slippage


@dataclass(frozen=True, slots=True)
class CexDexLimits:
    """Caps on the base quantity: per trade, by balances, and the CEX lot step."""

    max_base: Decimal | None = None
    cex_base: Decimal | None = None
    cex_quote: Decimal | None = None
    dex_base: Decimal | None = None
    dex_quote: Decimal | None = None
    size_step: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CexDexSize:
    """The chosen trade and its expected money, in the quote currency."""

    direction: CexDexDirection
    base_units: int
    quantity: Decimal
    dex_quote_units: int  # quote paid to (BUY_DEX) or received from (SELL_DEX) the pool
    cex_notional: Decimal
    cex_worst: Decimal  # the last book level walked: the CEX leg's limit price
    gross: Decimal  # before the CEX fee, the buffer and gas (the LP fee is in the curve)
    cex_fee: Decimal
    buffer: Decimal
    gas: Decimal
    net: Decimal

    @property
    def cex_price(self) -> Decimal:
        return self.cex_notional / self.quantity

    def dex_amount(self, quote: Token) -> Decimal:
        return quote.from_units(self.dex_quote_units)


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and never in exponent form (``5``, not ``5.000``
    or ``5E+1``): what an exchange's API expects to read."""
    value = value.normalize()
    exponent = value.as_tuple().exponent
    return value.quantize(ONE) if isinstance(exponent, int) and exponent > 0 else value


def cex_dex_net(
    direction: CexDexDirection,
    base_units: int,
    book: OrderBook,
    pool: PoolMarket,
    costs: CexDexCosts,
) -> Decimal | None:
    """Net profit in quote of trading ``base_units``; None if the book or pool cannot."""
    parts = _cex_dex_parts(direction, base_units, book, pool, costs)
    return None if parts is None else parts[-1]


def _cex_dex_parts(
    direction: CexDexDirection,
    base_units: int,
    book: OrderBook,
    pool: PoolMarket,
    costs: CexDexCosts,
) -> tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal] | None:
    """``(dex quote units, cex notional, worst price, gross, cex fee, net)``."""
    if base_units <= 0:
        return None
    with decimal.localcontext(_wide()):
        qty = pool.base.from_units(base_units)
        if direction is CexDexDirection.SELL_DEX:
            notional, filled, worst = book.asks.take(qty)
            dex_units = pool.quote_out(base_units)
            gross = pool.quote.from_units(dex_units) - notional
        else:
            notional, filled, worst = book.bids.take(qty)
            r_base, _ = pool.reserves
            if base_units >= r_base:
                return None
            dex_units = pool.quote_in(base_units)
            gross = notional - pool.quote.from_units(dex_units)
        if filled < qty or worst is None:
            return None
        fee = notional * costs.cex_fee
        net = gross - fee - notional * costs.slippage - costs.gas
    return dex_units, notional, worst, gross, fee, net


def _marginal_units(
    direction: CexDexDirection, price: Decimal, pool: PoolMarket, costs: CexDexCosts
) -> int:
    """Base units at which the pool's marginal price meets the level's effective price."""
    base, quote, fee_bps = pool.base, pool.quote, pool.pool.fee_bps
    r_base, r_quote = pool.reserves
    with decimal.localcontext(_wide()):
        if direction is CexDexDirection.SELL_DEX:
            # Selling base into the pool: output quote per input base must beat the ask.
            num, den = (price * costs.buy_factor).as_integer_ratio()
            return amm.optimal_input_to_price(
                r_base, r_quote, num * 10**quote.decimals, den * 10**base.decimals, fee_bps
            )
        effective = price * costs.sell_factor
    if effective <= ZERO:
        return 0
    # Buying base with quote: output base per input quote must beat 1 / (bid * factor).
    num, den = effective.as_integer_ratio()
    spend = amm.optimal_input_to_price(
        r_quote, r_base, den * 10**base.decimals, num * 10**quote.decimals, fee_bps
    )
    return amm.get_amount_out(spend, r_quote, r_base, fee_bps) if spend > 0 else 0


def optimal_cex_dex_units(
    direction: CexDexDirection,
    book: OrderBook,
    pool: PoolMarket,
    costs: CexDexCosts,
    cap_units: int | None = None,
) -> int:
    """The base units maximising profit in ``direction`` (gas ignored: it is fixed); 0 if
    no size earns more than its proportional costs."""
    side = book.asks if direction is CexDexDirection.SELL_DEX else book.bids
    guess = _walk_levels(direction, side, pool, costs)
    capped = cap_units is not None and guess >= cap_units
    if cap_units is not None:
        guess = min(guess, cap_units)
    best, best_net = 0, ZERO
    # isqrt and the pool's floors leave the root a unit or so off; at a cap (concave
    # profit) the cap itself is the answer.
    for units in (guess,) if capped else (guess - 1, guess, guess + 1):
        if units <= 0 or (cap_units is not None and units > cap_units):
            continue
        net = cex_dex_net(direction, units, book, pool, _no_gas(costs))
        if net is not None and net > best_net:
            best, best_net = units, net
    return best


def _walk_levels(
    direction: CexDexDirection, side: BookSide, pool: PoolMarket, costs: CexDexCosts
) -> int:
    base = pool.base
    cum = ZERO
    cum_units = 0
    for price, size in side.levels:
        target = _marginal_units(direction, price, pool, costs)
        if target <= cum_units:
            return cum_units  # the edge ran out inside the previous level's price gap
        with decimal.localcontext(_wide()):
            cum += size
        top = base.to_units(cum)
        if target <= top:
            return target
        cum_units = top
    return cum_units


def _no_gas(costs: CexDexCosts) -> CexDexCosts:
    return CexDexCosts(costs.cex_fee, costs.slippage, ZERO)


def cex_dex_cap_units(
    direction: CexDexDirection,
    book: OrderBook,
    pool: PoolMarket,
    costs: CexDexCosts,
    limits: CexDexLimits,
) -> int | None:
    """The most base units the balances and the per-trade cap allow (None: no cap)."""
    base = pool.base
    caps: list[int] = []
    if limits.max_base is not None:
        caps.append(base.to_units(limits.max_base))
    if direction is CexDexDirection.SELL_DEX:
        if limits.dex_base is not None:
            caps.append(base.to_units(max(limits.dex_base, ZERO)))
        if limits.cex_quote is not None:
            afford = affordable(book.asks, limits.cex_quote, costs.cex_fee)
            caps.append(base.to_units(afford))
    else:
        if limits.cex_base is not None:
            caps.append(base.to_units(max(limits.cex_base, ZERO)))
        if limits.dex_quote is not None:
            with decimal.localcontext(_wide()) as ctx:
                ctx.rounding = ROUND_FLOOR
                budget = (limits.dex_quote - costs.gas) / (ONE + costs.slippage)
            spend = pool.quote.to_units(max(budget, ZERO))
            r_base, r_quote = pool.reserves
            caps.append(
                amm.get_amount_out(spend, r_quote, r_base, pool.pool.fee_bps) if spend else 0
            )
    return max(0, min(caps)) if caps else None


def affordable(asks: BookSide, budget: Decimal, fee: Decimal) -> Decimal:
    """Most base a ``budget`` buys walking ``asks`` when an order locks quantity * its
    worst price * (1 + fee) (the stricter of that lock and the actual cost)."""
    cum = ZERO
    with decimal.localcontext(_wide()) as ctx:
        ctx.rounding = ROUND_FLOOR
        for price, size in asks.levels:
            most = budget / (price * (ONE + fee))
            if most <= cum:
                return cum
            if most <= cum + size:
                return most
            cum += size
    return cum


def _stepped(units: int, step: int, cap: int | None) -> Iterator[int]:
    """The lot-aligned sizes either side of ``units`` (within ``cap``)."""
    low = units // step * step
    for cand in (low, low + step):
        if cand > 0 and (cap is None or cand <= cap):
            yield cand


def size_cex_dex(
    book: OrderBook,
    pool: PoolMarket,
    costs: CexDexCosts,
    limits: CexDexLimits | None = None,
) -> CexDexSize | None:
    """The best trade over both directions, or None when none beats its costs and gas."""
    limits = limits or CexDexLimits()
    best: CexDexSize | None = None
    for direction in CexDexDirection:
        found = _size_direction(direction, book, pool, costs, limits)
        if found is not None and (best is None or found.net > best.net):
            best = found
    return best


def _size_direction(
    direction: CexDexDirection,
    book: OrderBook,
    pool: PoolMarket,
    costs: CexDexCosts,
    limits: CexDexLimits,
) -> CexDexSize | None:
    base = pool.base
    cap_or_none = cex_dex_cap_units(direction, book, pool, costs, limits)
    step = 1
    if limits.size_step is not None and limits.size_step > ZERO:
        step = max(1, base.to_units(limits.size_step))
        if cap_or_none is not None:
            cap_or_none = cap_or_none // step * step
    units = optimal_cex_dex_units(direction, book, pool, costs, cap_or_none)
    if units <= 0:
        return None
    best: CexDexSize | None = None
    for cand in _stepped(units, step, cap_or_none):
        parts = _cex_dex_parts(direction, cand, book, pool, costs)
        if parts is None:
            continue
        dex_units, notional, worst, gross, fee, net = parts
        if best is None or net > best.net:
            best = CexDexSize(
                direction=direction,
                base_units=cand,
                quantity=plain(base.from_units(cand)),
                dex_quote_units=dex_units,
                cex_notional=notional,
                cex_worst=worst,
                gross=gross,
                cex_fee=fee,
                buffer=notional * costs.slippage,
                gas=costs.gas,
                net=net,
            )
    if best is None or best.net <= ZERO:
        return None
    return best


def dex_limit_price(
    buying: bool, quantity: Decimal, quote_amount: Decimal, quote: Token, slippage: Decimal
) -> Decimal:
    """The worst average price a swap may get: its expected price moved by the slippage
    allowance, rounded against us so the router's bound never undercuts the expectation."""
    exp = Decimal(1).scaleb(-(quote.decimals + 6))
    with decimal.localcontext(_wide()) as ctx:
        if buying:
            ctx.rounding = ROUND_CEILING
            price = quote_amount / quantity * (ONE + slippage)
            return price.quantize(exp, rounding=ROUND_CEILING)
        ctx.rounding = ROUND_FLOOR
        price = quote_amount / quantity * (ONE - slippage)
        return price.quantize(exp, rounding=ROUND_FLOOR)


# -- cross-CEX ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CrossCexSize:
    quantity: Decimal
    buy_notional: Decimal
    buy_worst: Decimal
    sell_notional: Decimal
    sell_worst: Decimal
    fees: Decimal
    buffer: Decimal
    gross: Decimal
    net: Decimal


def size_cross_cex(
    buy_book: OrderBook,
    sell_book: OrderBook,
    *,
    buy_fee: Decimal,
    sell_fee: Decimal,
    slippage: Decimal = ZERO,
    max_base: Decimal | None = None,
    buy_quote: Decimal | None = None,
    sell_base: Decimal | None = None,
    size_step: Decimal | None = None,
) -> CrossCexSize | None:
    """Lift ``buy_book``'s asks and hit ``sell_book``'s bids while a unit still earns
    more than both fees and the buffer; None when nothing does."""
    cap = _min_cap(max_base, sell_base)
    if buy_quote is not None:
        cap = _min_cap(cap, affordable(buy_book.asks, buy_quote, buy_fee))
    qty = ZERO
    asks, bids = list(buy_book.asks.levels), list(sell_book.bids.levels)
    i = j = 0
    used_a = used_b = ZERO
    with decimal.localcontext(_wide()):
        while i < len(asks) and j < len(bids):
            (ask, a_size), (bid, b_size) = asks[i], bids[j]
            if bid * (ONE - sell_fee) - ask * (ONE + buy_fee + slippage) <= ZERO:
                break
            chunk = min(a_size - used_a, b_size - used_b)
            if cap is not None:
                chunk = min(chunk, cap - qty)
            if chunk <= ZERO:
                break
            qty += chunk
            used_a += chunk
            used_b += chunk
            if used_a >= a_size:
                i, used_a = i + 1, ZERO
            if used_b >= b_size:
                j, used_b = j + 1, ZERO
    qty = plain(_floor_step(qty, size_step))
    if qty <= ZERO:
        return None
    with decimal.localcontext(_wide()):
        buy_n, _, buy_worst = buy_book.asks.take(qty)
        sell_n, _, sell_worst = sell_book.bids.take(qty)
        assert buy_worst is not None and sell_worst is not None
        fees = buy_n * buy_fee + sell_n * sell_fee
        buffer = buy_n * slippage
        gross = sell_n - buy_n
        net = gross - fees - buffer
    if net <= ZERO:
        return None
    return CrossCexSize(qty, buy_n, buy_worst, sell_n, sell_worst, fees, buffer, gross, net)


def _min_cap(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def _floor_step(value: Decimal, step: Decimal | None) -> Decimal:
    if step is None or step <= ZERO:
        return value
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def _ceil_step(value: Decimal, step: Decimal | None) -> Decimal:
    if step is None or step <= ZERO:
        return value
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


# -- triangular ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TriangleSize:
    """One cycle through A (home), B and C on books ``B/A``, ``C/B`` and ``C/A``.

    forward: A -> B -> C -> A (buy B/A, buy C/B, sell C/A);
    reverse: A -> C -> B -> A (buy C/A, sell C/B, sell B/A).
    ``b_quantity`` trades on ``B/A``; ``c_quantity`` on both ``C/B`` and ``C/A``.
    """

    forward: bool
    b_quantity: Decimal
    c_quantity: Decimal
    prices: tuple[Decimal, Decimal, Decimal]  # the B/A, C/B and C/A prices taken
    spent: Decimal  # A paid (fee included)
    received: Decimal  # A received (fee deducted)
    leftover_b: Decimal  # B bought but not needed (rounding to the lot step)
    fees: Decimal  # in A
    buffer: Decimal
    net: Decimal  # received - spent - buffer + leftover B valued at the B/A mid


def size_triangular(
    ba: OrderBook,
    cb: OrderBook,
    ca: OrderBook,
    *,
    fee: Decimal,
    slippage: Decimal = ZERO,
    max_start: Decimal | None = None,
    start_balance: Decimal | None = None,
    size_step: Decimal | None = None,
) -> TriangleSize | None:
    """The better of the two cycles at the top of the three books, or None."""
    budget = _min_cap(max_start, start_balance)
    found = [
        t
        for t in (
            _forward(ba, cb, ca, fee, slippage, budget, size_step),
            _reverse(ba, cb, ca, fee, slippage, budget, size_step),
        )
        if t is not None and t.net > ZERO
    ]
    return max(found, key=lambda t: t.net) if found else None


def _forward(
    ba: OrderBook,
    cb: OrderBook,
    ca: OrderBook,
    fee: Decimal,
    slip: Decimal,
    budget: Decimal | None,
    step: Decimal | None,
) -> TriangleSize | None:
    a1, a2, b3 = ba.asks.best, cb.asks.best, ca.bids.best
    mid = ba.mid
    if a1 is None or a2 is None or b3 is None or mid is None:
        return None
    (p1, s1), (p2, s2), (p3, s3) = a1, a2, b3
    with decimal.localcontext(_wide()) as ctx:
        ctx.rounding = ROUND_FLOOR  # sizes never exceed what a level offers
        per_c_b = p2 * (ONE + fee)  # B needed per C bought
        most = min(s2, s3, s1 / per_c_b)
        if budget is not None:
            most = min(most, budget / (per_c_b * p1 * (ONE + fee)))
        c = _floor_step(most, step)
        while c > ZERO:
            b = _ceil_step(c * per_c_b, step)
            spent = b * p1 * (ONE + fee)
            if b <= s1 and (budget is None or spent <= budget):
                break
            c = c - step if step else ZERO
        if c <= ZERO:
            return None
        received = c * p3 * (ONE - fee)
        leftover = b - c * per_c_b
        fees = b * p1 * fee + c * p2 * fee * p1 + c * p3 * fee
        buffer = spent * slip
        net = received - spent - buffer + leftover * mid
    b, c = plain(b), plain(c)
    return TriangleSize(True, b, c, (p1, p2, p3), spent, received, leftover, fees, buffer, net)


def _reverse(
    ba: OrderBook,
    cb: OrderBook,
    ca: OrderBook,
    fee: Decimal,
    slip: Decimal,
    budget: Decimal | None,
    step: Decimal | None,
) -> TriangleSize | None:
    b1, b2, a3 = ba.bids.best, cb.bids.best, ca.asks.best
    mid = ba.mid
    if b1 is None or b2 is None or a3 is None or mid is None:
        return None
    (p1, s1), (p2, s2), (p3, s3) = b1, b2, a3
    with decimal.localcontext(_wide()) as ctx:
        ctx.rounding = ROUND_FLOOR
        b_per_c = p2 * (ONE - fee)  # B received per C sold
        most = min(s3, s2, s1 / b_per_c)
        if budget is not None:
            most = min(most, budget / (p3 * (ONE + fee)))
        c = _floor_step(most, step)
        if c <= ZERO:
            return None
        got_b = c * b_per_c
        b = _floor_step(got_b, step)
        if b <= ZERO:
            return None
        spent = c * p3 * (ONE + fee)
        received = b * p1 * (ONE - fee)
        leftover = got_b - b
        fees = c * p3 * fee + c * p2 * fee * p1 + b * p1 * fee
        buffer = spent * slip
        net = received - spent - buffer + leftover * mid
    b, c = plain(b), plain(c)
    return TriangleSize(False, b, c, (p1, p2, p3), spent, received, leftover, fees, buffer, net)
