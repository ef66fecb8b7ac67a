"""DexDock over the real DexService and a real py-evm chain with the real Uniswap V2
contracts, served on loopback HTTP from the same qasync loop as the widgets."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine, Iterator
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from task_station.container import Container
from task_station.domain.users import Role
from task_station.gui.docks.dex import DexDock, fmt_amount, fmt_percent
from task_station.services.principal import Principal
from task_station.services.users import LoginResult
from tests.support.uniswap import E18, UniswapWorld, uniswap_world

from .helpers import until

Run = Callable[[Coroutine[Any, Any, Any]], Any]


@pytest.fixture
def world(run: Run) -> Iterator[UniswapWorld]:
    w: UniswapWorld = run(uniswap_world())
    try:
        yield w
    finally:
        run(w.chain.stop())


@pytest.fixture
def dock(qtbot: QtBot, station: Container, admin: LoginResult) -> DexDock:
    widget = DexDock(station.services.dex, admin.principal)
    qtbot.addWidget(widget)
    return widget


def _settle(dock: DexDock, run: Run, what: str) -> None:
    run(until(lambda: dock.pending == 0, 60, what))


def _fill_registry(dock: DexDock, world: UniswapWorld, run: Run) -> None:
    """What a trader does: add the chain, the DEX and two tokens through the forms."""
    dock.chain_name.setText("dev")
    dock.chain_url.setText(world.chain.url)
    dock.chain_id.setText(str(world.chain.chain_id))
    assert dock.add_chain()
    assert dock.dex_chain.currentData() == world.chain.chain_id
    dock.dex_name.setText("uniswap-v2")
    dock.dex_router.setText(world.deployment.router)
    dock.dex_factory.setText(world.deployment.factory)
    assert dock.add_dex() is not None
    _settle(dock, run, "the DEX to be checked and added")
    assert dock.status.text() == "DEX 'uniswap-v2' added"
    for address, symbol in ((world.weth.address, ""), (world.usd.address, "USD")):
        dock.token_address.setText(address)
        dock.token_symbol.setText(symbol)
        assert dock.add_token() is not None
        _settle(dock, run, "the token to be followed")
    assert [dock.quote_in.itemText(i) for i in range(dock.quote_in.count())] == ["WETH", "USD"]


def test_forms_fill_the_registry_and_the_pools_table_shows_the_chain(
    dock: DexDock, world: UniswapWorld, run: Run
) -> None:
    _fill_registry(dock, world, run)
    kinds = [dock.registry.row_record(r).kind for r in range(dock.registry.rowCount())]
    assert kinds == ["Chain", "DEX", "Token", "Token"]

    assert dock.refresh_pools() is not None
    _settle(dock, run, "the pools to load")
    assert dock.pools.rowCount() == 1
    pool = dock.pools.row_record(0)
    r0, r1, t0, _ = world.reserves()
    assert pool.token0.address == t0
    assert (pool.reserve0, pool.reserve1) == (Decimal(r0).scaleb(-18), Decimal(r1).scaleb(-18))
    pair = dock.pools.text(0, dock.pools.column_of("Pair"))
    assert pair in ("WETH/USD", "USD/WETH")
    assert dock.pools.text(0, dock.pools.column_of("Mid price")) == fmt_amount(pool.price, 8)
    assert dock.pools.text(0, dock.pools.column_of("Reserve 0")).endswith(pool.token0.symbol)

    world.swap_exact_in(world.owner, world.usd, world.weth, 10_000 * E18)  # the price moves
    dock.refresh_button.click()
    _settle(dock, run, "the pools to reload")
    moved = dock.pools.row_record(0)
    assert (moved.reserve0, moved.reserve1) == tuple(
        Decimal(r).scaleb(-18) for r in world.reserves()[:2]
    )


def test_quote_box_shows_router_and_exact_amounts_and_impact(
    dock: DexDock, world: UniswapWorld, run: Run
) -> None:
    _fill_registry(dock, world, run)
    dock.quote_in.setCurrentText("WETH")
    dock.quote_out.setCurrentText("USD")
    dock.quote_amount.setText("3")
    dock.quote_button.click()
    _settle(dock, run, "the quote")
    quote = dock.last_quote
    assert quote is not None
    router = world.contract("router", world.deployment.router)
    path = [world.weth.address, world.usd.address]
    expected = int(world.call(router.functions.getAmountsOut(3 * E18, path))[-1])
    assert quote.router_amount_out == Decimal(expected).scaleb(-18)
    assert dock.quote_router.text() == f"{fmt_amount(quote.router_amount_out)} USD"
    assert dock.quote_exact.text() == dock.quote_router.text()
    assert dock.quote_impact.text() == fmt_percent(quote.price_impact)
    assert dock.quote_impact.text().endswith(" %")

    dock.quote_amount.setText("not a number")
    assert dock.request_quote() is None
    assert "the amount must be a number" in dock.status.text()


def test_wallet_form_keeps_no_key_and_shows_no_key(
    dock: DexDock, station: Container, world: UniswapWorld
) -> None:
    dock.chain_name.setText("dev")
    dock.chain_url.setText(world.chain.url)
    dock.chain_id.setText(str(world.chain.chain_id))
    assert dock.add_chain()
    assert dock.wallet_key.echoMode() is QLineEdit.EchoMode.Password
    bare = secrets.token_hex(32)
    dock.wallet_label.setText("hot")
    dock.wallet_key.setText("0x" + bare)
    assert dock.add_wallet()
    assert dock.wallet_key.text() == ""
    dock.wallet_label.setText("bad")
    dock.wallet_key.setText("0x" + bare[:-1] + "z")
    assert not dock.add_wallet()
    assert "not a valid private key" in dock.status.text()
    assert dock.wallet_key.text() == ""
    dock.wallet_label.setText("cold")
    dock.wallet_address.setText(world.chain.address(2))
    assert dock.add_wallet()
    shown = " ".join(
        dock.registry.text(r, c)
        for r in range(dock.registry.rowCount())
        for c in range(dock.registry.columnCount())
    )
    assert "watch-only" in shown and "signing (key in vault)" in shown
    assert bare not in shown + dock.status.text()
    wallets = station.services.dex.list_wallets()
    assert [w.label for w in wallets] == ["hot", "cold"]


def test_remove_and_refusals_are_shown(
    dock: DexDock, station: Container, world: UniswapWorld, run: Run
) -> None:
    dock.chain_id.setText("seven")
    assert not dock.add_chain()
    assert "whole number" in dock.status.text()
    _fill_registry(dock, world, run)
    dock.confirm = lambda _text: True
    assert dock.select_item("Chain", str(world.chain.chain_id))
    assert not dock.remove_selected()
    assert "remove them first" in dock.status.text()
    dex_id = station.services.dex.list_dexes()[0].id
    assert dock.select_item("DEX", dex_id)
    assert dock.remove_selected()
    assert dock.select_item("Chain", str(world.chain.chain_id))
    assert dock.remove_selected()
    assert dock.registry.rowCount() == 0
    assert station.services.dex.list_chains() == []
    assert dock.selected_dex_id() is None and not dock.quote_button.isEnabled()


def test_unreachable_node_error_names_the_chain(
    dock: DexDock, world: UniswapWorld, run: Run
) -> None:
    key = "GUIRPCKEY" + secrets.token_hex(12)
    dock.chain_name.setText("far")
    dock.chain_url.setText(f"http://127.0.0.1:9/v3/{key}")
    dock.chain_id.setText("1")
    assert dock.add_chain()
    assert key not in dock.status.text()
    dock.dex_name.setText("u")
    dock.dex_router.setText(world.deployment.router)
    dock.dex_factory.setText(world.deployment.factory)
    assert dock.add_dex() is not None
    _settle(dock, run, "the DEX check to fail")
    assert dock.status.text().startswith("could not add the DEX: chain 'far' (id 1)")
    assert key not in dock.status.text()


def test_viewer_can_refresh_and_quote_but_not_change(
    qtbot: QtBot, station: Container, admin: LoginResult, world: UniswapWorld, run: Run
) -> None:
    dex = station.services.dex
    chain = dex.add_chain(admin.principal, "dev", world.chain.url, world.chain.chain_id)
    spec = world.dex
    run(dex.add_dex(admin.principal, chain.chain_id, "uni", spec.router, spec.factory))
    widget = DexDock(dex, Principal("v", "viv", Role.VIEWER))
    qtbot.addWidget(widget)
    assert not widget.add_chain_button.isEnabled()
    assert not widget.add_wallet_button.isEnabled()
    assert not widget.add_dex_button.isEnabled()
    assert not widget.remove_button.isEnabled()
    assert widget.refresh_button.isEnabled() and widget.quote_button.isEnabled()
