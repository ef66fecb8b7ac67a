"""The Market dock over the real services: a download from the loopback exchange shows
its progress and ends in the inventory, a replay moves the watchlist price under the
dock's controls, and the watchlist lives in QSettings."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import qasync
from keyrings.cryptfile.cryptfile import CryptFileKeyring
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from task_station.container import Container, build_container
from task_station.domain.market_data_events import DownloadState, ReplayState
from task_station.domain.market_feed import TickerUpdated
from task_station.gui.docks.market import MarketDock
from task_station.gui.docks.market_downloads import set_utc
from task_station.gui.docks.market_store import SPEEDS
from task_station.gui.main_window import MainWindow
from task_station.services.principal import Principal
from tests.marketdata.store_fixtures import BARS, START, history_frame, start_simulator

from .helpers import ADMIN_PASSWORD, until

Run = Callable[[Coroutine[Any, Any, Any]], Any]
MARKET = "simulator:BTC/USDT"


@pytest.fixture(autouse=True)
def cheap_vault_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vault's Argon2 at a test cost (each read or write takes seconds at the real one)."""
    monkeypatch.setattr(CryptFileKeyring, "time_cost", 1)
    monkeypatch.setattr(CryptFileKeyring, "memory_cost", 1024)


@pytest.fixture
def market_station(
    settings_factory: Callable[..., Any], qloop: qasync.QEventLoop
) -> Iterator[Container]:
    """The real container downloading from a loopback binance on the test's own loop."""
    simulator = qloop.run_until_complete(start_simulator())
    container = build_container(settings_factory(simulator_url=simulator.url))
    yield container
    qloop.run_until_complete(container.aclose())
    qloop.run_until_complete(simulator.stop())


@pytest.fixture
def trader(market_station: Container) -> Principal:
    services = market_station.services
    services.users.create("admin", ADMIN_PASSWORD, "admin", None)
    return services.auth.login("admin", ADMIN_PASSWORD).principal


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)


def make_dock(
    qtbot: QtBot, station: Container, actor: Principal, settings: QSettings
) -> MarketDock:
    s = station.services
    dock = MarketDock(s.market_data, s.events, actor, s.clock, settings=settings)
    qtbot.addWidget(dock)
    return dock


def test_a_download_shows_progress_and_ends_in_the_inventory(
    qtbot: QtBot, market_station: Container, trader: Principal, settings: QSettings, run: Run
) -> None:
    dock = make_dock(qtbot, market_station, trader, settings)
    panel = dock.downloads
    panel.market_edit.setText(MARKET)
    panel.timeframe.setCurrentText("1m")
    set_utc(panel.since, START)
    seen: list[int] = []

    async def scenario() -> None:
        panel.download_button.click()
        [row] = panel.rows.values()
        row.bar.valueChanged.connect(seen.append)
        await until(lambda: not row.cancel_button.isEnabled(), 30, "the download to end")

    run(scenario())
    [row] = panel.rows.values()
    job = market_station.services.market_data.download_job(row.job_id)
    assert job.state is DownloadState.FINISHED, job.error
    assert row.bar.value() == row.bar.maximum() and len(seen) >= 2  # it moved, then filled
    assert f"{BARS}/{BARS} bars" in row.bar.text()
    assert row.state.text() == f"finished: {BARS} bars written"

    async def listed() -> None:
        await until(lambda: dock.stored.series.rowCount() == 1, 10, "the inventory")

    run(listed())
    table = dock.stored.series
    texts = [table.text(0, table.column_of(c)) for c in ("Venue", "Symbol", "TF", "Rows", "Gaps")]
    assert texts == ["simulator", "BTC/USDT", "1m", f"{BARS:,}", "0"]


def test_a_replay_moves_the_watchlist_price_under_the_controls(
    qtbot: QtBot, market_station: Container, trader: Principal, settings: QSettings, run: Run
) -> None:
    s = market_station.services
    frame = history_frame(30)
    s.market_data.store.write_candles("simulator", "BTC/USDT", "1m", frame)
    dock = make_dock(qtbot, market_station, trader, settings)
    assert dock.watch.add_market(MARKET)
    stored = dock.stored
    stored.refresh()
    assert stored.select_series("candles", "simulator", "BTC/USDT", "1m")
    stored.speed.setCurrentIndex([label for label, _ in SPEEDS].index("1x"))
    close = [Decimal(repr(float(c))) for c in frame["close"]]

    def last_price() -> Decimal | None:
        quote = dock.watch.watchlist.quote(MARKET)
        return None if quote is None else quote.last

    async def scenario() -> None:
        stored.replay_button.click()  # at 1x the first bar closes a minute in: nothing yet
        assert stored.replay_id is not None
        stored.step_button.click()
        assert last_price() == close[0]
        set_utc(stored.seek_edit, START.replace(minute=20))
        stored.seek_button.click()
        stored.step_button.click()
        assert last_price() == close[19]  # the bar that closed at 20:20
        stored.speed.setCurrentIndex(len(SPEEDS) - 1)  # max
        stored.pause_button.click()  # it was paused by the step: this resumes
        await until(lambda: s.market_data.replay(stored.replay_id or "").state.ended, 10,
                    "the replay to finish")  # fmt: skip
        shown = f"{close[-1]:,f}"
        await until(lambda: dock.watch.model.text(0, 1) == shown, 5, "the repaint")

    run(scenario())
    assert s.market_data.replay(stored.replay_id or "").state is ReplayState.FINISHED
    assert stored.replay_bar.value() == stored.replay_bar.maximum()
    assert stored.replay_state.text().startswith("finished at 2023-01-31 20:30:00 UTC, max")
    change = dock.watch.model.text(0, dock.watch.model.column_of("Change"))
    assert change == f"{(close[-1] - close[0]) / close[0] * 100:+.2f}%"


def test_the_watchlist_is_kept_in_qsettings_and_shows_tickers(
    qtbot: QtBot, market_station: Container, trader: Principal, settings: QSettings
) -> None:
    s = market_station.services
    dock = make_dock(qtbot, market_station, trader, settings)
    dock.watch.market_edit.setText("BTCUSDT")
    dock.watch.add_button.click()
    assert "names no venue" in dock.status.text() and dock.watch.model.rowCount() == 0
    dock.watch.market_edit.setText("binance:ETH/USDT")
    dock.watch.add_button.click()
    s.events.publish(TickerUpdated(START, "binance", "ETH/USDT", Decimal("1999.5"),
                                   Decimal("2000.5"), None))  # fmt: skip
    dock.watch.repaint_soon.flush()
    model = dock.watch.model
    assert [model.text(0, i) for i in range(4)] == [
        "binance:ETH/USDT",
        "2,000.0",
        "1,999.5",
        "2,000.5",
    ]
    window = MainWindow(s, trader, None, settings)
    qtbot.addWidget(window)
    assert window.market_dock.watch.watchlist.markets == ["binance:ETH/USDT"]
    window.market_dock.watch.view.selectRow(0)
    window.market_dock.watch.remove_button.click()
    again = make_dock(qtbot, market_station, trader, settings)
    assert again.watch.watchlist.markets == []
