"""Sizing: the size returned is the most profitable one.

The profit is recomputed here from first principles (walk the levels by hand, the
Uniswap V2 integer formulas), not with the code under test, and compared at the size
returned, at sizes 1 % and 10 % either side, and at every level boundary.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_CEILING, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from task_station.domain import amm
from task_station.domain.arbitrage import OrderBook, PoolMarket
from task_station.domain.dex import PoolState, Token
from task_station.strategies.arbitrage.sizing import (
    CexDexCosts,
    CexDexDirection,
    CexDexLimits,
    cex_dex_net,
    dex_limit_price,
    optimal_cex_dex_units,
    size_cex_dex,
    size_cross_cex,
    size_triangular,
)

D = Decimal
WETH = Token("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "WETH", 18)
USDC = Token("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USDC", 6)
SELL_DEX, BUY_DEX = CexDexDirection.SELL_DEX, CexDexDirection.BUY_DEX
WIDE = decimal.Context(prec=100)


def pool(eth: int, price: Decimal, fee_bps: int = 30) -> PoolMarket:
    r_base = eth * 10**18
    r_quote = int(D(eth) * price * 10**6)
    state = PoolState("0x" + "22" * 20, USDC, WETH, r_quote, r_base, fee_bps=fee_bps)
    return PoolMarket(state, WETH, USDC)


def book(mid: Decimal, gap_bps: int, sizes: list[Decimal]) -> OrderBook:
    step = mid * gap_bps / 10_000
    bids = [((mid - step * (i + 1)).quantize(D("0.01")), s) for i, s in enumerate(sizes)]
    asks = [((mid + step * (i + 1)).quantize(D("0.01")), s) for i, s in enumerate(sizes)]
    return OrderBook.of(bids, asks)


def reference_profit(
    direction: CexDexDirection,
    units: int,
    b: OrderBook,
    pm: PoolMarket,
    fee: Decimal,
    slip: Decimal,
) -> Decimal | None:
    """Net profit before gas, computed without the module under test."""
    with decimal.localcontext(WIDE):
        qty = WETH.from_units(units)
        levels = b.asks.levels if direction is SELL_DEX else b.bids.levels
        left, notional = qty, D(0)
        for price, size in levels:
            take = min(size, left)
            notional += take * price
            left -= take
        if left > 0:
            return None
        r_base, r_quote = pm.pool.reserve1, pm.pool.reserve0
        fee_bps = pm.pool.fee_bps
        if direction is SELL_DEX:
            out = amm.get_amount_out(units, r_base, r_quote, fee_bps)
            return USDC.from_units(out) - notional * (1 + fee + slip)
        if units >= r_base:
            return None
        paid = amm.get_amount_in(units, r_quote, r_base, fee_bps)
        return notional * (1 - fee - slip) - USDC.from_units(paid)


def boundaries(b: OrderBook, direction: CexDexDirection) -> list[int]:
    levels = b.asks.levels if direction is SELL_DEX else b.bids.levels
    cum, out = D(0), []
    for _, size in levels:
        cum += size
        out.append(WETH.to_units(cum))
    return out


sizes_st = st.lists(
    st.decimals(min_value=D("0.01"), max_value=D("40"), places=2), min_size=1, max_size=6
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    eth=st.integers(min_value=20, max_value=20_000),
    price=st.decimals(min_value=D("200"), max_value=D("5000"), places=2),
    gap_pct=st.decimals(min_value=D("-4"), max_value=D("4"), places=2),
    level_bps=st.integers(min_value=1, max_value=60),
    sizes=sizes_st,
    fee_bps=st.integers(min_value=0, max_value=30),
    slip_bps=st.integers(min_value=0, max_value=20),
    lp_fee=st.sampled_from([5, 30, 100]),
)
def test_the_returned_size_beats_its_neighbours_and_every_level_boundary(
    eth: int,
    price: Decimal,
    gap_pct: Decimal,
    level_bps: int,
    sizes: list[Decimal],
    fee_bps: int,
    slip_bps: int,
    lp_fee: int,
) -> None:
    pm = pool(eth, price, lp_fee)
    b = book((price * (1 + gap_pct / 100)).quantize(D("0.01")), level_bps, sizes)
    fee, slip = D(fee_bps) / 10_000, D(slip_bps) / 10_000
    costs = CexDexCosts(fee, slip)
    for direction in CexDexDirection:
        best = optimal_cex_dex_units(direction, b, pm, costs)
        others = [int(best * f) for f in (D("0.99"), D("1.01"), D("0.9"), D("1.1"))] + boundaries(
            b, direction
        )
        others += [10**12, 10**15, 10**17]  # small trades
        rivals = [
            p
            for u in others
            if u > 0 and (p := reference_profit(direction, u, b, pm, fee, slip)) is not None
        ]
        if best == 0:
            assert all(p <= 0 for p in rivals), (direction, rivals)
            continue
        mine = reference_profit(direction, best, b, pm, fee, slip)
        assert mine is not None and mine > 0
        assert mine == cex_dex_net(direction, best, b, pm, costs)
        # The pool pays whole quote units (1e-6 USDC): profit is a staircase near the top,
        # so a neighbour may beat the optimum by less than one unit, never by more.
        one_unit = USDC.from_units(1)
        assert all(mine >= p - one_unit for p in rivals), (direction, best, mine, max(rivals))


def test_no_edge_means_no_size() -> None:
    pm = pool(1000, D("2000"))
    b = book(D("2000"), 2, [D("5"), D("5")])
    costs = CexDexCosts(D("0.001"), D("0.0005"))
    assert optimal_cex_dex_units(SELL_DEX, b, pm, costs) == 0
    assert optimal_cex_dex_units(BUY_DEX, b, pm, costs) == 0
    assert size_cex_dex(b, pm, costs) is None


def test_gas_larger_than_the_edge_means_no_trade() -> None:
    pm = pool(1000, D("2040"))  # the pool is 2 % rich: sell into it
    b = book(D("2000"), 2, [D("1"), D("2"), D("3")])
    free = size_cex_dex(b, pm, CexDexCosts(D("0.001"), D("0")))
    assert free is not None and free.direction is SELL_DEX
    edge = free.net
    assert size_cex_dex(b, pm, CexDexCosts(D("0.001"), D("0"), edge + 1)) is None
    paid = size_cex_dex(b, pm, CexDexCosts(D("0.001"), D("0"), edge - 1))
    assert paid is not None
    assert paid.base_units == free.base_units  # gas is fixed: it never moves the optimum
    assert paid.net == D(1)
    assert paid.net == paid.gross - paid.cex_fee - paid.buffer - paid.gas


def test_caps_lot_step_and_balances_bound_the_size() -> None:
    pm = pool(1000, D("2040"))
    b = book(D("2000"), 2, [D("1"), D("2"), D("3")])
    costs = CexDexCosts(D("0.001"), D("0.001"))
    free = size_cex_dex(b, pm, costs)
    assert free is not None and free.quantity > D("1")
    capped = size_cex_dex(b, pm, costs, CexDexLimits(max_base=D("0.75")))
    assert capped is not None and capped.quantity == D("0.75")
    stepped = size_cex_dex(b, pm, costs, CexDexLimits(size_step=D("0.1")))
    assert stepped is not None and stepped.quantity % D("0.1") == 0
    assert abs(stepped.quantity - free.quantity) < D("0.1")
    broke = size_cex_dex(b, pm, costs, CexDexLimits(dex_base=D("0.5")))
    assert broke is not None and broke.quantity == D("0.5")  # cannot sell WETH it lacks
    # 1000 USDC at 2000.40 * 1.001 buys just under half an ETH on the book
    poor = size_cex_dex(b, pm, costs, CexDexLimits(cex_quote=D("1000")))
    assert poor is not None
    assert poor.quantity * poor.cex_worst * D("1.001") <= D("1000")
    assert poor.quantity > D("0.49")


def test_buying_from_a_cheap_pool_is_capped_by_the_quote_it_can_spend() -> None:
    pm = pool(1000, D("1960"))  # 2 % cheap
    b = book(D("2000"), 2, [D("3"), D("3")])
    costs = CexDexCosts(D("0.001"), D("0.001"), D("2"))
    found = size_cex_dex(b, pm, costs, CexDexLimits(dex_quote=D("1000"), cex_base=D("10")))
    assert found is not None and found.direction is BUY_DEX
    paid = USDC.from_units(found.dex_quote_units)
    assert paid * D("1.001") + D("2") <= D("1000")


def test_dex_limits_round_so_the_router_bound_never_undercuts_the_expectation() -> None:
    qty = D("1.2345")
    out = D("2468.123457")  # what a sell of qty is expected to return
    sell = dex_limit_price(False, qty, out, USDC, D(0))
    assert (qty * sell * 10**6).to_integral_value(ROUND_CEILING) <= out * 10**6
    buy = dex_limit_price(True, qty, out, USDC, D(0))
    assert USDC.to_units(qty * buy) >= USDC.to_units(out)
    assert dex_limit_price(False, qty, out, USDC, D("0.01")) < sell < buy


def test_cross_cex_walks_both_books_until_a_unit_stops_paying() -> None:
    buy = OrderBook.of([(D("99"), D("1"))], [(D("100"), D("1")), (D("101"), D("2"))])
    sell = OrderBook.of([(D("103"), D("1.5")), (D("101.5"), D("2"))], [(D("104"), D("1"))])
    free = size_cross_cex(buy, sell, buy_fee=D(0), sell_fee=D(0))
    assert free is not None
    assert (free.quantity, free.buy_notional, free.sell_notional) == (D(3), D(302), D("306.75"))
    assert free.net == D("4.75")
    fee = D("0.003")
    paid = size_cross_cex(buy, sell, buy_fee=fee, sell_fee=fee)
    assert paid is not None and paid.quantity == D("1.5")
    assert paid.net == D("154.5") - D("150.5") - (D("150.5") + D("154.5")) * fee
    assert (paid.buy_worst, paid.sell_worst) == (D("101"), D("103"))
    for q in (D("1"), D("1.4"), D("1.6"), D("2"), D("3")):
        b_n, s_n = buy.asks.take(q)[0], sell.bids.take(q)[0]
        assert s_n * (1 - fee) - b_n * (1 + fee) <= paid.net
    assert size_cross_cex(sell, buy, buy_fee=D(0), sell_fee=D(0)) is None  # wrong way round
    assert size_cross_cex(buy, sell, buy_fee=D("0.02"), sell_fee=D("0.02")) is None
    capped = size_cross_cex(buy, sell, buy_fee=D(0), sell_fee=D(0), sell_base=D("0.25"))
    assert capped is not None and capped.quantity == D("0.25")


def _tri_books(
    eth_usdt_bid: str = "2550",
) -> tuple[OrderBook, OrderBook, OrderBook]:
    btc_usdt = OrderBook.of([(D("49990"), D("1"))], [(D("50000"), D("1"))])
    eth_btc = OrderBook.of([(D("0.0499"), D("10"))], [(D("0.05"), D("10"))])
    eth_usdt = OrderBook.of([(D(eth_usdt_bid), D("5"))], [(D("2551"), D("5"))])
    return btc_usdt, eth_btc, eth_usdt


def test_triangular_sizes_the_forward_cycle_at_the_top_levels() -> None:
    found = size_triangular(*_tri_books(), fee=D("0.001"), size_step=D("0.0001"))
    assert found is not None and found.forward
    assert found.c_quantity == D("5")  # the ETH/USDT bid holds 5
    assert found.b_quantity == D("0.2503")  # 5 * 0.05 * 1.001 = 0.25025, up to the lot
    assert found.spent == D("0.2503") * D("50000") * D("1.001")
    assert found.received == D("5") * D("2550") * D("0.999")
    assert found.leftover_b == D("0.00005")
    assert found.net == found.received - found.spent + D("0.00005") * D("49995")


def test_triangular_without_an_edge_or_with_a_small_budget() -> None:
    assert size_triangular(*_tri_books("2500"), fee=D("0.001")) is None
    small = size_triangular(
        *_tri_books(), fee=D("0.001"), max_start=D("1000"), size_step=D("0.0001")
    )
    assert small is not None and small.spent <= D("1000")
    assert small.c_quantity < D("1")
