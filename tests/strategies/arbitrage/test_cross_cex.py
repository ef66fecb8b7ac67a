"""Cross-CEX: buy on the venue whose asks are below the other's bids, sell there."""

from __future__ import annotations

import pytest

from task_station.domain.arbitrage import MarketSnapshot, OrderBook
from task_station.domain.errors import ValidationError
from task_station.domain.orders import OrderSide
from task_station.strategies.arbitrage.cross_cex import CrossCexArbitrage

from .helpers import T0, Ctx, D, ladder

PARAMS = {"venue_a": "a", "venue_b": "b", "symbol": "BTC/USDT", "max_base": "5", "min_profit": "1"}


def snap(a: OrderBook, b: OrderBook) -> MarketSnapshot:
    return MarketSnapshot(T0, books={("a", "BTC/USDT"): a, ("b", "BTC/USDT"): b})


def test_buys_on_the_cheap_venue_and_sells_on_the_rich_one() -> None:
    plan = CrossCexArbitrage(PARAMS).on_market(Ctx(), snap(ladder(D("50000")), ladder(D("50200"))))
    assert plan is not None
    buy, sell = plan.legs
    assert (buy.venue, buy.side, sell.venue, sell.side) == ("a", OrderSide.BUY, "b", OrderSide.SELL)
    assert buy.quantity == sell.quantity == D("5")
    assert buy.limit_price is not None and sell.limit_price is not None
    assert buy.limit_price < sell.limit_price
    assert plan.marks["BTC"] == D("50100")
    flipped = CrossCexArbitrage(PARAMS).on_market(
        Ctx(), snap(ladder(D("50200")), ladder(D("50000")))
    )
    assert flipped is not None and flipped.legs[0].venue == "b"


def test_leg_order_and_parallel() -> None:
    books = snap(ladder(D("50000")), ladder(D("50200")))
    plan = CrossCexArbitrage({**PARAMS, "first_leg": "sell"}).on_market(Ctx(), books)
    assert plan is not None and plan.legs[0].side is OrderSide.SELL
    par = CrossCexArbitrage({**PARAMS, "first_leg": "parallel"}).on_market(Ctx(), books)
    assert par is not None and par.parallel


def test_no_trade_when_fees_eat_the_cross_or_there_is_none() -> None:
    close = snap(ladder(D("50000")), ladder(D("50001")))
    assert CrossCexArbitrage(PARAMS).on_market(Ctx(), close) is None
    dear = {**PARAMS, "fee_a_bps": "50", "fee_b_bps": "50"}
    assert (
        CrossCexArbitrage(dear).on_market(Ctx(), snap(ladder(D("50000")), ladder(D("50200"))))
        is None
    )


def test_balances_cap_the_size_and_params_are_checked() -> None:
    ctx = Ctx({("b", "BTC"): D("0.3")})
    plan = CrossCexArbitrage(PARAMS).on_market(ctx, snap(ladder(D("50000")), ladder(D("50200"))))
    assert plan is not None and plan.legs[0].quantity == D("0.3")
    with pytest.raises(ValidationError):
        CrossCexArbitrage({**PARAMS, "venue_b": "a"})
    with pytest.raises(ValidationError):
        CrossCexArbitrage({**PARAMS, "first_leg": "cex"})
