"""AccountsDock over the real AccountService; venues point at a closed loopback port so
the Test button exercises the error path without the internet."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from task_station.container import Container
from task_station.domain.users import Role
from task_station.gui.docks.accounts import AccountsDock
from task_station.services.accounts import AccountService
from task_station.services.principal import Principal
from task_station.services.users import LoginResult
from task_station.venues.ccxt_cex import CcxtVenueFactory, RetryPolicy

from .helpers import until

KEY = "GUIKEY-UNIQUE-aa55aa55"
SECRET = "GUISECRET-UNIQUE-0badf00d"
Run = Callable[[Coroutine[Any, Any, Any]], Any]


@pytest.fixture
def accounts(station: Container) -> AccountService:
    clock = station.services.clock
    factory = CcxtVenueFactory(
        clock, base_url="http://127.0.0.1:9", retry=RetryPolicy(2, 0.001, 0.002)
    )
    return AccountService(
        station.database.accounts, station.vault, clock, station.database.audit, factory
    )


@pytest.fixture
def dock(
    qtbot: QtBot, accounts: AccountService, station: Container, admin: LoginResult
) -> AccountsDock:
    widget = AccountsDock(accounts, station.services.events, admin.principal)
    qtbot.addWidget(widget)
    return widget


def _table_text(dock: AccountsDock) -> str:
    model = dock.model
    return " ".join(
        model.text(r, c) for r in range(model.rowCount()) for c in range(model.columnCount())
    )


def test_add_dialog_adds_account_to_table_without_showing_secrets(
    dock: AccountsDock, run: Run
) -> None:
    dialog = dock.open_add_dialog()
    dialog.exchange.setCurrentText("kraken")
    dialog.name.setText("swing")
    dialog.api_key.setText(KEY)
    dialog.api_secret.setText(SECRET)
    dialog.submit()
    assert dialog.added is not None
    assert dock.model.rowCount() == 1
    assert dock.cell_text(0, "Exchange") == "kraken"
    assert dock.selected_account() is not None
    text = _table_text(dock) + dock.status.text()
    assert KEY not in text and SECRET not in text
    assert dialog.api_secret.text() == ""
    run(until(lambda: dock.pending == 0, 30, "the balance load to finish"))


def test_add_dialog_refusal_stays_open_with_reason(dock: AccountsDock) -> None:
    dialog = dock.open_add_dialog()
    dialog.exchange.setCurrentText("no-such-exchange")
    dialog.name.setText("x")
    dialog.api_key.setText(KEY)
    dialog.api_secret.setText(SECRET)
    dialog.submit()
    assert dialog.added is None
    assert dialog.isVisible()
    assert "unknown exchange" in dialog.error_label.text()
    dialog.reject()
    assert dock.model.rowCount() == 0


def test_test_button_on_unreachable_exchange_shows_venue_error(
    dock: AccountsDock, accounts: AccountService, admin: LoginResult, run: Run
) -> None:
    errors: list[str] = []
    dock.error.connect(errors.append)
    account = accounts.add(admin.principal, "main", "binance", KEY, SECRET)
    dock.refresh()
    assert dock.select_account(account.id)
    assert dock.test_selected() is not None
    run(until(lambda: dock.pending == 0, 30, "the test to finish"))
    (tested,) = [e for e in errors if e.startswith("could not test main")]
    assert "could not be reached" in tested
    assert any(e.startswith("could not load balances") for e in errors)
    assert dock.status.text() in errors
    assert not any(KEY in e or SECRET in e for e in errors)


def test_remove_button_removes_selected_account(
    dock: AccountsDock, accounts: AccountService, admin: LoginResult, run: Run
) -> None:
    account = accounts.add(admin.principal, "main", "binance", KEY, SECRET)
    dock.refresh()
    dock.select_account(account.id)
    dock.confirm = lambda _text: True
    dock.remove_selected()
    assert dock.model.rowCount() == 0
    assert accounts.list() == []
    run(until(lambda: dock.pending == 0, 30, "balance loads to finish"))


def test_viewer_sees_disabled_buttons(
    qtbot: QtBot, accounts: AccountService, station: Container
) -> None:
    widget = AccountsDock(accounts, station.services.events, Principal("v", "viv", Role.VIEWER))
    qtbot.addWidget(widget)
    assert not widget.add_button.isEnabled()
    assert not widget.test_button.isEnabled()
