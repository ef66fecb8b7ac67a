"""Arbitrage values: exact book walks, pools as markets, plans that price what they touch,
and a trade's P&L recomputed from its legs alone."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from task_station.domain import amm
from task_station.domain.arbitrage import (
    ArbLeg,
    ArbOutcome,
    ArbPlan,
    BookSide,
    LegExecution,
    LegPolicy,
    LegRole,
    MarketSnapshot,
    OrderBook,
    PoolMarket,
    asset_flows,
    settle_trade,
)
from task_station.domain.dex import PoolState, Token
from task_station.domain.errors import ValidationError
from task_station.domain.orders import OrderSide

D = Decimal
T0 = datetime(2024, 1, 1, tzinfo=UTC)
WETH = Token("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "WETH", 18)
USDC = Token("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USDC", 6)
POOL = PoolState("0x" + "11" * 20, USDC, WETH, 2_000_000 * 10**6, 1000 * 10**18)
BOOK = OrderBook.of(
    bids=[(D("99"), D("1")), (D("98"), D("2"))],
    asks=[(D("101"), D("1")), (D("102"), D("1")), (D("103"), D("5"))],
)


def test_walk_is_exact_and_reports_what_the_book_could_fill() -> None:
    assert BOOK.walk(OrderSide.BUY, D("2.5")) == (D("101.8"), D("2.5"))
    assert BOOK.cost(OrderSide.BUY, D("2.5")) == (D("254.5"), D("2.5"))
    assert BOOK.walk(OrderSide.SELL, D("10")) == (D("295") / 3, D("3"))  # thin: 3 of 10
    assert BOOK.asks.take(D("1.5")) == (D("152"), D("1.5"), D("102"))
    assert (BOOK.best_bid, BOOK.best_ask, BOOK.mid) == (D("99"), D("101"), D("100"))
    assert OrderBook.of([], []).walk(OrderSide.BUY, D("1")) == (D(0), D(0))


def test_book_levels_must_be_best_first_and_positive() -> None:
    with pytest.raises(ValidationError, match="bids must descend"):
        BookSide.of([(D("98"), D("1")), (D("99"), D("1"))], is_bid=True)
    with pytest.raises(ValidationError, match="asks must ascend"):
        BookSide.of([(D("101"), D("1")), (D("101"), D("1"))], is_bid=False)
    with pytest.raises(ValidationError, match="positive"):
        BookSide.of([(D("101"), D("0"))], is_bid=False)


def test_pool_market_is_the_amm_math_seen_from_base_and_quote() -> None:
    pm = PoolMarket(POOL, WETH, USDC)
    assert pm.reserves == (1000 * 10**18, 2_000_000 * 10**6)
    assert pm.mid_price == D("2000")
    one = 10**18
    assert pm.quote_out(one) == amm.get_amount_out(one, 1000 * 10**18, 2_000_000 * 10**6)
    assert pm.quote_in(one) == amm.get_amount_in(one, 2_000_000 * 10**6, 1000 * 10**18)
    moved = pm.with_reserves(1, 2, block=7)
    assert (moved.pool.reserve0, moved.pool.reserve1, moved.pool.block) == (1, 2, 7)
    dai = Token("0x6B175474E89094C44Da98b954EedeAC495271d0F", "DAI", 18)
    with pytest.raises(ValidationError, match="not the two tokens"):
        PoolMarket(POOL, dai, USDC)


def test_snapshot_lookups_name_what_is_missing() -> None:
    snap = MarketSnapshot(T0, books={("cex", "ETH/USDC"): BOOK})
    assert snap.book("cex", "ETH/USDC") is BOOK
    with pytest.raises(ValidationError, match="no WETH/USDC pool on dex"):
        snap.pool("dex", "WETH/USDC")


def _plan(**kw: object) -> ArbPlan:
    legs = (
        ArbLeg("cex", "ETH/USDC", OrderSide.BUY, D("1"), D("2001"), D("2000")),
        ArbLeg("dex", "WETH/USDC", OrderSide.SELL, D("1"), D("2010"), D("2020")),
    )
    values: dict[str, object] = {
        "legs": legs,
        "quote_asset": "USDC",
        "expected_gross": D("20"),
        "expected_net": D("10"),
        "reason": "test",
        "marks": {"ETH": D("2000"), "WETH": D("2000"), "ETH-GAS": D("2000")},
    }
    values.update(kw)
    return ArbPlan(**values)  # type: ignore[arg-type]


def test_a_plan_must_price_every_asset_its_legs_touch() -> None:
    with pytest.raises(ValidationError, match="no mark for WETH"):
        _plan(marks={"ETH": D("2000")})
    assert _plan().policy is LegPolicy.UNWIND
    assert {p.value for p in LegPolicy} == {"unwind", "hedge", "hold_and_alert"}


def test_legs_refuse_nonsense() -> None:
    with pytest.raises(ValidationError):
        ArbLeg("cex", "ETHUSDC", OrderSide.BUY, D("1"), None, D("1"))
    with pytest.raises(ValidationError):
        ArbLeg("cex", "ETH/USDC", OrderSide.BUY, D("0"), None, D("1"))


def test_settlement_values_flows_fees_and_gas_in_the_plan_quote() -> None:
    cex = LegExecution(
        LegRole.PLANNED,
        "cex",
        "ETH/USDC",
        OrderSide.BUY,
        D("1"),
        filled=D("1"),
        notional=D("2000"),
        fee=D("2"),
        fee_currency="USDC",
        status="filled",
    )
    dex = LegExecution(
        LegRole.PLANNED,
        "dex",
        "WETH/USDC",
        OrderSide.SELL,
        D("1"),
        filled=D("1"),
        notional=D("2020"),
        fee=D("0.002"),
        fee_currency="ETH-GAS",  # gas the venue could not convert: left in native units
        status="filled",
        gas=True,
    )
    result = settle_trade(_plan(), [cex, dex], ArbOutcome.COMPLETED, T0)
    assert result.flows == {
        "ETH": D("1"),
        "USDC": D("18"),
        "WETH": D("-1"),
        "ETH-GAS": D("-0.002"),
    }
    assert result.fees == D("2")
    assert result.gas == D("4.000")
    assert result.realized_pnl == D("14.000")  # 2020 - 2000 - 2 fee - 4 gas
    assert result.unpriced == ()


def test_a_held_position_is_valued_at_the_plan_marks_and_unknown_assets_reported() -> None:
    held = LegExecution(
        LegRole.PLANNED,
        "cex",
        "ETH/USDC",
        OrderSide.BUY,
        D("1"),
        filled=D("0.5"),
        notional=D("1000"),
        fee=D("1"),
        fee_currency="BNB",
        status="canceled",
    )
    result = settle_trade(_plan(), [held], ArbOutcome.HELD, T0)
    assert result.realized_pnl == D("-1000") + D("0.5") * D("2000")
    assert result.unpriced == ("BNB",)
    assert asset_flows([]) == {}
