"""The trader's own strategy files: loaded in isolation, checked, reloaded on change,
and run unchanged in a backtest and a paper bot; a broken file never takes the station
down."""

from __future__ import annotations

import asyncio
import os
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.domain.candles import Candle
from task_station.domain.clock import ManualClock
from task_station.domain.errors import StrategyError, ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.orders import OrderSide
from task_station.engine.bus import EventBus
from task_station.engine.feeds import ReplayFeed
from task_station.engine.memory import MemoryOrderStore
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.runtime import BotRuntime
from task_station.strategies import registry
from task_station.strategies.base import Strategy
from task_station.strategies.user_files import UserStrategies
from tests.strategies.helpers import BTC_1H, backtest, candles

HOLD = """\
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.params import Param


class HalfIn(Strategy):
    name = "my_hold"
    description = "buy once with a share of the cash, then hold"
    params = (Param("fraction", Decimal, Decimal("{fraction}"), "share of the cash"),)

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        if ctx.position == 0 and not ctx.has_open_orders:
            ctx.buy(quote_quantity=ctx.cash * self.p["fraction"])
"""

EXPLODES = """\
from task_station.strategies.base import Strategy


class Explodes(Strategy):
    name = "my_explodes"

    def on_bar(self, ctx, candle):
        if ctx.history(10)[0] is not candle:  # from the second bar on
            raise ZeroDivisionError("my bug")
"""

BAD_DEFAULT = """\
from task_station.strategies.base import Strategy
from task_station.strategies.params import Param


class BadDefault(Strategy):
    name = "bad_default"
    params = (Param("n", int, "many", "a count"),)

    def on_bar(self, ctx, candle):
        pass
"""

BAD_CHECK = """\
from task_station.domain.errors import ValidationError
from task_station.strategies.base import Strategy


class BadCheck(Strategy):
    name = "bad_check"

    def check_params(self):
        raise ValidationError("needs a setting")

    def on_bar(self, ctx, candle):
        pass
"""

SYNTAX_ERROR = """\
from task_station.strategies.base import Strategy

def broken(:
    pass
"""


def write(path: Path, text: str) -> Path:
    """Write and move the mtime on, so a rewrite within one clock tick is seen too."""
    old = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(textwrap.dedent(text))
    now = max(path.stat().st_mtime_ns, old + 1_000_000_000)
    os.utime(path, ns=(now, now))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "station" / "strategies"
    out.mkdir(parents=True)
    return out


def make_runtime(
    strategy: Strategy, bars: list[Candle], bot_id: str, max_failures: int = 3
) -> tuple[BotRuntime, MemoryOrderStore]:
    """A paper bot: the real runtime on the matching paper venue (as tests/engine do)."""
    from task_station.venues.matching.paper_venue import MatchingPaperVenue

    instrument = Instrument.from_symbol("BTC/USDT", venue="paper")
    balances = {"USDT": Decimal(10_000)}
    clock = ManualClock(bars[0].ts)
    bus = EventBus()
    venue = MatchingPaperVenue(instrument, dict(balances), clock)
    portfolio = Portfolio(bot_id, "USDT", dict(balances))
    store = MemoryOrderStore()
    orders = OrderManager(venue=venue, store=store, portfolio=portfolio, bus=bus, clock=clock)
    runtime = BotRuntime(
        bot_id=bot_id, strategy=strategy, instrument=instrument, timeframe="1h",
        feed=ReplayFeed(bars), venue=venue, orders=orders, portfolio=portfolio, bus=bus,
        clock=clock, max_strategy_failures=max_failures,
    )  # fmt: skip
    return runtime, store


