"""Triangular: the cycle whose rates multiply above one after three fees is traded in
cycle order, each leg spending what the previous bought."""

from __future__ import annotations

import pytest

from task_station.domain.arbitrage import MarketSnapshot, OrderBook
from task_station.domain.errors import ValidationError
from task_station.domain.orders import OrderSide
from task_station.strategies.arbitrage.triangular import TriangularArbitrage

from .helpers import T0, Ctx, D

PARAMS = {"venue": "x", "fee_bps": "10", "max_quote": "100000", "min_profit": "1"}


def snap(eth_usdt_bid: str, eth_usdt_ask: str, eth_btc_bid: str = "0.0499") -> MarketSnapshot:
    return MarketSnapshot(
        T0,
        books={
            ("x", "BTC/USDT"): OrderBook.of([(D("49990"), D("1"))], [(D("50000"), D("1"))]),
            ("x", "ETH/BTC"): OrderBook.of([(D(eth_btc_bid), D("10"))], [(D("0.05"), D("10"))]),
            ("x", "ETH/USDT"): OrderBook.of(
                [(D(eth_usdt_bid), D("5"))], [(D(eth_usdt_ask), D("5"))]
            ),
        },
    )


def test_forward_cycle_usdt_btc_eth_usdt() -> None:
    plan = TriangularArbitrage(PARAMS).on_market(Ctx(), snap("2550", "2551"))
    assert plan is not None and plan.quote_asset == "USDT"
    assert [(leg.symbol, leg.side) for leg in plan.legs] == [
        ("BTC/USDT", OrderSide.BUY),
        ("ETH/BTC", OrderSide.BUY),
        ("ETH/USDT", OrderSide.SELL),
    ]
    btc, eth_btc, eth_usdt = plan.legs
    assert eth_btc.quantity == eth_usdt.quantity == D("5")
    assert btc.quantity >= eth_btc.quantity * D("0.05") * D("1.001")  # enough BTC to pay
    assert plan.marks == {"BTC": D("49995"), "ETH": D("2550.5")}
    assert not plan.parallel


def test_reverse_cycle_when_eth_is_cheap_in_usdt() -> None:
    plan = TriangularArbitrage(PARAMS).on_market(Ctx(), snap("2400", "2401", "0.0499"))
    assert plan is not None
    assert [(leg.symbol, leg.side) for leg in plan.legs] == [
        ("ETH/USDT", OrderSide.BUY),
        ("ETH/BTC", OrderSide.SELL),
        ("BTC/USDT", OrderSide.SELL),
    ]


def test_no_cycle_pays_and_the_budget_binds() -> None:
    assert TriangularArbitrage(PARAMS).on_market(Ctx(), snap("2496", "2497")) is None
    ctx = Ctx({("x", "USDT"): D("1000")})
    plan = TriangularArbitrage(PARAMS).on_market(ctx, snap("2550", "2551"))
    assert plan is not None
    first = plan.legs[0]
    assert first.quantity * D("50000") * D("1.001") <= D("1000")


def test_the_books_must_form_a_triangle() -> None:
    with pytest.raises(ValidationError, match="B/A, C/B and C/A"):
        TriangularArbitrage({**PARAMS, "symbol_cb": "SOL/BTC"})
    assert [m[1] for m in TriangularArbitrage(PARAMS).markets()] == [
        "BTC/USDT",
        "ETH/BTC",
        "ETH/USDT",
    ]
