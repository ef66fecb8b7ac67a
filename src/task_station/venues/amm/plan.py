"""An order on an AMM becomes one swap: this decides which, with what protection.

Both the web3 venue and the paper AMM use these rules, so a paper fill is the fill the
chain would give. A swap fills now or reverts, so only market and limit orders exist:

- sell ``q`` base: exact input ``q``; minimum output from the slippage allowance
  (market) or from ``q * price`` rounded up (limit);
- buy ``q`` base: exact output ``q``; maximum input from the slippage allowance
  (market) or ``q * price`` rounded down (limit);
- buy for ``Q`` quote: exact input ``Q``; minimum base from slippage or ``Q / price``.

The router's own revert strings name a breached bound, so the paper AMM reports the
same reasons as the contracts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Context, Decimal, getcontext
from enum import StrEnum

from task_station.domain import amm
from task_station.domain.dex import WIDE_PRECISION, PoolState, Token
from task_station.domain.errors import ValidationError
from task_station.domain.orders import Order, OrderSide, OrderType

INSUFFICIENT_OUTPUT = "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT"
EXCESSIVE_INPUT = "UniswapV2Router: EXCESSIVE_INPUT_AMOUNT"
PAIR_INSUFFICIENT_OUTPUT = "UniswapV2: INSUFFICIENT_OUTPUT_AMOUNT"
BPS = 10_000


class SwapKind(StrEnum):
    EXACT_IN = "exact_in"  # swapExactTokensForTokens(amountIn, amountOutMin, ...)
    EXACT_OUT = "exact_out"  # swapTokensForExactTokens(amountOut, amountInMax, ...)


@dataclass(frozen=True, slots=True)
class SwapPlan:
    """One router call. ``limit_in``/``limit_out`` are the bounds the router enforces."""

    kind: SwapKind
    token_in: Token
    token_out: Token
    amount_in: int  # EXACT_IN: what we sell; EXACT_OUT: the maximum we pay (amountInMax)
    amount_out: int  # EXACT_IN: the minimum we accept (amountOutMin); EXACT_OUT: exact
    expected_in: int  # at the reserves the plan was made on
    expected_out: int

    @property
    def max_input(self) -> int:
        """The most of ``token_in`` the router may pull (what the allowance must cover)."""
        return self.amount_in


@dataclass(frozen=True, slots=True)
class SwapOutcome:
    """What a swap did (``reverted`` carries the router's reason when it did not)."""

    amount_in: int
    amount_out: int
    reverted: str | None = None


def ceil_units(token: Token, amount: Decimal) -> int:
    """Decimal -> smallest units, rounded up (a bound we must not undercut)."""
    wide = Context(prec=WIDE_PRECISION)
    return int(
        amount.scaleb(token.decimals, context=wide).to_integral_value(rounding=ROUND_CEILING)
    )


def plan_swap(
    order: Order, pool: PoolState, base: Token, quote: Token, *, slippage_bps: int
) -> SwapPlan:
    """The swap that executes ``order`` on ``pool`` now; ``ValidationError`` if none can."""
    if not 0 <= slippage_bps < BPS:
        raise ValidationError(f"slippage {slippage_bps} bps is out of range")
    if order.type not in (OrderType.MARKET, OrderType.LIMIT):
        raise ValidationError(
            f"{order.type} orders cannot run on an AMM: a swap fills now or reverts "
            "(use market or limit)"
        )
    for amount, token in ((order.quantity, base), (order.quote_quantity, quote)):
        if amount is not None and len(amount.as_tuple().digits) > getcontext().prec:
            # The order's own accounting (fills, remaining) would round such an amount.
            raise ValidationError(
                f"{amount} {token.symbol} has more significant digits than Decimal arithmetic "
                f"keeps here ({getcontext().prec}): it cannot be sized exactly"
            )
    price = order.price if order.type is OrderType.LIMIT else None
    if order.side is OrderSide.SELL:
        if order.quantity is None:
            raise ValidationError("a sell on an AMM needs a base quantity")
        return _exact_in(
            base,
            quote,
            base.to_units(order.quantity),
            pool,
            slippage_bps,
            None if price is None else ceil_units(quote, order.quantity * price),
        )
    if order.quantity is not None:
        amount_out = base.to_units(order.quantity)
        if amount_out <= 0:
            raise ValidationError(f"{order.quantity} {base.symbol} is below one smallest unit")
        r_in, r_out = pool.reserves_for(quote.address)
        expected_in = amm.get_amount_in(amount_out, r_in, r_out, pool.fee_bps)
        if price is None:
            max_in = expected_in * (BPS + slippage_bps) // BPS
        else:
            max_in = quote.to_units(order.quantity * price)
        return SwapPlan(
            SwapKind.EXACT_OUT, quote, base, max_in, amount_out, expected_in, amount_out
        )
    if order.quote_quantity is None:
        raise ValidationError("a buy needs a quantity or a quote quantity")
    spend = quote.to_units(order.quote_quantity)
    floor = None if price is None else ceil_units(base, order.quote_quantity / price)
    return _exact_in(quote, base, spend, pool, slippage_bps, floor)


def _exact_in(
    token_in: Token,
    token_out: Token,
    amount_in: int,
    pool: PoolState,
    slippage_bps: int,
    min_out: int | None,
) -> SwapPlan:
    if amount_in <= 0:
        raise ValidationError(f"the amount of {token_in.symbol} is below one smallest unit")
    r_in, r_out = pool.reserves_for(token_in.address)
    expected = amm.get_amount_out(amount_in, r_in, r_out, pool.fee_bps)
    if min_out is None:
        min_out = expected * (BPS - slippage_bps) // BPS
    return SwapPlan(SwapKind.EXACT_IN, token_in, token_out, amount_in, min_out, amount_in, expected)


def simulate(plan: SwapPlan, pool: PoolState) -> SwapOutcome:
    """Run ``plan`` against ``pool`` as the router would (no state is changed)."""
    r_in, r_out = pool.reserves_for(plan.token_in.address)
    if plan.kind is SwapKind.EXACT_IN:
        out = amm.get_amount_out(plan.amount_in, r_in, r_out, pool.fee_bps)
        if out < plan.amount_out:
            return SwapOutcome(0, 0, INSUFFICIENT_OUTPUT)
        if out == 0:  # the pair itself refuses to pay out nothing
            return SwapOutcome(0, 0, PAIR_INSUFFICIENT_OUTPUT)
        return SwapOutcome(plan.amount_in, out)
    if plan.amount_out >= r_out:
        return SwapOutcome(0, 0, "ds-math-sub-underflow")
    needed = amm.get_amount_in(plan.amount_out, r_in, r_out, pool.fee_bps)
    if needed > plan.amount_in:
        return SwapOutcome(0, 0, EXCESSIVE_INPUT)
    return SwapOutcome(needed, plan.amount_out)


def after_swap(pool: PoolState, token_in: Token, amount_in: int, amount_out: int) -> PoolState:
    """``pool`` with its reserves moved by a swap (what the pair's Sync would say)."""
    if token_in.address.lower() == pool.token0.address.lower():
        return replace(
            pool, reserve0=pool.reserve0 + amount_in, reserve1=pool.reserve1 - amount_out
        )
    return replace(pool, reserve1=pool.reserve1 + amount_in, reserve0=pool.reserve0 - amount_out)


def base_quote_amounts(plan: SwapPlan, outcome: SwapOutcome, base: Token) -> tuple[int, int]:
    """``(base units, quote units)`` that changed hands."""
    if plan.token_in.address.lower() == base.address.lower():
        return outcome.amount_in, outcome.amount_out
    return outcome.amount_out, outcome.amount_in
