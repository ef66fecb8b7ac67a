"""The Backtests dock over the real station: runs submitted from the form execute in
worker processes, the table follows the bus, and cancel, reports and compare do what the
trader clicked."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, QUrl
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMenu, QWidget
from pytestqt.qtbot import QtBot

from task_station.container import Container
from task_station.domain.events import BacktestProgress
from task_station.gui.docks.backtests import PROGRESS_COLUMN, BacktestsDock
from task_station.gui.formatting import fmt_money
from task_station.gui.main_window import MainWindow
from task_station.gui.palette import COLORS
from task_station.services.backtests import RunStatus
from task_station.services.bundle import Services
from task_station.services.users import LoginResult
from tests.jobs.backtest_files import add_user_strategies, candle_file

from .helpers import settle, until

Run = Callable[[Coroutine[Any, Any, Any]], Any]
TIMEOUT = 60.0
HAS_REPORTS = importlib.util.find_spec("task_station.backtest.report") is not None


@pytest.fixture
def dock(qtbot: QtBot, services: Services, admin: LoginResult) -> BacktestsDock:
    widget = BacktestsDock(
        services.backtests, services.strategies, services.events, admin.principal
    )
    qtbot.addWidget(widget)
    return widget


def fill_form(dock: BacktestsDock, data: Path, strategy: str = "sma_cross", **params: Any) -> None:
    assert dock.choose_strategy(strategy), f"{strategy} is not offered"
    dock.param_form.set_values(params)
    dock.data_edit.setText(str(data))
    dock.cash_edit.set_value_text("10000")
    dock.fee_edit.set_value_text("10")


async def submitted(dock: BacktestsDock) -> str:
    """Click "Run backtest", wait for the service's answer; the new run's id."""
    before = {dock.model.row_record(r).run.id for r in range(dock.model.rowCount())}
    dock.run_button.click()
    await until(lambda: dock.pending == 0, TIMEOUT, "the submit call")
    (new,) = [
        dock.model.row_record(r).run.id
        for r in range(dock.model.rowCount())
        if dock.model.row_record(r).run.id not in before
    ]
    return new


def status_of(dock: BacktestsDock, run_id: str) -> str:
    row = dock.run_row(run_id)
    return "" if row is None else dock.cell_text(row, "Status")


def test_submit_from_the_form_runs_in_a_worker_and_shows_the_stored_result(
    dock: BacktestsDock, services: Services, admin: LoginResult, run: Run, tmp_path: Path
) -> None:
    data = candle_file(tmp_path / "candles", bars=100_000)
    fill_form(dock, data, fast=5, slow=20)
    assert dock.symbol_edit.placeholderText().startswith("BTC/USDT")
    seen: list[tuple[int, int, str]] = []  # bars done, and the cell once the dock heard it

    def heard(event: BacktestProgress) -> None:
        row = dock.run_row(event.run_id)
        seen.append(
            (event.done, event.total, "" if row is None else dock.cell_text(row, "Progress"))
        )

    services.events.subscribe(BacktestProgress, heard)  # after the dock: it has updated

    async def scenario() -> str:
        run_id = await submitted(dock)
        assert dock.run_button.isEnabled()
        assert status_of(dock, run_id) in ("queued", "running")
        assert "sma_cross on BTC/USDT (100,000 bars of 1h)" in dock.status_text
        await until(lambda: status_of(dock, run_id) == "finished", TIMEOUT, "the run to finish")
        await settle()
        return run_id

    run_id = run(scenario())
    stored = services.backtests.get(run_id)
    assert stored.status is RunStatus.FINISHED and stored.final_equity is not None
    row = dock.run_row(run_id)
    assert row == 0 and dock.model.rowCount() == 1
    assert dock.cell_text(row, "Final equity") == fmt_money(stored.final_equity)
    assert dock.cell_text(row, "Trades") == str(stored.trade_count)
    assert dock.cell_text(row, "Progress") == "100 %"
    assert dock.cell_text(row, "Params").startswith("fast=5 slow=20")
    assert dock.cell_text(row, "Sharpe") != "—" and dock.cell_text(row, "Max DD").endswith("%")
    # the bus drove the row: bars done rose to the total, and the cell followed
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] == 100_000
    assert any(0 < done < total for done, total, _ in seen), "no progress between 0 and 100 %"
    assert any(text not in ("0 %", "100 %", "") for *_, text in seen), seen

    # a dock opened later lists the stored run as it is
    fresh = BacktestsDock(services.backtests, services.strategies, services.events, admin.principal)
    try:
        assert fresh.model.rowCount() == 1
        assert fresh.cell_text(0, "Final equity") == fmt_money(stored.final_equity)
    finally:
        fresh.deleteLater()

    if not HAS_REPORTS:
        pytest.skip("task_station.backtest.report has not landed: no report to open or save")
    assert dock.select_run(run_id)
    assert dock.report_button.isEnabled() and dock.save_button.isEnabled()
    opened: list[QUrl] = []

    def open_url(url: QUrl) -> bool:
        opened.append(url)
        return True

    dock.open_url = open_url
    path = dock.open_report()
    assert path is not None and opened == [QUrl.fromLocalFile(str(path))]
    assert path.suffix == ".html"
    target = tmp_path / "saved" / "my-report.html"
    target.parent.mkdir()
    dialog = dock.save_report_as()
    assert dialog is not None
    dialog.selectFile(str(target))
    dialog.accept()
    assert target.is_file() and "<html" in target.read_text(encoding="utf-8").lower()
    assert "my-report.html" in dock.status_text


def test_bad_input_shows_the_service_error_and_adds_no_run(
    dock: BacktestsDock, services: Services, run: Run, tmp_path: Path
) -> None:
    data = candle_file(tmp_path, bars=300)

    async def attempt() -> None:
        assert dock.submit() is not None
        await until(lambda: dock.pending == 0, TIMEOUT, "the refusal")
        await settle(0.2)

    fill_form(dock, data)
    dock.cash_edit.set_value_text("0")
    run(attempt())
    assert "starting cash must be positive" in dock.status_text
    assert dock.run_button.isEnabled()

    fill_form(dock, tmp_path / "nowhere" / "ETH_USDT-1h.parquet")
    assert dock.symbol_edit.placeholderText().startswith("ETH/USDT")
    run(attempt())
    assert "does not exist" in dock.status_text

    fill_form(dock, data, fast=30, slow=10)  # the strategy refuses fast >= slow
    run(attempt())
    assert "must be smaller than slow" in dock.status_text

    dock.data_edit.clear()
    assert dock.submit() is None and "choose a candle file" in dock.status_text
    assert services.backtests.list() == [] and dock.model.rowCount() == 0


def test_cancel_of_a_long_run_ends_it_cancelled_in_the_table(
    dock: BacktestsDock,
    station: Container,
    services: Services,
    admin: LoginResult,
    run: Run,
    tmp_path: Path,
) -> None:
    add_user_strategies(station.settings.data_dir / "strategies")
    services.strategies.reload(admin.principal)
    dock.sync_strategies()
    assert "slow" in dock.strategy_names()  # the trader's own strategy file
    data = candle_file(tmp_path, bars=40_000)  # 0.5 ms a bar: 20 s, far longer than the test
    fill_form(dock, data, strategy="slow")

    async def scenario() -> str:
        run_id = await submitted(dock)
        await until(lambda: status_of(dock, run_id) == "running", TIMEOUT, "the run to start")
        row = dock.run_row(run_id)
        assert row is not None
        await until(
            lambda: dock.cell_text(row, "Progress") not in ("0 %", "100 %"), TIMEOUT, "progress"
        )
        assert_progress_bar_painted(dock, row)
        assert dock.select_run(run_id) and dock.cancel_button.isEnabled()
        assert not dock.report_button.isEnabled()
        dock.cancel_button.click()
        await until(lambda: dock.pending == 0, TIMEOUT, "the cancel call")
        await until(lambda: status_of(dock, run_id) == "cancelled", 10, "the cancelled row")
        return run_id

    run_id = run(scenario())
    stored = services.backtests.get(run_id)
    assert stored.status is RunStatus.CANCELLED and 0 < stored.progress < 1
    assert "cancelled" in dock.status_text
    assert not dock.cancel_button.isEnabled()


def assert_progress_bar_painted(dock: BacktestsDock, row: int) -> None:
    """The running row's progress cell holds a bar in the theme's amber."""
    dock.resize(1400, 400)
    image = dock.view.viewport().grab().toImage()
    cell = dock.view.visualRect(dock.model.index(row, PROGRESS_COLUMN))
    amber = QColor(COLORS["accent_dim"]).rgb()
    pixels = {
        image.pixel(x, y)
        for x in range(cell.left() + 3, cell.right() - 3)
        for y in range(cell.top() + 6, cell.bottom() - 5)
    }
    assert amber in pixels, "no progress bar drawn in the running row"


def test_compare_two_finished_runs_opens_a_column_per_run(
    dock: BacktestsDock, services: Services, run: Run, tmp_path: Path
) -> None:
    data = candle_file(tmp_path, bars=2_000)

    async def scenario() -> list[str]:
        ids = []
        for fast, slow in ((5, 20), (10, 40)):
            fill_form(dock, data, fast=fast, slow=slow)
            ids.append(await submitted(dock))
        done = lambda: all(status_of(dock, i) == "finished" for i in ids)  # noqa: E731
        await until(done, TIMEOUT, "both runs to finish")
        await settle()
        return ids

    first, second = run(scenario())
    assert dock.select_run(first) and not dock.compare_button.isEnabled()
    assert dock.select_runs([first, second]) and dock.compare_button.isEnabled()
    dialog = dock.compare_selected()
    assert dialog is not None
    try:
        assert dialog.table.columnCount() == 2
        names = dialog.row_names()
        assert {"strategy", "fast", "slow", "final_equity", "sharpe"} <= set(names)
        for column, run_id in enumerate((first, second)):  # oldest first
            stored = services.backtests.get(run_id)
            assert stored.final_equity is not None
            assert dialog.text("final_equity", column) == fmt_money(stored.final_equity)
            assert dialog.text("fast", column) == str(stored.params["fast"])
        better = [dialog.is_best("final_equity", c) for c in (0, 1)]
        one, two = (services.backtests.get(i).final_equity for i in (first, second))
        assert one is not None and two is not None
        if one != two:
            assert better == [one > two, two > one]
        assert dialog.as_tsv().splitlines()[0].count("\t") == 2
    finally:
        dialog.close()


def test_main_window_offers_the_dock_and_a_viewer_cannot_run(
    qtbot: QtBot, services: Services, admin: LoginResult, tmp_path: Path
) -> None:
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(services, admin.principal, None, settings)
    qtbot.addWidget(window)
    dock = window.findChild(BacktestsDock, "backtestsDock")
    assert dock is window.backtests_dock and "sma_cross" in dock.strategy_names()
    (view,) = [m for m in window.menuBar().findChildren(QMenu) if m.title() == "&View"]
    assert dock.toggleViewAction() in view.actions()
    for name in ("backtestStrategy", "backtestData", "backtestCash", "backtestFee", "backtestRun"):
        widget = dock.findChild(QWidget, name)
        assert widget is not None and widget.toolTip(), f"{name} needs a tooltip"

    services.users.create("watcher", "watcher-password-1", "viewer", admin.principal)
    viewer = services.auth.login("watcher", "watcher-password-1").principal
    watching = BacktestsDock(services.backtests, services.strategies, services.events, viewer)
    qtbot.addWidget(watching)
    assert not watching.run_button.isEnabled() and not watching.cancel_button.isEnabled()
