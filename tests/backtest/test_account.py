"""Several bots on one account: separate books that add up to the account's, to the cent,
and sub-portfolio rules that keep each bot to its own money."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.backtest.account import (
    AccountBacktestConfig,
    AccountBacktestResult,
    BotSpec,
    run_account_backtest_sync,
)
from task_station.backtest.runner import BacktestConfig, run_backtest_sync
from task_station.domain.bots import BotStatus
from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.engine.allocation import SymbolSharing
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.catalog import StrategyCatalog
from task_station.strategies.params import Param
from task_station.strategies.registry import BUILTIN
from tests.strategies.helpers import BTC_1H, ETH_1H, candles

CENT = Decimal("0.01")
FEE = Decimal("0.001")


@pytest.fixture(scope="module")
def btc(shared_data: Path) -> list[Candle]:
    return candles(shared_data, BTC_1H, 20_000, 2_000)


@pytest.fixture(scope="module")
def eth(shared_data: Path) -> list[Candle]:
    return candles(shared_data, ETH_1H, 20_000, 2_000)


def assert_books_add_up(result: AccountBacktestResult) -> None:
    """Every bot's book against the account's, and the account's against the venue."""
    cfg = result.config
    bots_pnl = sum((b.pnl for b in result.bots), ZERO)
    assert bots_pnl.quantize(CENT) == result.account_pnl.quantize(CENT)
    assert bots_pnl == result.account_pnl  # exactly, in fact: every fill lands twice
    allocated = sum((s.capital for s in cfg.bots), ZERO)
    bots_cash = sum((b.valuation.cash for b in result.bots), ZERO)
    assert result.ledger["USDT"] == bots_cash + (cfg.cash - allocated)
    assert result.account.cash == result.ledger["USDT"]
    for asset in ("BTC", "ETH"):
        held = sum(
            (f.quantity * f.side.sign for b in result.bots for f in b.fills
             if f.symbol.startswith(asset + "/")),
            ZERO,
        )  # fmt: skip
        assert result.ledger.get(asset, ZERO) == held
    assert sum((b.valuation.fees_paid for b in result.bots), ZERO) == result.account.fees_paid


def test_two_bots_on_one_symbol_keep_separate_pnl_that_sums_to_the_accounts(
    btc: list[Candle], eth: list[Candle]
) -> None:
    config = AccountBacktestConfig(
        bots=[
            BotSpec("trend", "ema_cross", {"fast": 12, "slow": 26}, ("BTC/USDT",), Decimal(4000)),
            BotSpec("revert", "rsi_reversion", {}, ("BTC/USDT",), Decimal(3000)),
            BotSpec("pair", "pairs_trading", {}, ("ETH/USDT", "BTC/USDT"), Decimal(2000)),
        ],
        series={"BTC/USDT": btc, "ETH/USDT": eth},
        timeframe="1h",
        cash=Decimal(10_000),
        maker_fee=FEE,
        taker_fee=FEE,
    )
    result = run_account_backtest_sync(config)
    assert all(b.status is BotStatus.FINISHED for b in result.bots)
    for report in result.bots:
        assert report.fills, f"{report.bot_id} should have traded on 2,000 real bars"
        assert {f.bot_id for f in report.fills} == {report.bot_id}
        assert report.pnl != ZERO
    trend, revert = result.bot("trend"), result.bot("revert")
    assert trend.pnl != revert.pnl  # two strategies on one symbol, two different results
    assert_books_add_up(result)
    assert result.equity_curve[-1].equity == result.account.equity


def test_a_bot_alone_on_an_account_trades_exactly_as_in_a_single_bot_backtest(
    btc: list[Candle],
) -> None:
    params = {"fast": 12, "slow": 26}
    alone = run_backtest_sync(
        BacktestConfig(
            "ema_cross",
            params,
            btc,
            Instrument.from_symbol("BTC/USDT", venue="backtest"),
            "1h",
            Decimal(5000),
            maker_fee=FEE,
            taker_fee=FEE,
        )
    )
    shared = run_account_backtest_sync(
        AccountBacktestConfig(
            bots=[BotSpec("bot", "ema_cross", params, ("BTC/USDT",), Decimal(5000))],
            series={"BTC/USDT": btc},
            timeframe="1h",
            cash=Decimal(9000),  # more on the account than the bot is given
            maker_fee=FEE,
            taker_fee=FEE,
        )
    )
    report = shared.bot("bot")
    assert [(f.ts, f.side, f.price, f.quantity, f.fee) for f in report.fills] == [
        (f.ts, f.side, f.price, f.quantity, f.fee) for f in alone.fills
    ]
    assert report.valuation.equity == alone.final_equity


# -- the rules between bots ------------------------------------------------------------


@dataclass
class Plan:
    """What a scripted bot does on which step (the test's own strategy code)."""

    actions: dict[int, Callable[[StrategyContext], None]]


PLANS: dict[str, Plan] = {}


class Scripted(Strategy):
    """A strategy whose steps the test writes (keyed by the bot's ``plan`` parameter)."""

    name = "scripted"
    params = (Param("plan", str, "", "which test plan to follow"),)

    def on_start(self, ctx: StrategyContext) -> None:
        self.step = 0
        self.seen: list[tuple[int, Decimal, Decimal]] = []

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        action = PLANS[str(self.p["plan"])].actions.get(self.step)
        if action is not None:
            action(ctx)
        self.seen.append((self.step, ctx.position, ctx.cash))
        self.step += 1


CATALOG = StrategyCatalog(builtin={**BUILTIN, "scripted": Scripted})


