"""The station's strategy catalog: built-ins plus the trader's files, reloaded on change,
run in a backtest through ``run_backtest(..., strategies=catalog)``."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.strategies import registry
from task_station.strategies.catalog import BUILTIN_ORIGIN, USER_ORIGIN, StrategyCatalog
from tests.strategies.helpers import BTC_1H, candles
from tests.support.user_strategy import BROKEN, hold, write_strategy


def run(catalog: StrategyCatalog, strategy: str, bars: list[Candle]) -> BacktestResult:
    config = BacktestConfig(
        strategy=strategy,
        params={},
        candles=bars,
        instrument=Instrument.from_symbol("BTC/USDT", venue="backtest"),
        timeframe="1h",
        cash=Decimal(10_000),
    )
    return asyncio.run(run_backtest(config, strategies=catalog))


def test_without_a_folder_the_catalog_is_the_builtins() -> None:
    catalog = StrategyCatalog()
    assert catalog.names() == registry.strategy_names()
    assert catalog.folder is None and catalog.errors == () and not catalog.reload().changed
    assert {i.origin for i in catalog.infos()} == {BUILTIN_ORIGIN}
    with pytest.raises(ValidationError, match=r"unknown strategy 'nope'; available: .*sma_cross"):
        catalog.build("nope", {})


def test_a_user_file_is_offered_with_its_origin(tmp_path: Path) -> None:
    path = write_strategy(tmp_path, hold())
    catalog = StrategyCatalog.with_folder(tmp_path)
    assert "my_hold" in catalog.names() and "sma_cross" in catalog.names()
    info = catalog.info("my_hold")
    assert (info.origin, info.path, info.origin_text) == (USER_ORIGIN, path, "your file my_hold.py")
    assert catalog.build("my_hold", {"delay": "2"}).p == {"delay": 2}
    with pytest.raises(ValidationError, match="my_hold: parameter 'delay' must be at least 0"):
        catalog.build("my_hold", {"delay": -1})
    assert catalog.info("sma_cross").origin == BUILTIN_ORIGIN


def test_a_missing_folder_is_created_on_request(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "strategies"
    catalog = StrategyCatalog.with_folder(folder, create=True)
    assert folder.is_dir() and catalog.names() == registry.strategy_names()


def test_two_catalogs_never_share_strategies(tmp_path: Path) -> None:
    write_strategy(tmp_path / "a", hold(name="only_in_a"))
    a = StrategyCatalog.with_folder(tmp_path / "a")
    b = StrategyCatalog.with_folder(tmp_path / "b")
    assert "only_in_a" in a.names() and "only_in_a" not in b.names()
    with pytest.raises(ValidationError, match="unknown strategy 'only_in_a'"):
        b.build("only_in_a", {})
    with pytest.raises(ValidationError, match="unknown strategy 'only_in_a'"):
        registry.build_strategy("only_in_a", {})


def test_a_user_strategy_backtests_and_an_edit_changes_the_result(
    tmp_path: Path, shared_data: Path
) -> None:
    bars = candles(shared_data, BTC_1H, rows=200)
    write_strategy(tmp_path, hold("0.5"))
    catalog = StrategyCatalog.with_folder(tmp_path)
    half = run(catalog, "my_hold", bars)
    [buy] = half.fills
    cost = buy.price * buy.quantity  # half of the cash, on the lot grid, bought once
    assert Decimal(4_999) < cost <= Decimal(5_000)
    assert half.final_cash == Decimal(10_000) - cost

    write_strategy(tmp_path, hold("0.25"))
    report = catalog.reload()
    assert report.updated == ("my_hold",) and report.errors == ()
    quarter = run(catalog, "my_hold", bars)
    [buy] = quarter.fills
    assert Decimal(2_499) < buy.price * buy.quantity <= Decimal(2_500)
    assert quarter.final_position < half.final_position * Decimal("0.51")


def test_a_broken_file_is_an_error_and_the_others_still_load(tmp_path: Path) -> None:
    write_strategy(tmp_path, hold())
    write_strategy(tmp_path, BROKEN, "broken.py")
    catalog = StrategyCatalog.with_folder(tmp_path)
    assert "my_hold" in catalog.names() and "broken" not in catalog.names()
    [error] = catalog.errors
    assert str(error) == "broken.py:4: syntax error: expected ':'"

    write_strategy(tmp_path, hold(name="fixed"), "broken.py")
    report = catalog.reload()
    assert report.added == ("fixed",) and report.errors == () and catalog.errors == ()
