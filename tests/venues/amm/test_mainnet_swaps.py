"""Real Ethereum mainnet swaps, replayed through the paper AMM.

The file holds 542 swaps on Uniswap-V2-style pairs decoded from call traces (see
``shared/data/SOURCES.md``); 500 carry the pair's reserves before the swap, 477 of them
on Uniswap V2 or SushiSwap. What the replay finds, and what the tests pin:

- 445 of the 477 paid out exactly ``getAmountOut(observed input)``: exact-input router
  swaps (or bots that compute the same thing). The paper venue, selling the observed
  input, receives the observed output to the wei and leaves the pool where the chain did.
- 31 paid in exactly ``getAmountIn(observed output)``: exact-output router swaps
  (``swapTokensForExactTokens``, ``swapETHForExactTokens``...). Their output is below
  ``getAmountOut(input)`` by the rounding of ``getAmountIn``; the paper venue buying
  the observed output pays the observed input to the wei.
- 1 sent more input than ``getAmountIn`` needs (a contract calling ``pair.swap`` itself
  and asking for less than the maximum); the paper exact-in swap gives more than it got.
- So for all 477, the observed output is at most the paper swap's output, and the pair's
  0.3 % fee invariant holds on the balances.
- 37 Uniswap V2 swaps also report an input on the *output* token: reflection tokens pay
  holders (the pair included) on every transfer. The reserves after carry that credit;
  the swap amounts do not depend on it.
- On the 23 swaps of unidentified V2 forks, one breaks the 0.3 % invariant: its output
  is exactly ``getAmountOut`` with a 0.25 % fee, a fork with a lower LP fee.
- 7 of the 500 inputs have more than 28 significant digits (up to 31): the replay widens
  the ``Decimal`` context, because ``Token.to_units``/``from_units`` round to the
  context's precision; with the default 28 digits the venue refuses such an order.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from pathlib import Path

import pytest

from task_station.domain.amm import get_amount_in, get_amount_out
from task_station.domain.clock import ManualClock
from task_station.domain.dex import PoolState, Token
from task_station.domain.orders import Order, OrderSide, OrderStatus, OrderType
from task_station.venues.amm.paper import PaperAmmVenue, PaperGas, PaperPool

CSV = "dex/ethereum/uniswap-v2-style-swaps-from-traces.csv"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
FREE_GAS = PaperGas(gas_per_swap=0)
ROUTER_PROTOCOLS = {"uniswap_v2", "sushiswap"}
LONG_INPUTS = 7  # inputs with more than 28 significant digits (up to 31)


@dataclass(frozen=True)
class Swap:
    """One mainnet swap seen from its direction: what went in, what came out."""

    protocol: str
    pair: str
    token_in: str
    token_out: str
    reserve_in: int
    reserve_out: int
    amount_in: int
    amount_out: int
    credit_out: int  # an "input" on the output token: a reflection token's transfer rebate
    after_in: int
    after_out: int
    raw: dict[str, str]

    def k_holds(self, fee_bps: int) -> bool:
        """``UniswapV2Pair.swap``'s check on the balances, with a given LP fee."""
        balance_in = self.reserve_in + self.amount_in
        balance_out = self.reserve_out - self.amount_out + self.credit_out
        adjusted_in = balance_in * 10_000 - self.amount_in * fee_bps
        adjusted_out = balance_out * 10_000 - self.credit_out * fee_bps
        return adjusted_in * adjusted_out >= self.reserve_in * self.reserve_out * 10_000**2


def load(shared_data: Path) -> tuple[list[dict[str, str]], list[Swap]]:
    path = shared_data / CSV
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    swaps = []
    for row in rows:
        if not row["reserve0_before"]:
            continue
        a0_in, a1_in = int(row["amount0_in"]), int(row["amount1_in"])
        a0_out, a1_out = int(row["amount0_out"]), int(row["amount1_out"])
        assert (a0_out > 0) != (a1_out > 0), row["tx_hash"]  # one token out, always
        zero_in = a1_out > 0
        ends = [
            (row["token0"], int(row["reserve0_before"]), a0_in, a0_out, int(row["reserve0_after"])),
            (row["token1"], int(row["reserve1_before"]), a1_in, a1_out, int(row["reserve1_after"])),
        ]
        (tin, rin, ain, _, after_in), (tout, rout, credit, aout, after_out) = (
            ends if zero_in else ends[::-1]
        )
        swap = Swap(row["protocol"], row["pair"], tin, tout, rin, rout, ain, aout, credit,
                    after_in, after_out, row)  # fmt: skip
        swaps.append(swap)
    return rows, swaps


def venue_for(swap: Swap, base_is_in: bool) -> PaperAmmVenue:
    """A paper wallet on the swap's pool, holding just what the trader spent."""
    token_in = Token(swap.token_in, "IN", 18)
    token_out = Token(swap.token_out, "OUT", 18)
    base, quote = (token_in, token_out) if base_is_in else (token_out, token_in)
    if swap.token_in == swap.raw["token0"]:
        pool = PoolState(swap.pair, token_in, token_out, swap.reserve_in, swap.reserve_out)
    else:
        pool = PoolState(swap.pair, token_out, token_in, swap.reserve_out, swap.reserve_in)
    return PaperAmmVenue(
        [PaperPool("IN/OUT" if base_is_in else "OUT/IN", base, quote, pool)],
        {"IN": Decimal(swap.amount_in).scaleb(-18)},
        ManualClock(T0),
        gas=FREE_GAS,
        slippage_bps=0,
    )


def wei(amount: Decimal) -> int:
    return int(amount.scaleb(18))


