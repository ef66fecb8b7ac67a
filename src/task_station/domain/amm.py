"""Constant-product AMM math, in exact integers, as the Uniswap V2 contracts do it.

Every function reproduces ``UniswapV2Library`` to the wei: the fee is taken from the
input (``amount_in * (10000 - fee_bps)``) and the divisions floor. Sizing helpers for
arbitrage work in the same integers so a size we compute is a size the pool honours.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import isqrt

from task_station.domain.errors import ValidationError

FEE_DENOMINATOR = 10_000


def _fee_factor(fee_bps: int) -> int:
    if not 0 <= fee_bps < FEE_DENOMINATOR:
        raise ValidationError(f"LP fee {fee_bps} bps is out of range")
    return FEE_DENOMINATOR - fee_bps


def get_amount_out(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int = 30) -> int:
    """Output of an exact-input swap (``UniswapV2Library.getAmountOut``)."""
    if amount_in <= 0:
        raise ValidationError("swap input must be positive")
    if reserve_in <= 0 or reserve_out <= 0:
        raise ValidationError("the pool has no liquidity")
    with_fee = amount_in * _fee_factor(fee_bps)
    return (with_fee * reserve_out) // (reserve_in * FEE_DENOMINATOR + with_fee)


def get_amount_in(amount_out: int, reserve_in: int, reserve_out: int, fee_bps: int = 30) -> int:
    """Input needed for an exact-output swap (``UniswapV2Library.getAmountIn``)."""
    if amount_out <= 0:
        raise ValidationError("swap output must be positive")
    if reserve_in <= 0 or reserve_out <= 0:
        raise ValidationError("the pool has no liquidity")
    if amount_out >= reserve_out:
        raise ValidationError("the pool does not hold that much of the output token")
    numerator = reserve_in * amount_out * FEE_DENOMINATOR
    denominator = (reserve_out - amount_out) * _fee_factor(fee_bps)
    return numerator // denominator + 1


def get_amounts_out(
    amount_in: int, reserves: Sequence[tuple[int, int]], fee_bps: int = 30
) -> list[int]:
    """Amounts along a path, one ``(reserve_in, reserve_out)`` per hop (``getAmountsOut``)."""
    amounts = [amount_in]
    for reserve_in, reserve_out in reserves:
        amounts.append(get_amount_out(amounts[-1], reserve_in, reserve_out, fee_bps))
    return amounts


def get_amounts_in(
    amount_out: int, reserves: Sequence[tuple[int, int]], fee_bps: int = 30
) -> list[int]:
    """Inputs along a path for an exact final output (``getAmountsIn``)."""
    amounts = [amount_out]
    for reserve_in, reserve_out in reversed(reserves):
        amounts.insert(0, get_amount_in(amounts[0], reserve_in, reserve_out, fee_bps))
    return amounts


def swap_reserves(
    amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int = 30
) -> tuple[int, int, int]:
    """``(amount_out, new_reserve_in, new_reserve_out)`` after an exact-input swap."""
    out = get_amount_out(amount_in, reserve_in, reserve_out, fee_bps)
    return out, reserve_in + amount_in, reserve_out - out


def optimal_input_to_price(
    reserve_in: int, reserve_out: int, price_num: int, price_den: int, fee_bps: int = 30
) -> int:
    """Input that moves the pool's marginal output price down to ``price_num/price_den``.

    Selling ``x`` of token *in* into the pool is worth it while the marginal output per
    input, ``f*r_in*r_out / (r_in + f*x)**2``, beats the price elsewhere (output per
    input, given as a fraction of integers). Solving for equality gives
    ``x = (sqrt(f*r_in*r_out*den/num) - r_in) / f``; zero when there is no edge.
    """
    if price_num <= 0 or price_den <= 0:
        raise ValidationError("a reference price must be positive")
    fee = _fee_factor(fee_bps)
    # Scale by FEE_DENOMINATOR so f = fee/FEE_DENOMINATOR stays integral.
    target_sq = fee * reserve_in * reserve_out * price_den * FEE_DENOMINATOR // price_num
    root = isqrt(target_sq)  # sqrt(f*r_in*r_out/p) * FEE_DENOMINATOR**0.5 ...
    # root = sqrt(fee*FEE_DEN*r_in*r_out*den/num) = FEE_DEN*sqrt(f*r_in*r_out*den/num)
    x = (root - reserve_in * FEE_DENOMINATOR) // fee
    return max(x, 0)
