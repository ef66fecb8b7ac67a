"""The "New bot" dialog: a form whose only judge is ``BotService.create``.

The dialog does not validate trading rules itself (the API would then need a copy of
them): it parses the text fields into the service's arguments, calls the service, and
shows the service's error inline, leaving the dialog open and nothing created.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.bots import BotDefinition
from task_station.domain.errors import TaskStationError, ValidationError
from task_station.services.bots import BotService
from task_station.services.principal import Principal
from task_station.strategies.registry import strategy_class, strategy_names

_SEPARATORS = re.compile(r"[,\s;]+")


def parse_params(text: str) -> dict[str, str]:
    """``"fast=3, slow=8"`` -> ``{"fast": "3", "slow": "8"}`` (the strategy parses values)."""
    params: dict[str, str] = {}
    for token in filter(None, _SEPARATORS.split(text.strip())):
        name, sep, value = token.partition("=")
        if not sep or not name or not value:
            raise ValidationError(
                f"parameter {token!r} must be written as name=value, e.g. fast=10 slow=30"
            )
        params[name] = value
    return params


def params_hint(strategy: str) -> str:
    """One line per parameter of ``strategy``: name, default and what it does."""
    try:
        schema = strategy_class(strategy).params
    except TaskStationError as exc:
        return str(exc)
    return "\n".join(f"{p.name} (default {p.default}): {p.description}" for p in schema)


class NewBotDialog(QDialog):
    """Emits ``created(bot)`` and accepts once the service has created the bot."""

    created = Signal(object)

    def __init__(self, bots: BotService, actor: Principal, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New bot")
        self.setMinimumWidth(440)
        self._bots = bots
        self._actor = actor
        self.bot: BotDefinition | None = None
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. BTC trend follower")
        self.strategy_combo = QComboBox()
        self.strategy_combo.addItems(strategy_names())
        self.strategy_combo.setCurrentText("sma_cross")  # the simplest one, first
        self.params_edit = QLineEdit()
        self.params_hint = QLabel()
        self.params_hint.setObjectName("subtitleLabel")
        self.params_hint.setWordWrap(True)
        self.budget_edit = QLineEdit("10000")
        self.symbol_edit = QLineEdit("BTC/USDT")
        self.source_edit = QLineEdit("synthetic:7")
        self.source_edit.setToolTip(
            "synthetic:SEED (built-in demo market) or file:PATH (CSV/Parquet candles)"
        )
        self.fee_edit = QLineEdit("10")
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Strategy", self.strategy_combo)
        form.addRow("Parameters", self.params_edit)
        form.addRow("", self.params_hint)
        form.addRow("Quote budget", self.budget_edit)
        form.addRow("Symbol", self.symbol_edit)
        form.addRow("Data source", self.source_edit)
        form.addRow("Fee (bps)", self.fee_edit)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.strategy_combo.currentTextChanged.connect(self._on_strategy)
        self._on_strategy(self.strategy_combo.currentText())

    def submit(self) -> bool:
        """Ask the service to create the bot; True (and accepted) on success."""
        try:
            bot = self._bots.create(
                self._actor,
                name=self.name_edit.text(),
                strategy=self.strategy_combo.currentText(),
                params=parse_params(self.params_edit.text()),
                quote_budget=self.budget_edit.text().strip(),
                symbol=self.symbol_edit.text().strip(),
                data_source=self.source_edit.text().strip(),
                fee_bps=self.fee_edit.text().strip(),
            )
        except TaskStationError as exc:
            self.show_error(str(exc))
            return False
        self.bot = bot
        self.created.emit(bot)
        self.accept()
        return True

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    @property
    def error_text(self) -> str:
        return self.error_label.text() if self.error_label.isVisibleTo(self) else ""

    def _on_strategy(self, name: str) -> None:
        self.params_hint.setText(params_hint(name))
        try:
            defaults = " ".join(f"{p.name}={p.default}" for p in strategy_class(name).params)
        except TaskStationError:
            defaults = ""
        self.params_edit.setPlaceholderText(defaults or "name=value ... (empty: the defaults)")