def sell_exact_in(swap: Swap) -> tuple[int, tuple[int, int]]:
    """Sell the observed input on the paper venue: (output received, reserves after)."""
    venue = venue_for(swap, base_is_in=True)
    order = Order("in", "paper-amm", "IN/OUT", OrderSide.SELL, OrderType.MARKET, T0,
                  quantity=Decimal(swap.amount_in).scaleb(-18))  # fmt: skip
    done = venue.submit_now(order)
    assert done.status is OrderStatus.FILLED, (done.reason, swap.raw["tx_hash"])
    assert wei(venue.balance("IN")) == 0
    pool = venue.pool("IN/OUT")
    return wei(venue.balance("OUT")), pool.reserves_for(swap.token_in)


def buy_exact_out(swap: Swap) -> tuple[int, tuple[int, int]]:
    """Buy the observed output on the paper venue: (input paid, reserves after)."""
    venue = venue_for(swap, base_is_in=False)
    order = Order("out", "paper-amm", "OUT/IN", OrderSide.BUY, OrderType.MARKET, T0,
                  quantity=Decimal(swap.amount_out).scaleb(-18))  # fmt: skip
    done = venue.submit_now(order)
    assert done.status is OrderStatus.FILLED, (done.reason, swap.raw["tx_hash"])
    assert wei(venue.balance("OUT")) == swap.amount_out
    pool = venue.pool("OUT/IN")
    return swap.amount_in - wei(venue.balance("IN")), pool.reserves_for(swap.token_in)


def test_the_file_is_the_one_described(shared_data: Path) -> None:
    rows, swaps = load(shared_data)
    assert len(rows) == 542
    assert len(swaps) == 500
    assert Counter(s.protocol for s in swaps) == {
        "uniswap_v2": 361,
        "sushiswap": 116,
        "unknown_v2_fork": 23,
    }
    for s in swaps:  # reserves after = before +/- the swap's amounts (from the pair's balances)
        assert (s.after_in, s.after_out) == (
            s.reserve_in + s.amount_in,
            s.reserve_out - s.amount_out + s.credit_out,
        ), s.raw["tx_hash"]
    assert sum(s.credit_out > 0 for s in swaps if s.protocol == "uniswap_v2") == 37


def test_uniswap_and_sushiswap_swaps_replay_exactly_on_the_paper_amm(shared_data: Path) -> None:
    _, swaps = load(shared_data)
    router_swaps = [s for s in swaps if s.protocol in ROUTER_PROTOCOLS]
    kinds: Counter[str] = Counter()
    with localcontext() as ctx:
        ctx.prec = 80  # inputs reach 31 digits; see the module docstring
        for s in router_swaps:
            assert s.k_holds(fee_bps=30), s.raw["tx_hash"]
            out, (r_in, r_out) = sell_exact_in(s)
            assert out == get_amount_out(s.amount_in, s.reserve_in, s.reserve_out)
            assert s.amount_out <= out, s.raw["tx_hash"]  # nobody beats the pool's formula
            if s.amount_out == out:
                kinds["exact input"] += 1
                # The paper pool stands where the pair did (less any reflection credit).
                assert (r_in, r_out) == (s.after_in, s.after_out - s.credit_out)
            elif s.amount_in == get_amount_in(s.amount_out, s.reserve_in, s.reserve_out):
                kinds["exact output"] += 1
                paid, (r_in, r_out) = buy_exact_out(s)
                assert paid == s.amount_in
                assert (r_in, r_out) == (s.after_in, s.after_out - s.credit_out)
            else:
                kinds["overpaid"] += 1
                assert s.amount_in > get_amount_in(s.amount_out, s.reserve_in, s.reserve_out)
    assert len(router_swaps) == 477
    assert kinds == {"exact input": 445, "exact output": 31, "overpaid": 1}


def test_the_unidentified_fork_swap_that_breaks_the_invariant_charges_a_lower_fee(
    shared_data: Path,
) -> None:
    _, swaps = load(shared_data)
    forks = [s for s in swaps if s.protocol == "unknown_v2_fork"]
    breaking = [s for s in forks if not s.k_holds(fee_bps=30)]
    assert len(forks) == 23 and len(breaking) == 1
    odd = breaking[0]
    assert odd.k_holds(fee_bps=25)
    assert odd.amount_out == get_amount_out(odd.amount_in, odd.reserve_in, odd.reserve_out, 25)
    assert odd.amount_out > get_amount_out(odd.amount_in, odd.reserve_in, odd.reserve_out, 30)
    venue = venue_for(odd, base_is_in=True)
    assert venue.quote("IN/OUT", OrderSide.SELL, Decimal(odd.amount_in).scaleb(-18)) < (
        Decimal(odd.amount_out) / Decimal(odd.amount_in)
    )  # a 0.3 % paper pool pays less than this fork did


def test_default_precision_refuses_the_longest_inputs_rather_than_rounding(
    shared_data: Path,
) -> None:
    _, swaps = load(shared_data)
    long_inputs = [s for s in swaps if len(str(s.amount_in).rstrip("0")) > 28]
    assert len(long_inputs) == LONG_INPUTS
    s = max(long_inputs, key=lambda x: x.amount_in)
    with localcontext() as ctx:
        ctx.prec = 80
        venue = venue_for(s, base_is_in=True)
        quantity = Decimal(s.amount_in).scaleb(-18)
    done = venue.submit_now(
        Order("in", "paper-amm", "IN/OUT", OrderSide.SELL, OrderType.MARKET, T0, quantity=quantity)
    )
    assert done.status is OrderStatus.REJECTED
    assert done.reason is not None and "more significant digits" in done.reason
