"""The DEX dock: pools and quotes of a chosen DEX, the forms that add chains, wallets,
DEXes and tokens, and the registry with Remove.

The dock only calls ``DexService``. Reads that reach a node (pools, quotes, adding a
DEX or a token) run as asyncio tasks on the qasync loop, like the Accounts dock's tests;
a private key typed in the wallet form goes straight to the service and the field is
cleared as soon as the wallet is added.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from PySide6.QtCore import QItemSelection, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.dex import UNISWAP_V2_FEE_BPS
from task_station.domain.errors import TaskStationError, ValidationError
from task_station.gui.docks.base import TaskRunner, button_row
from task_station.gui.formatting import DASH
from task_station.gui.table_model import Column, RecordTableModel
from task_station.services.dex import DexService, PoolView, QuoteView
from task_station.services.principal import Principal

log = logging.getLogger(__name__)


def fmt_amount(value: Decimal | None, places: int = 8) -> str:
    """An exact amount shown with at most ``places`` decimals, without trailing zeros."""
    if value is None:
        return DASH
    if value.as_tuple().exponent < -places:  # type: ignore[operator]
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_percent(fraction: Decimal) -> str:
    """``0.00498`` -> ``"0.498 %"`` (three decimals)."""
    percent = (fraction * 100).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
    return f"{percent} %"


@dataclass(frozen=True, slots=True)
class RegistryItem:
    """One row of the registry table: a chain, a wallet, a DEX or a followed token."""

    kind: str
    key: str
    name: str
    detail: str


POOL_COLUMNS: list[Column[PoolView]] = [
    Column("Pair", lambda p: p.name),
    Column("Reserve 0", lambda p: f"{fmt_amount(p.reserve0, 6)} {p.token0.symbol}", numeric=True),
    Column("Reserve 1", lambda p: f"{fmt_amount(p.reserve1, 6)} {p.token1.symbol}", numeric=True),
    Column("Mid price", lambda p: fmt_amount(p.price, 8), numeric=True),
    Column("Block", lambda p: str(p.block), numeric=True),
    Column("Pool", lambda p: p.pair),
]
REGISTRY_COLUMNS: list[Column[RegistryItem]] = [
    Column("Kind", lambda r: r.kind),
    Column("Name", lambda r: r.name),
    Column("Detail", lambda r: r.detail),
]


def _table(model: RecordTableModel[Any], parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setModel(model)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setShowGrid(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(26)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    header.setHighlightSections(False)
    return view


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("subtitleLabel")
    return label


def _accent(text: str) -> QPushButton:
    button = QPushButton(text)
    button.setProperty("accent", True)
    return button


class DexDock(QDockWidget):
    """``error(message)`` when a command fails; ``message(text)`` for the status bar."""

    error = Signal(str)
    message = Signal(str)

    def __init__(self, dex: DexService, actor: Principal, parent: QWidget | None = None) -> None:
        super().__init__("DEX", parent)
        self.setObjectName("dexDock")  # QMainWindow.saveState finds docks by name
        self._dex = dex
        self._actor = actor
        self._runner = TaskRunner(self.error.emit)
        self.confirm: Callable[[str], bool] = self._ask
        self.last_quote: QuoteView | None = None
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._build_pools_tab(), "Pools && quotes")
        self.tabs.addTab(self._build_setup_tab(), "Add")
        self.tabs.addTab(self._build_registry_tab(), "Registry")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)
        self.setWidget(body)
        self.error.connect(self._show_error)
        self.message.connect(self._show_message)
        self.reload()

    # -- building ----------------------------------------------------------------------

    def _build_pools_tab(self) -> QWidget:
        tab = QWidget(self)
        self.dex_picker = QComboBox()
        self.dex_picker.setMinimumContentsLength(18)
        self.dex_picker.activated.connect(lambda _i: self._on_dex_picked())
        self.refresh_button = _accent("Refresh pools")
        self.refresh_button.clicked.connect(self.refresh_pools)
        top = QHBoxLayout()
        top.addWidget(QLabel("DEX"))
        top.addWidget(self.dex_picker, 1)
        top.addWidget(self.refresh_button)
        self.pools: RecordTableModel[PoolView] = RecordTableModel(
            POOL_COLUMNS, lambda p: p.pair, self
        )
        self.pool_view = _table(self.pools, tab)

        self.quote_in = QComboBox()
        self.quote_out = QComboBox()
        self.quote_amount = QLineEdit()
        self.quote_amount.setPlaceholderText("amount to sell")
        self.quote_wallet = QComboBox()
        self.quote_button = _accent("Quote")
        self.quote_button.clicked.connect(self.request_quote)
        self.quote_amount.returnPressed.connect(self.request_quote)
        ask = QHBoxLayout()
        for label, widget in (
            ("Sell", self.quote_amount),
            ("", self.quote_in),
            ("for", self.quote_out),
            ("wallet", self.quote_wallet),
        ):
            if label:
                ask.addWidget(QLabel(label))
            ask.addWidget(widget, 1 if widget is self.quote_amount else 0)
        ask.addWidget(self.quote_button)
        self.quote_router = QLabel(DASH)
        self.quote_exact = QLabel(DASH)
        self.quote_price = QLabel(DASH)
        self.quote_impact = QLabel(DASH)
        self.quote_balances = QLabel(DASH)
        answer = QGridLayout()
        for i, (title, value) in enumerate(
            (
                ("Router (getAmountsOut)", self.quote_router),
                ("Exact (pool math)", self.quote_exact),
                ("Price", self.quote_price),
                ("Price impact", self.quote_impact),
                ("Wallet", self.quote_balances),
            )
        ):
            answer.addWidget(_heading(title), i // 3, (i % 3) * 2)
            answer.addWidget(value, i // 3, (i % 3) * 2 + 1)
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.pool_view, 1)
        layout.addLayout(ask)
        layout.addLayout(answer)
        return tab

    def _build_setup_tab(self) -> QWidget:
        inner = QWidget()
        grid = QGridLayout(inner)
        grid.setContentsMargins(4, 6, 4, 4)
        grid.setHorizontalSpacing(18)

        self.chain_name = QLineEdit()
        self.chain_name.setPlaceholderText("e.g. Ethereum")
        self.chain_url = QLineEdit()
        self.chain_url.setPlaceholderText("https://… (an API key in it goes to the vault)")
        self.chain_url.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.chain_id = QLineEdit()
        self.chain_id.setPlaceholderText("e.g. 1")
        self.chain_symbol = QLineEdit("ETH")
        self.add_chain_button = _accent("Add chain")
        self.add_chain_button.clicked.connect(self.add_chain)
        chain_form = self._form(
            "Chain",
            [
                ("Name", self.chain_name),
                ("RPC URL", self.chain_url),
                ("Chain id", self.chain_id),
                ("Native coin", self.chain_symbol),
            ],
            self.add_chain_button,
        )

        self.wallet_chain = QComboBox()
        self.wallet_label = QLineEdit()
        self.wallet_key = QLineEdit()
        self.wallet_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.wallet_key.setPlaceholderText("private key, to trade (kept in the vault)")
        self.wallet_address = QLineEdit()
        self.wallet_address.setPlaceholderText("or an address, to watch")
        self.add_wallet_button = _accent("Add wallet")
        self.add_wallet_button.clicked.connect(self.add_wallet)
        wallet_form = self._form(
            "Wallet",
            [
                ("Chain", self.wallet_chain),
                ("Label", self.wallet_label),
                ("Private key", self.wallet_key),
                ("Watch address", self.wallet_address),
            ],
            self.add_wallet_button,
        )

        self.dex_chain = QComboBox()
        self.dex_name = QLineEdit()
        self.dex_name.setPlaceholderText("e.g. Uniswap V2")
        self.dex_router = QLineEdit()
        self.dex_router.setPlaceholderText("router 0x…")
        self.dex_factory = QLineEdit()
        self.dex_factory.setPlaceholderText("factory 0x…")
        self.dex_fee = QSpinBox()
        self.dex_fee.setRange(0, 9999)
        self.dex_fee.setValue(UNISWAP_V2_FEE_BPS)
        self.dex_fee.setSuffix(" bps")
        self.add_dex_button = _accent("Add DEX")
        self.add_dex_button.clicked.connect(self.add_dex)
        dex_form = self._form(
            "DEX (Uniswap V2-compatible)",
            [
                ("Chain", self.dex_chain),
                ("Name", self.dex_name),
                ("Router", self.dex_router),
                ("Factory", self.dex_factory),
                ("LP fee", self.dex_fee),
            ],
            self.add_dex_button,
        )

        self.token_dex = QComboBox()
        self.token_address = QLineEdit()
        self.token_address.setPlaceholderText("token 0x…")
        self.token_symbol = QLineEdit()
        self.token_symbol.setPlaceholderText("optional: read from the contract")
        self.add_token_button = _accent("Follow token")
        self.add_token_button.clicked.connect(self.add_token)
        token_form = self._form(
            "Token",
            [
                ("DEX", self.token_dex),
                ("Address", self.token_address),
                ("Symbol", self.token_symbol),
            ],
            self.add_token_button,
        )

        for i, form in enumerate((chain_form, wallet_form, dex_form, token_form)):
            grid.addLayout(form, i // 2, i % 2)
        grid.setRowStretch(2, 1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        return scroll

    @staticmethod
    def _form(title: str, rows: list[tuple[str, QWidget]], button: QPushButton) -> QFormLayout:
        form = QFormLayout()
        form.addRow(_heading(title))
        for label, widget in rows:
            form.addRow(label, widget)
        form.addRow("", button)
        return form

    def _build_registry_tab(self) -> QWidget:
        tab = QWidget(self)
        self.registry: RecordTableModel[RegistryItem] = RecordTableModel(
            REGISTRY_COLUMNS, lambda r: (r.kind, r.key), self
        )
        self.registry_view = _table(self.registry, tab)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.registry_view.selectionModel().selectionChanged.connect(self._on_registry_selection)
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(button_row(self.remove_button))
        layout.addWidget(self.registry_view, 1)
        return tab

    # -- reading the registry ----------------------------------------------------------

    def reload(self) -> None:
        """Re-read chains, wallets, DEXes and tokens (no node is asked)."""
        chains = self._dex.list_chains()
        dexes = self._dex.list_dexes()
        wallets = self._dex.list_wallets()
        names = {c.chain_id: c.name for c in chains}
        for combo in (self.wallet_chain, self.dex_chain):
            self._fill(combo, [(f"{c.name} ({c.chain_id})", c.chain_id) for c in chains])
        dex_items = [(f"{d.name} on {names.get(d.chain_id, d.chain_id)}", d.id) for d in dexes]
        self._fill(self.dex_picker, dex_items)
        self._fill(self.token_dex, dex_items)
        items: list[RegistryItem] = []
        for c in chains:
            items.append(
                RegistryItem("Chain", str(c.chain_id), c.name, f"{c.chain_id} · {c.rpc_url}")
            )
        for w in wallets:
            kind = "watch-only" if w.watch_only else "signing (key in vault)"
            where = names.get(w.chain_id, w.chain_id)
            items.append(RegistryItem("Wallet", w.id, w.label, f"{w.address} · {where} · {kind}"))
        for d in dexes:
            where = names.get(d.chain_id, d.chain_id)
            items.append(
                RegistryItem("DEX", d.id, d.name, f"{where} · router {d.router} · {d.fee_bps} bps")
            )
            for t in self._dex.list_tokens(d.id):
                items.append(
                    RegistryItem(
                        "Token", f"{d.id}|{t.address}", t.symbol, f"{d.name} · {t.address}"
                    )
                )
        self.registry.set_rows(items)
        self._fill_quote_choices()
        self._update_buttons()

    @staticmethod
    def _fill(combo: QComboBox, items: Sequence[tuple[str, object]]) -> None:
        """Replace the items, keeping the current choice where it still exists."""
        current = combo.currentData()
        combo.blockSignals(True)
        try:
            combo.clear()
            for text, data in items:
                combo.addItem(text, data)
            index = combo.findData(current)
            combo.setCurrentIndex(index if index >= 0 else (0 if items else -1))
        finally:
            combo.blockSignals(False)

    def _fill_quote_choices(self) -> None:
        dex_id = self.selected_dex_id()
        tokens = [] if dex_id is None else self._dex.list_tokens(dex_id)
        symbols: list[tuple[str, object]] = [(t.symbol, t.symbol) for t in tokens]
        self._fill(self.quote_in, symbols)
        self._fill(self.quote_out, symbols)
        if len(symbols) > 1 and self.quote_in.currentIndex() == self.quote_out.currentIndex():
            self.quote_out.setCurrentIndex(1)
        wallets: list[tuple[str, object]] = [("none", None)]
        if dex_id is not None:
            chain_id = self._dex.get_dex(dex_id).chain_id
            wallets += [(w.label, w.id) for w in self._dex.list_wallets(chain_id)]
        self._fill(self.quote_wallet, wallets)

    def selected_dex_id(self) -> str | None:
        data = self.dex_picker.currentData()
        return data if isinstance(data, str) else None

    def select_dex(self, dex_id: str) -> bool:
        index = self.dex_picker.findData(dex_id)
        if index < 0:
            return False
        self.dex_picker.setCurrentIndex(index)
        self._fill_quote_choices()
        self.pools.set_rows([])
        return True

    def _on_dex_picked(self) -> None:
        self._fill_quote_choices()
        self.pools.set_rows([])
        self.refresh_pools()

    def selected_item(self) -> RegistryItem | None:
        rows = self.registry_view.selectionModel().selectedRows()
        return self.registry.row_record(rows[0].row()) if rows else None

    def select_item(self, kind: str, key: str) -> bool:
        row = self.registry.row_of((kind, key))
        if row is None:
            return False
        self.registry_view.selectRow(row)
        return True

    def _on_registry_selection(self, _new: QItemSelection, _old: QItemSelection) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        can_trade = self._actor.role.can_trade()
        for button in (
            self.add_chain_button,
            self.add_wallet_button,
            self.add_dex_button,
            self.add_token_button,
        ):
            button.setEnabled(can_trade)
        self.remove_button.setEnabled(can_trade and self.selected_item() is not None)
        has_dex = self.selected_dex_id() is not None
        self.refresh_button.setEnabled(has_dex)
        self.quote_button.setEnabled(has_dex)

    # -- commands that stay local --------------------------------------------------------

    def add_chain(self) -> bool:
        try:
            chain_id = int(self.chain_id.text().strip())
        except ValueError:
            self.error.emit("could not add the chain: the chain id must be a whole number")
            return False
        try:
            chain = self._dex.add_chain(
                self._actor,
                self.chain_name.text(),
                self.chain_url.text(),
                chain_id,
                self.chain_symbol.text() or "ETH",
            )
        except TaskStationError as exc:
            self.error.emit(f"could not add the chain: {exc}")
            return False
        for field in (self.chain_name, self.chain_url, self.chain_id):
            field.clear()
        self.reload()
        self.message.emit(f"chain {chain.name!r} added ({chain.rpc_url})")
        return True

    def add_wallet(self) -> bool:
        chain_id = self.wallet_chain.currentData()
        if not isinstance(chain_id, int):
            self.error.emit("could not add the wallet: add a chain first")
            return False
        try:
            wallet = self._dex.add_wallet(
                self._actor,
                chain_id,
                self.wallet_label.text(),
                private_key=self.wallet_key.text() or None,
                address=self.wallet_address.text() or None,
            )
        except TaskStationError as exc:
            self.error.emit(f"could not add the wallet: {exc}")
            return False
        finally:
            self.wallet_key.clear()  # never keep a key in a widget longer than needed
        for field in (self.wallet_label, self.wallet_address):
            field.clear()
        self.reload()
        kind = "watch-only" if wallet.watch_only else "signing"
        self.message.emit(f"{kind} wallet {wallet.label!r} added ({wallet.address})")
        return True

    def _ask(self, text: str) -> bool:
        answer = QMessageBox.question(self, "Remove", text)
        return answer == QMessageBox.StandardButton.Yes

    def remove_selected(self) -> bool:
        item = self.selected_item()
        if item is None:
            return False
        extra = " and delete its key from the vault" if item.kind == "Wallet" else ""
        if not self.confirm(f"Remove the {item.kind.lower()} {item.name!r}{extra}?"):
            return False
        try:
            if item.kind == "Chain":
                self._dex.remove_chain(self._actor, int(item.key))
            elif item.kind == "Wallet":
                self._dex.remove_wallet(self._actor, item.key)
            elif item.kind == "DEX":
                self._dex.remove_dex(self._actor, item.key)
            else:
                dex_id, address = item.key.split("|", 1)
                self._dex.remove_token(self._actor, dex_id, address)
        except TaskStationError as exc:
            self.error.emit(f"could not remove {item.name}: {exc}")
            return False
        self.reload()
        self.message.emit(f"{item.kind.lower()} {item.name!r} removed")
        return True

    # -- commands that ask a node ----------------------------------------------------------

    def add_dex(self) -> asyncio.Future[Any] | None:
        chain_id = self.dex_chain.currentData()
        if not isinstance(chain_id, int):
            self.error.emit("could not add the DEX: add a chain first")
            return None
        name = self.dex_name.text()
        router, factory = self.dex_router.text(), self.dex_factory.text()
        fee = self.dex_fee.value()
        self.status.setText(f"checking {name.strip() or 'the DEX'} on the chain…")

        async def call() -> None:
            dex = await self._dex.add_dex(self._actor, chain_id, name, router, factory, fee)
            for field in (self.dex_name, self.dex_router, self.dex_factory):
                field.clear()
            self.reload()
            self.select_dex(dex.id)
            self.message.emit(f"DEX {dex.name!r} added")

        return self._runner.launch("add the DEX", call)

    def add_token(self) -> asyncio.Future[Any] | None:
        dex_id = self.token_dex.currentData()
        if not isinstance(dex_id, str):
            self.error.emit("could not follow the token: add a DEX first")
            return None
        address, symbol = self.token_address.text(), self.token_symbol.text() or None
        self.status.setText("reading the token's contract…")

        async def call() -> None:
            followed = await self._dex.add_token(self._actor, dex_id, address, symbol)
            self.token_address.clear()
            self.token_symbol.clear()
            self.reload()
            self.message.emit(f"following {followed.symbol} ({followed.address})")

        return self._runner.launch("follow the token", call)

    def refresh_pools(self) -> asyncio.Future[Any] | None:
        dex_id = self.selected_dex_id()
        if dex_id is None:
            return None
        self.status.setText("reading pools…")

        async def call() -> None:
            pools = await self._dex.list_pools(dex_id)
            if self.selected_dex_id() == dex_id:
                self.pools.set_rows(pools)
                self.message.emit(f"{len(pools)} pool(s)")

        return self._runner.launch("read the pools", call)

    def request_quote(self) -> asyncio.Future[Any] | None:
        dex_id = self.selected_dex_id()
        if dex_id is None:
            return None
        token_in, token_out = self.quote_in.currentText(), self.quote_out.currentText()
        wallet_id = self.quote_wallet.currentData()
        try:
            amount = Decimal(self.quote_amount.text().strip().replace(",", ""))
        except InvalidOperation:
            self.error.emit("could not quote: the amount must be a number")
            return None
        self.status.setText("quoting…")

        async def call() -> None:
            if not token_in or not token_out:
                raise ValidationError("follow at least two tokens on this DEX to quote")
            quote = await self._dex.quote(
                dex_id, token_in, token_out, amount, wallet_id if wallet_id else None
            )
            self.show_quote(quote)
            self.message.emit(
                f"{fmt_amount(quote.amount_in)} {token_in} → "
                f"{fmt_amount(quote.router_amount_out)} {token_out}"
            )

        return self._runner.launch("quote", call)

    def show_quote(self, quote: QuoteView) -> None:
        self.last_quote = quote
        out = quote.token_out.symbol
        self.quote_router.setText(f"{fmt_amount(quote.router_amount_out)} {out}")
        exact = f"{fmt_amount(quote.exact_amount_out)} {out}"
        self.quote_exact.setText(exact if quote.agrees else f"{exact} (router differs!)")
        self.quote_price.setText(
            f"{fmt_amount(quote.price)} {out}/{quote.token_in.symbol}"
            f" (mid {fmt_amount(quote.mid_price)})"
        )
        self.quote_impact.setText(fmt_percent(quote.price_impact))
        self.quote_balances.setText(
            ", ".join(f"{fmt_amount(b.amount)} {b.symbol}" for b in quote.balances) or DASH
        )

    # -- async plumbing ------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Node requests still running."""
        return self._runner.pending

    def _show_error(self, text: str) -> None:
        self.status.setObjectName("errorLabel")
        self._restyle(text)

    def _show_message(self, text: str) -> None:
        self.status.setObjectName("")
        self._restyle(text)

    def _restyle(self, text: str) -> None:
        self.status.setText(text)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