def test_a_user_file_runs_in_a_backtest_and_in_a_paper_bot(
    folder: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(folder / "hold.py", HOLD.format(fraction="0.5"))
    user = UserStrategies(folder)
    report = user.reload_if_changed()
    assert report.added == ("my_hold",) and report.errors == ()
    cls = user.get("my_hold")
    assert user.origin("my_hold") == folder / "hold.py"
    assert cls.__module__.startswith("task_station_user_strategies.hold_")

    bars = candles(shared_data, BTC_1H, rows=200)
    monkeypatch.setitem(registry.BUILTIN, "my_hold", cls)  # the registry wiring is the lead's
    result = backtest("my_hold", {"fraction": "0.25"}, bars)
    (fill,) = result.fills
    assert fill.side is OrderSide.BUY and fill.ts == bars[1].ts
    assert abs(fill.price * fill.quantity - Decimal(25_000)) < Decimal("0.01")

    runtime, store = make_runtime(cls(), bars, "paper-1")
    asyncio.run(runtime.run())
    (paper_fill,) = store.list_fills()
    assert paper_fill.price == bars[1].open
    assert abs(paper_fill.price * paper_fill.quantity - Decimal(5_000)) < Decimal("0.01")


def test_broken_files_become_errors_and_a_failing_strategy_pauses_only_its_bot(
    folder: Path, shared_data: Path
) -> None:
    write(folder / "a_syntax.py", SYNTAX_ERROR)
    write(folder / "b_import.py", "import math\n\nraise RuntimeError('no config')\n")
    write(folder / "c_explodes.py", EXPLODES)
    write(folder / "d_hold.py", HOLD.format(fraction="1"))
    write(folder / "e_bad_default.py", BAD_DEFAULT)
    write(folder / "f_bad_check.py", BAD_CHECK)
    write(folder / "_helper.py", "raise RuntimeError('skipped: starts with _')\n")
    user = UserStrategies(folder)
    report = user.reload_if_changed()  # does not raise
    assert set(user.strategies) == {"my_explodes", "my_hold"}
    errors = {e.file.name: e for e in report.errors}
    assert set(errors) == {"a_syntax.py", "b_import.py", "e_bad_default.py", "f_bad_check.py"}
    assert errors["a_syntax.py"].line == 3
    assert errors["a_syntax.py"].message.startswith("syntax error")
    assert errors["b_import.py"].line == 3
    assert "RuntimeError: no config" in errors["b_import.py"].message
    assert "the default of parameter 'n' is invalid" in errors["e_bad_default.py"].message
    assert errors["e_bad_default.py"].line == 5
    assert "cannot be created" in errors["f_bad_check.py"].message
    assert "ValidationError: needs a setting" in errors["f_bad_check.py"].message
    assert str(errors["a_syntax.py"]).startswith("a_syntax.py:3: syntax error")

    # the exploding strategy runs next to a good bot in the same event loop
    bars = candles(shared_data, BTC_1H, rows=50)
    bad, _ = make_runtime(user.get("my_explodes")(), bars, "bad")
    good, good_store = make_runtime(user.get("my_hold")(), bars, "good")

    async def both() -> list[object]:
        return list(await asyncio.gather(bad.run(), good.run(), return_exceptions=True))

    bad_outcome, good_outcome = asyncio.run(both())
    assert isinstance(bad_outcome, StrategyError)
    assert "3 times in a row" in str(bad_outcome) and "ZeroDivisionError: my bug" in str(
        bad_outcome
    )
    assert bad.bars_seen == 4  # the first bar is fine, then three failures: paused
    assert not isinstance(good_outcome, BaseException)
    assert good.bars_seen == len(bars)
    assert len(good_store.list_fills()) == 1


def test_reload_picks_up_edits_and_drops_removed_files(folder: Path) -> None:
    path = write(folder / "hold.py", HOLD.format(fraction="0.5"))
    user = UserStrategies(folder)
    user.reload_if_changed()
    assert user.get("my_hold")().p["fraction"] == Decimal("0.5")

    nothing = user.reload_if_changed()
    assert not nothing.changed

    write(path, HOLD.format(fraction="0.75"))
    edited = user.reload_if_changed()
    assert edited.updated == ("my_hold",) and edited.reloaded_files == (path,)
    assert user.get("my_hold")().p["fraction"] == Decimal("0.75")

    write(path, HOLD.format(fraction="0.75").replace("my_hold", "my_renamed"))
    renamed = user.reload_if_changed()
    assert (renamed.added, renamed.removed) == (("my_renamed",), ("my_hold",))

    path.unlink()
    removed = user.reload_if_changed()
    assert removed.removed == ("my_renamed",)
    assert user.strategies == {}
    with pytest.raises(ValidationError, match="unknown user strategy 'my_renamed'"):
        user.get("my_renamed")


def test_names_clashing_with_built_ins_or_other_files_are_refused(folder: Path) -> None:
    write(folder / "a.py", HOLD.format(fraction="1"))
    write(folder / "b.py", HOLD.format(fraction="1"))  # the same name again
    write(folder / "c.py", HOLD.format(fraction="1").replace('"my_hold"', '"ema_cross"'))
    user = UserStrategies(folder)
    report = user.reload_if_changed()
    assert list(user.strategies) == ["my_hold"]
    assert user.origin("my_hold").name == "a.py"
    messages = {e.file.name: e.message for e in report.errors}
    assert "already used by a.py" in messages["b.py"]
    assert "'ema_cross' is a built-in strategy" in messages["c.py"]
    assert report.errors[0].line == 8  # the class statement


def test_a_missing_folder_means_no_user_strategies(tmp_path: Path) -> None:
    user = UserStrategies(tmp_path / "nowhere")
    assert not user.reload_if_changed().changed
    assert user.strategies == {}
