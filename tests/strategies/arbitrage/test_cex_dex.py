"""CEX↔DEX: the plan buys where it is cheap and sells where it is rich, legs in the
configured order, with protective limits, only above the minimum profit."""

from __future__ import annotations

import pytest

from task_station.domain.arbitrage import LegPolicy, MarketSnapshot, VenueKind
from task_station.domain.errors import ConfigurationError, ValidationError
from task_station.domain.orders import OrderSide
from task_station.strategies.arbitrage.cex_dex import CexDexArbitrage
from task_station.strategies.arbitrage.registry import ARBITRAGE, build_arbitrage
from task_station.strategies.registry import BUILTIN

from .helpers import T0, Ctx, D, ladder, weth_pool

PARAMS = {
    "symbol": "ETH/USDC",
    "dex_symbol": "WETH/USDC",
    "max_base": "2",
    "min_profit": "1",
    "gas_units": 100_000,
}


def snap(
    pool_price: str, native: str | None = "2000", gas_wei: int | None = 10**10
) -> MarketSnapshot:
    return MarketSnapshot(
        T0,
        books={("cex", "ETH/USDC"): ladder(D("2000"))},
        pools={("dex", "WETH/USDC"): weth_pool(D(pool_price))},
        native_price=None if native is None else D(native),
        gas_price_wei=gas_wei,
    )


def test_a_rich_pool_is_sold_into_after_buying_on_the_cex() -> None:
    strat = CexDexArbitrage({**PARAMS, "leg_policy": "hedge"})
    plan = strat.on_market(Ctx(), snap("2040"))
    assert plan is not None
    cex, dex = plan.legs
    assert (cex.venue, cex.side, dex.venue, dex.side) == (
        "cex",
        OrderSide.BUY,
        "dex",
        OrderSide.SELL,
    )
    assert cex.quantity == dex.quantity == D("2")  # capped by max_base
    assert cex.limit_price == D("2001.0")  # the second ask level: 2 ETH walk into it
    assert dex.limit_price is not None and dex.limit_price < dex.expected_price
    assert plan.expected_net >= D("1") and plan.policy is LegPolicy.HEDGE
    assert not plan.parallel and plan.quote_asset == "USDC"
    assert set(plan.marks) >= {"ETH", "WETH"}
    assert "net" in plan.reason and "gas" in plan.reason


def test_a_cheap_pool_is_bought_from_and_the_legs_follow_first_leg() -> None:
    strat = CexDexArbitrage({**PARAMS, "first_leg": "dex"})
    plan = strat.on_market(Ctx(), snap("1960"))
    assert plan is not None
    first, second = plan.legs
    assert (first.venue, first.side) == ("dex", OrderSide.BUY)
    assert (second.venue, second.side) == ("cex", OrderSide.SELL)
    assert first.limit_price is not None and first.limit_price > first.expected_price
    parallel = CexDexArbitrage({**PARAMS, "first_leg": "parallel"}).on_market(Ctx(), snap("1960"))
    assert parallel is not None and parallel.parallel


def test_gas_is_priced_from_the_snapshot_and_can_kill_the_trade() -> None:
    strat = CexDexArbitrage(PARAMS)
    assert strat.gas_cost(snap("2040"), D("2000")) == D("2")  # 1e5 gas * 10 gwei * 2000
    assert CexDexArbitrage({**PARAMS, "gas_units": 0}).gas_cost(snap("2040"), None) == 0
    expensive = CexDexArbitrage({**PARAMS, "gas_units": 50_000_000})  # 1000 USDC of gas
    assert expensive.on_market(Ctx(), snap("2040")) is None


def test_nothing_below_the_minimum_profit_or_inside_the_costs() -> None:
    assert CexDexArbitrage(PARAMS).on_market(Ctx(), snap("2003")) is None
    greedy = CexDexArbitrage({**PARAMS, "min_profit": "100000"})
    assert greedy.on_market(Ctx(), snap("2040")) is None


def test_an_unpriceable_gas_token_skips_with_a_log() -> None:
    strat = CexDexArbitrage({**PARAMS, "native_symbol": "MATIC"})
    ctx = Ctx()
    assert strat.on_market(ctx, snap("2040", native=None)) is None
    assert "MATIC" in ctx.logs[0]
    # WETH's own pool prices ETH gas when the snapshot does not
    assert CexDexArbitrage(PARAMS).on_market(Ctx(), snap("2040", native=None)) is not None


def test_balances_bound_the_size() -> None:
    ctx = Ctx({("dex", "WETH"): D("0.5")})
    plan = CexDexArbitrage(PARAMS).on_market(ctx, snap("2040"))
    assert plan is not None and plan.legs[0].quantity == D("0.5")


def test_cooldown_spaces_plans() -> None:
    strat = CexDexArbitrage({**PARAMS, "cooldown_ms": 5000})
    ctx = Ctx()
    assert strat.on_market(ctx, snap("2040")) is not None
    assert strat.on_market(ctx, snap("2040")) is None
    ctx.later(5000)
    assert strat.on_market(ctx, snap("2040")) is not None


def test_parameters_are_validated() -> None:
    for bad in ({"leg_policy": "pray"}, {"first_leg": "both"}, {"dex_venue": "cex"}, {"nope": 1}):
        with pytest.raises(ValidationError):
            CexDexArbitrage({**PARAMS, **bad})
    with pytest.raises(ValidationError):
        CexDexArbitrage({"symbol": "ETHUSDC"})


def test_it_is_catalogued_apart_from_bar_strategies_and_refuses_bars() -> None:
    assert set(ARBITRAGE) == {"cex_dex", "cross_cex", "triangular"}
    assert not set(ARBITRAGE) & set(BUILTIN)
    strat = build_arbitrage("cex_dex", PARAMS)
    assert strat.markets() == (
        ("cex", "ETH/USDC", VenueKind.CEX),
        ("dex", "WETH/USDC", VenueKind.DEX),
    )
    with pytest.raises(ConfigurationError, match="market snapshots"):
        strat.on_bar(None, None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="available"):
        build_arbitrage("martingale", {})
