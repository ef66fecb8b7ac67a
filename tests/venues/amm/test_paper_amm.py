"""The paper AMM venue: orders become exact constant-product swaps on a simulated wallet.

Every expected amount is computed here with the Uniswap V2 integer formulas, so a fill
that is off by one wei fails.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, localcontext

import pytest

from task_station.domain.amm import get_amount_in, get_amount_out
from task_station.domain.clock import ManualClock
from task_station.domain.dex import PoolState, Token
from task_station.domain.errors import NotFoundError, ValidationError
from task_station.domain.orders import Order, OrderSide, OrderStatus, OrderType
from task_station.venues.amm.paper import (
    PAIR_INSUFFICIENT_OUTPUT,
    PaperAmmVenue,
    PaperGas,
    PaperPool,
)
from task_station.venues.amm.plan import EXCESSIVE_INPUT, INSUFFICIENT_OUTPUT
from task_station.venues.base import (
    FillReport,
    OrderAcceptedReport,
    OrderRejectedReport,
    Reconcilable,
    Venue,
    VenueReport,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
E18 = 10**18
# token0 is the lower address, as a real pair sorts them.
WETH = Token("0x" + "c0" * 20, "WETH", 18)
USD = Token("0x" + "a0" * 20, "USD", 18)
PEPE = Token("0x" + "b0" * 20, "PEPE", 18)
USDC = Token("0x" + "d0" * 20, "USDC", 6)
R_USD, R_WETH = 2_000_000 * E18, 1_000 * E18  # USD is token0: 2,000 USD per WETH
GAS = PaperGas(gas_per_swap=100_000, gas_price_wei=10 * 10**9)  # 0.001 ETH per swap
GAS_ETH = Decimal("0.001")


def weth_usd(reserve_usd: int = R_USD, reserve_weth: int = R_WETH) -> PaperPool:
    return PaperPool(
        "WETH/USD", WETH, USD, PoolState("0x" + "01" * 20, USD, WETH, reserve_usd, reserve_weth)
    )


def pepe_weth() -> PaperPool:
    # PEPE is token0; 1 PEPE = 0.0005 WETH.
    return PaperPool(
        "PEPE/WETH",
        PEPE,
        WETH,
        PoolState("0x" + "02" * 20, PEPE, WETH, 2_000_000 * E18, 1_000 * E18),
    )


def pepe_usdc() -> PaperPool:
    # USDC is token1 with 6 decimals; 1 PEPE = 0.5 USDC.
    return PaperPool(
        "PEPE/USDC",
        PEPE,
        USDC,
        PoolState("0x" + "03" * 20, PEPE, USDC, 1_000_000 * E18, 500_000 * 10**6),
    )


class Recorder:
    def __init__(self) -> None:
        self.reports: list[VenueReport] = []

    def on_venue_report(self, report: VenueReport) -> None:
        self.reports.append(report)


def make_venue(
    balances: dict[str, Decimal] | None = None,
    *,
    pools: list[PaperPool] | None = None,
    gas: PaperGas = GAS,
    native_price: Decimal | None = None,
    slippage_bps: int = 50,
) -> tuple[PaperAmmVenue, Recorder]:
    venue = PaperAmmVenue(
        pools if pools is not None else [weth_usd()],
        balances
        if balances is not None
        else {"WETH": Decimal(100), "USD": Decimal(1_000_000), "ETH": Decimal(1)},
        ManualClock(T0),
        gas=gas,
        slippage_bps=slippage_bps,
        native_price=None if native_price is None else (lambda: native_price),
    )
    recorder = Recorder()
    venue.set_listener(recorder)
    return venue, recorder


def order(
    cid: str,
    side: OrderSide,
    quantity: str | None = None,
    *,
    price: str | None = None,
    quote_quantity: str | None = None,
    symbol: str = "WETH/USD",
    type_: OrderType | None = None,
) -> Order:
    kind = type_ or (OrderType.MARKET if price is None else OrderType.LIMIT)
    return Order(
        cid,
        "paper-amm",
        symbol,
        side,
        kind,
        T0,
        quantity=None if quantity is None else Decimal(quantity),
        quote_quantity=None if quote_quantity is None else Decimal(quote_quantity),
        price=None if price is None else Decimal(price),
        trigger_price=Decimal(1) if kind.is_stop else None,
    )


def wei(units: int) -> Decimal:
    return Decimal(units).scaleb(-18)


async def test_a_market_sell_swaps_the_exact_input_at_the_pools_price() -> None:
    venue, rec = make_venue()
    out = get_amount_out(2 * E18, R_WETH, R_USD)

    done = venue.submit_now(order("s1", OrderSide.SELL, "2"))

    assert done.status is OrderStatus.FILLED
    assert [type(r) for r in rec.reports] == [OrderAcceptedReport, FillReport]
    report = rec.reports[1]
    assert isinstance(report, FillReport) and report.order_complete
    fill = report.fill
    assert fill.quantity == Decimal(2)
    assert fill.price == wei(out) / Decimal(2)
    assert (fill.trade_id, fill.liquidity, fill.fee_currency) == ("s1-1", "taker", "USD")
    assert fill.fee == GAS_ETH * fill.price  # base is the wrapped native: priced by the fill
    assert await venue.fetch_balances() == {
        "WETH": Decimal(98),
        "USD": Decimal(1_000_000) + wei(out),
        "ETH": Decimal(1) - GAS_ETH,  # gas comes out of the native balance
    }
    pool = venue.pool("WETH/USD")
    assert (pool.reserve0, pool.reserve1) == (R_USD - out, R_WETH + 2 * E18)
    assert venue.gas_spent == GAS_ETH


async def test_a_market_buy_is_an_exact_output_paid_with_get_amount_in() -> None:
    venue, rec = make_venue()
    paid = get_amount_in(5 * E18, R_USD, R_WETH)

    done = venue.submit_now(order("b1", OrderSide.BUY, "5"))

    assert done.status is OrderStatus.FILLED and done.filled_quantity == Decimal(5)
    fill = done.fills[0]
    assert fill.price == wei(paid) / Decimal(5)
    assert venue.balance("WETH") == Decimal(105)
    assert venue.balance("USD") == Decimal(1_000_000) - wei(paid)
    pool = venue.pool("WETH/USD")
    assert (pool.reserve0, pool.reserve1) == (R_USD + paid, R_WETH - 5 * E18)
    assert rec.reports[-1] == FillReport(fill, order_complete=True)


async def test_a_quote_sized_buy_spends_exactly_that_much_quote() -> None:
    venue, _ = make_venue()
    got = get_amount_out(10_000 * E18, R_USD, R_WETH)

    done = venue.submit_now(order("q1", OrderSide.BUY, quote_quantity="10000"))

    assert done.status is OrderStatus.FILLED
    assert done.filled_quantity == wei(got)
    assert done.fills[0].price == Decimal(10_000) / wei(got)
    assert venue.balance("USD") == Decimal(990_000)
    assert venue.balance("WETH") == Decimal(100) + wei(got)


async def test_limit_orders_fill_within_their_limit_and_revert_beyond_it() -> None:
    venue, rec = make_venue()
    out = get_amount_out(E18, R_WETH, R_USD)  # 1,994.0 USD and change for 1 WETH
    exact = wei(out)

    venue.submit_now(order("l1", OrderSide.SELL, "1", price=str(exact)))  # exactly reachable
    assert venue.orders["l1"].status is OrderStatus.FILLED
    assert venue.orders["l1"].fills[0].price == exact

    before = (await venue.fetch_balances(), venue.pool("WETH/USD"))
    greedy = venue.submit_now(order("l2", OrderSide.SELL, "1", price="1999"))
    assert greedy.status is OrderStatus.REJECTED
    assert greedy.reason == INSUFFICIENT_OUTPUT
    assert rec.reports[-1] == OrderRejectedReport("l2", INSUFFICIENT_OUTPUT, T0)

    cheap = venue.submit_now(order("l3", OrderSide.BUY, "1", price="1900"))
    assert cheap.status is OrderStatus.REJECTED and cheap.reason == EXCESSIVE_INPUT
    assert (await venue.fetch_balances(), venue.pool("WETH/USD")) == before
    assert venue.gas_spent == GAS_ETH  # only the swap that ran paid gas


async def test_slippage_protection_reverts_when_the_pool_moved_and_changes_nothing() -> None:
    """A limit that held a moment ago reverts once someone else moved the pool."""
    venue, rec = make_venue()
    fair = venue.quote("WETH/USD", OrderSide.SELL, Decimal(3))
    venue.set_reserves("WETH/USD", R_USD * 99 // 100, R_WETH * 101 // 100, block=7)
    before = (await venue.fetch_balances(), venue.pool("WETH/USD"), venue.gas_spent)

    done = venue.submit_now(order("m1", OrderSide.SELL, "3", price=str(fair)))

    assert done.status is OrderStatus.REJECTED and done.reason == INSUFFICIENT_OUTPUT
    assert [type(r) for r in rec.reports] == [OrderRejectedReport]
    assert (await venue.fetch_balances(), venue.pool("WETH/USD"), venue.gas_spent) == before
    assert venue.pool("WETH/USD").block == 7


async def test_a_market_order_carries_the_slippage_allowance_to_the_router() -> None:
    """At planning time the bound is slippage below the quote: the swap itself never hits it."""
    venue, _ = make_venue(slippage_bps=0)
    done = venue.submit_now(order("z1", OrderSide.SELL, "7"))
    assert done.status is OrderStatus.FILLED  # zero slippage still fills: same reserves


@pytest.mark.parametrize(
    ("pool", "native_price", "symbol", "expected_fee", "expected_currency"),
    [
        (pepe_weth, None, "PEPE/WETH", GAS_ETH, "WETH"),  # quote is the wrapped native
        (weth_usd, None, "WETH/USD", None, "USD"),  # base is: priced by the fill
        (pepe_usdc, Decimal(2500), "PEPE/USDC", GAS_ETH * 2500, "USDC"),  # native_price
        (pepe_usdc, None, "PEPE/USDC", GAS_ETH, "ETH"),  # no price: stays native
    ],
)
async def test_gas_is_the_fee_in_the_quote_currency_whenever_it_can_be_priced(
    pool: Callable[[], PaperPool],
    native_price: Decimal | None,
    symbol: str,
    expected_fee: Decimal | None,
    expected_currency: str,
) -> None:
    balances = {"PEPE": Decimal(1000), "ETH": Decimal(1), "WETH": Decimal(10)}
    balances["USD"] = Decimal(0)
    venue, _ = make_venue(balances, pools=[pool()], native_price=native_price)

    fill = venue.submit_now(order("g1", OrderSide.SELL, "1", symbol=symbol)).fills[0]

    assert fill.fee_currency == expected_currency
    assert fill.fee == (expected_fee if expected_fee is not None else GAS_ETH * fill.price)
    assert venue.balance("ETH") == Decimal(1) - GAS_ETH  # always paid in the native token
    assert venue.gas_spent == GAS_ETH


async def test_without_a_native_balance_a_priced_gas_fee_comes_out_of_the_quote() -> None:
    venue, _ = make_venue({"WETH": Decimal(10), "USD": Decimal(0)})
    fill = venue.submit_now(order("g2", OrderSide.SELL, "1")).fills[0]
    received = fill.price * fill.quantity
    assert venue.balance("USD") == received - fill.fee
    assert "ETH" not in await venue.fetch_balances()

    unpriced, _ = make_venue({"PEPE": Decimal(10)}, pools=[pepe_usdc()])
    fill = unpriced.submit_now(order("g3", OrderSide.SELL, "1", symbol="PEPE/USDC")).fills[0]
    assert (fill.fee, fill.fee_currency) == (GAS_ETH, "ETH")
    usdc = get_amount_out(E18, 1_000_000 * E18, 500_000 * 10**6)
    assert await unpriced.fetch_balances() == {"PEPE": Decimal(9), "USDC": Decimal(usdc) / 10**6}
    assert unpriced.gas_spent == GAS_ETH  # recorded, though no balance could pay it


async def test_a_native_price_of_none_leaves_the_fee_in_the_native_token() -> None:
    venue = PaperAmmVenue(
        [pepe_usdc()], {"PEPE": Decimal(10)}, ManualClock(T0), gas=GAS, native_price=lambda: None
    )
    fill = venue.submit_now(order("g4", OrderSide.SELL, "1", symbol="PEPE/USDC")).fills[0]
    assert fill.fee_currency == "ETH"


async def test_a_resubmitted_order_never_swaps_twice() -> None:
    venue, rec = make_venue()
    first = venue.submit_now(order("d1", OrderSide.BUY, "1"))
    state = (await venue.fetch_balances(), venue.pool("WETH/USD"), venue.gas_spent)

    again = venue.submit_now(order("d1", OrderSide.BUY, "1"))
    await venue.submit_order(order("d1", OrderSide.BUY, "1"))

    assert again is first
    assert (await venue.fetch_balances(), venue.pool("WETH/USD"), venue.gas_spent) == state
    acks = [r for r in rec.reports if isinstance(r, OrderAcceptedReport)]
    assert len(acks) == 3 and {a.venue_order_id for a in acks} == {first.venue_order_id}
    assert sum(isinstance(r, FillReport) for r in rec.reports) == 1
    assert await venue.fetch_fills(first) == list(first.fills)
    state_report = await venue.fetch_order_state(first)
    assert state_report is not None and state_report.status is OrderStatus.FILLED


async def test_insufficient_funds_are_a_clear_rejection_that_changes_nothing() -> None:
    venue, rec = make_venue({"USD": Decimal(10), "WETH": Decimal(0), "ETH": Decimal(1)})
    need = wei(get_amount_in(E18, R_USD, R_WETH))
    before = (await venue.fetch_balances(), venue.pool("WETH/USD"))

    done = venue.submit_now(order("f1", OrderSide.BUY, "1"))

    assert done.status is OrderStatus.REJECTED
    assert done.reason == f"insufficient USD: have 10, need {need.normalize():f}"
    assert isinstance(rec.reports[-1], OrderRejectedReport)
    assert (await venue.fetch_balances(), venue.pool("WETH/USD")) == before
    assert venue.gas_spent == 0

    broke, _ = make_venue({"WETH": Decimal(5), "ETH": Decimal("0.0001")})
    done = broke.submit_now(order("f2", OrderSide.SELL, "1"))
    assert done.reason == "insufficient ETH: have 0.0001, need 0.001"
    assert broke.balance("WETH") == Decimal(5)


async def test_other_order_types_and_unknown_pools_are_rejected_not_raised() -> None:
    venue, rec = make_venue()
    stop = venue.submit_now(order("x1", OrderSide.SELL, "1", type_=OrderType.STOP_MARKET))
    assert stop.status is OrderStatus.REJECTED
    assert stop.reason is not None and "cannot run on an AMM" in stop.reason
    elsewhere = venue.submit_now(order("x2", OrderSide.SELL, "1", symbol="BTC/USD"))
    assert elsewhere.reason == "paper-amm has no pool for BTC/USD (it trades WETH/USD)"
    too_big = venue.submit_now(order("x3", OrderSide.BUY, "1000"))
    assert too_big.status is OrderStatus.REJECTED  # the whole reserve cannot be bought
    assert [type(r) for r in rec.reports] == [OrderRejectedReport] * 3
    await venue.cancel_order(stop)  # nothing is ever working: silent
    assert len(rec.reports) == 3
    assert await venue.fetch_order_state(stop) is None  # never accepted


async def test_amounts_finer_than_a_token_unit_are_refused() -> None:
    venue, _ = make_venue({"USDC": Decimal(10), "PEPE": Decimal(10)}, pools=[pepe_usdc()])
    fine = Order(
        "u1", "paper-amm", "PEPE/USDC", OrderSide.SELL, OrderType.MARKET, T0,
        quantity=Decimal("1.0000000000000000001"),
    )  # fmt: skip
    done = venue.submit_now(fine)
    assert done.reason == "1.0000000000000000001 PEPE is finer than its smallest unit (10^-18)"
    assert venue.balance("PEPE") == Decimal(10)


async def test_a_swap_that_would_send_nothing_reverts_like_the_pair() -> None:
    """One wei of USD buys zero wei of WETH: the router lets it through, the pair refuses."""
    venue, _ = make_venue()
    done = venue.submit_now(order("w1", OrderSide.BUY, quote_quantity="0.000000000000000001"))
    assert done.reason == PAIR_INSUFFICIENT_OUTPUT
    one = venue.submit_now(order("w2", OrderSide.SELL, "0.000000000000000001"))
    assert one.status is OrderStatus.FILLED  # 1 wei of WETH is worth 1,994 wei of USD
    assert one.fills[0].price == Decimal(get_amount_out(1, R_WETH, R_USD))


async def test_set_reserves_moves_the_price_for_quotes_and_orders() -> None:
    venue, _ = make_venue()
    assert venue.quote("WETH/USD", OrderSide.SELL, Decimal(1)) == wei(
        get_amount_out(E18, R_WETH, R_USD)
    )
    venue.set_reserves("WETH/USD", 3_000_000 * E18, 1_000 * E18, block=123)
    pool = venue.pool("WETH/USD")
    assert (pool.reserve0, pool.reserve1, pool.block) == (3_000_000 * E18, 1_000 * E18, 123)
    buy = venue.quote("WETH/USD", OrderSide.BUY, Decimal(2))
    assert buy == wei(get_amount_in(2 * E18, 3_000_000 * E18, 1_000 * E18)) / 2
    fill = venue.submit_now(order("r1", OrderSide.BUY, "2")).fills[0]
    assert fill.price == buy  # the quote is the price the next order gets
    with pytest.raises(ValidationError):
        venue.set_reserves("WETH/USD", -1, 1)
    with pytest.raises(NotFoundError):
        venue.set_reserves("BTC/USD", 1, 1)


async def test_quote_includes_the_lp_fee_and_refuses_what_the_pool_cannot_do() -> None:
    venue, _ = make_venue()
    sell = venue.quote("WETH/USD", OrderSide.SELL, Decimal(1))
    buy = venue.quote("WETH/USD", OrderSide.BUY, Decimal(1))
    mid = venue.pool("WETH/USD").mid_price(WETH)
    assert sell < mid * Decimal("0.997") < mid < buy
    with pytest.raises(ValidationError):
        venue.quote("WETH/USD", OrderSide.BUY, Decimal(1000))
    with pytest.raises(ValidationError):
        venue.quote("WETH/USD", OrderSide.SELL, Decimal("1e-19"))


async def test_balances_stay_exact_beyond_28_digits() -> None:
    """A whale's 18-decimal balance has more digits than Decimal's default precision."""
    huge = Decimal("12345678901234.123456789012345678")  # 32 significant digits
    venue, _ = make_venue({"USD": huge, "WETH": Decimal(0), "ETH": Decimal(1)})
    paid = get_amount_in(E18, R_USD, R_WETH)
    venue.submit_now(order("e1", OrderSide.BUY, "1"))
    with localcontext() as ctx:
        ctx.prec = 60
        expected = huge - Decimal(paid).scaleb(-18)
    assert venue.balance("USD") == expected
    assert venue.balance("WETH") == Decimal(1)


async def test_the_venue_meets_the_protocols_and_names_its_instrument() -> None:
    venue, _ = make_venue()
    assert isinstance(venue, Reconcilable)
    as_venue: Venue = venue
    inst = as_venue.instrument("WETH/USD")
    assert (inst.venue, inst.symbol, inst.base, inst.quote) == (
        "paper-amm",
        "WETH/USD",
        "WETH",
        "USD",
    )
    assert inst.size_increment == Decimal("1e-18")
    assert venue.capabilities.order_types == {OrderType.MARKET, OrderType.LIMIT}
    assert venue.capabilities.quote_sized_market_buy and not venue.capabilities.candle_driven
    with pytest.raises(ValidationError):
        PaperAmmVenue([weth_usd(), weth_usd()], {}, ManualClock(T0))
    with pytest.raises(ValidationError):
        PaperAmmVenue([PaperPool("X/Y", PEPE, USD, weth_usd().pool)], {}, ManualClock(T0))


async def test_amounts_beyond_decimal_precision_are_refused_not_rounded() -> None:
    """``Token.to_units`` rounds to the context's 28 digits: the venue must not swap that."""
    whale = {"WETH": Decimal(10**14), "USD": Decimal(10**20), "ETH": Decimal(1)}
    deep = weth_usd(10**40, 10**37)
    venue, _ = make_venue(whale, pools=[deep])
    big = "12345678901234.123456789012345678"  # 32 significant digits of WETH
    sell = venue.submit_now(order("p1", OrderSide.SELL, big))
    assert sell.status is OrderStatus.REJECTED
    assert sell.reason is not None and "more significant digits" in sell.reason
    # 31 digits that round *up* in 28: the swap would spend more than the order allows.
    rounds_up = "1234567890123.999999999999999999"
    spend = venue.submit_now(order("p2", OrderSide.BUY, quote_quantity=rounds_up))
    assert spend.reason is not None and "more significant digits" in spend.reason
    assert await venue.fetch_balances() == whale

    with localcontext() as ctx:  # where the caller widens the context, it is exact
        ctx.prec = 60
        done = venue.submit_now(order("p3", OrderSide.SELL, big))
    assert done.status is OrderStatus.FILLED
    assert done.filled_quantity == Decimal(big)
    assert venue.balance("WETH") == Decimal("87654321098765.876543210987654322")