def run_plans(
    bars: list[Candle],
    plans: dict[str, Plan],
    capital: dict[str, Decimal],
    cash: Decimal = Decimal(10_000),
    sharing: SymbolSharing = SymbolSharing.SHARED,
) -> AccountBacktestResult:
    PLANS.clear()
    PLANS.update(plans)
    config = AccountBacktestConfig(
        bots=[
            BotSpec(bot, "scripted", {"plan": bot}, ("BTC/USDT",), capital[bot]) for bot in plans
        ],
        series={"BTC/USDT": bars},
        timeframe="1h",
        cash=cash,
        maker_fee=FEE,
        taker_fee=FEE,
        sharing=sharing,
    )
    return run_account_backtest_sync(config, strategies=CATALOG)


def denials(result: AccountBacktestResult) -> list[str]:
    return [o.reason or "" for o in result.orders if o.status.value == "denied"]


def test_a_bot_cannot_sell_coins_another_bot_bought(btc: list[Candle]) -> None:
    high = max(c.high for c in btc[:10]) * 2
    result = run_plans(
        btc[:10],
        {
            "buyer": Plan({0: lambda ctx: ctx.buy(quantity=Decimal("0.05"))}),
            "seller": Plan({
                0: lambda ctx: ctx.buy(quantity=Decimal("0.01")),
                2: lambda ctx: ctx.sell(quantity=Decimal("0.01"), price=high),  # rests
                4: lambda ctx: ctx.sell(quantity=Decimal("0.01")),  # the buyer's coins
                6: lambda ctx: ctx.sell(quantity=Decimal("0.02")),
            }),
        },
        {"buyer": Decimal(4000), "seller": Decimal(4000)},
    )  # fmt: skip
    promised, beyond = denials(result)
    assert "seller holds 0.01 BTC in its sub-portfolio (0.01 already promised" in promised
    assert "only 0.01 held" in beyond
    assert result.ledger["BTC"] == Decimal("0.06")  # nobody sold the buyer's coins
    assert [f.side.value for f in result.bot("seller").fills] == ["buy"]
    assert_books_add_up(result)


def test_a_bot_cannot_spend_cash_allocated_to_another_bot(btc: list[Candle]) -> None:
    price = btc[1].close
    too_much = (Decimal(1500) / price).quantize(Decimal("0.0001"))
    result = run_plans(
        btc[:6],
        {
            "small": Plan({1: lambda ctx: ctx.buy(quantity=too_much)}),
            "rich": Plan({}),
        },
        {"small": Decimal(1000), "rich": Decimal(8000)},
    )
    (reason,) = denials(result)
    assert "small has 1000 USDT free in its sub-portfolio" in reason
    assert result.bot("small").fills == [] and result.ledger["USDT"] == Decimal(10_000)


def test_an_order_that_would_trade_against_another_bots_resting_order_is_refused(
    btc: list[Candle],
) -> None:
    high = max(c.high for c in btc[:8]) * 2  # never reached: the sell rests
    result = run_plans(
        btc[:8],
        {
            "maker": Plan({
                0: lambda ctx: ctx.buy(quantity=Decimal("0.02")),
                2: lambda ctx: ctx.sell(quantity=Decimal("0.02"), price=high),
            }),
            "taker": Plan({
                4: lambda ctx: ctx.buy(quantity=Decimal("0.01"), price=high),  # crosses it
                5: lambda ctx: ctx.buy(quantity=Decimal("0.01"), price=high / 4),  # does not
            }),
        },
        {"maker": Decimal(3000), "taker": Decimal(3000)},
    )  # fmt: skip
    (reason,) = denials(result)
    assert "would trade against bot maker's sell 0.02 BTC/USDT" in reason
    assert "self-trade" in reason
    taker_orders = [o for o in result.orders if o.bot_id == "taker"]
    assert [o.status.value for o in taker_orders] == ["denied", "canceled"]  # the 2nd rested


def test_exclusive_symbols_refuse_a_second_bot_on_the_same_symbol(btc: list[Candle]) -> None:
    with pytest.raises(ValidationError, match="BTC/USDT already belongs to bot one"):
        run_plans(
            btc[:5],
            {"one": Plan({}), "two": Plan({})},
            {"one": Decimal(100), "two": Decimal(100)},
            sharing=SymbolSharing.EXCLUSIVE,
        )


def test_allocations_beyond_the_accounts_cash_are_refused(btc: list[Candle]) -> None:
    with pytest.raises(ValidationError, match="only 4000 USDT of the account is not yet"):
        run_plans(
            btc[:5],
            {"one": Plan({}), "two": Plan({})},
            {"one": Decimal(6000), "two": Decimal(5000)},
        )


def test_a_failing_bot_is_stopped_and_the_others_go_on(btc: list[Candle]) -> None:
    def explode(ctx: StrategyContext) -> None:
        raise RuntimeError("bug in the trader's code")

    result = run_plans(
        btc[:40],
        {
            "broken": Plan({0: lambda ctx: ctx.buy(quantity=Decimal("0.01")), 5: explode}),
            "steady": Plan({0: lambda ctx: ctx.buy(quantity=Decimal("0.02")),
                            30: lambda ctx: ctx.sell(quantity=Decimal("0.02"))}),
        },
        {"broken": Decimal(2000), "steady": Decimal(2000)},
    )  # fmt: skip
    broken, steady = result.bot("broken"), result.bot("steady")
    assert broken.status is BotStatus.ERROR and "bug in the trader's code" in (broken.error or "")
    assert steady.status is BotStatus.FINISHED and len(steady.fills) == 2
    assert_books_add_up(result)
