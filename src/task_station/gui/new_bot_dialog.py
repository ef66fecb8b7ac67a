"""The "New bot" dialog: a form whose only judge is ``BotService.create``.

The dialog does not validate trading rules itself (the API would then need a copy of
them): it parses the text fields into the service's arguments, calls the service, and
shows the service's error inline, leaving the dialog open and nothing created.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.bots import BotDefinition
from task_station.domain.errors import TaskStationError, ValidationError
from task_station.services.bots import BotService
from task_station.services.presets import PresetService
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


def format_params(params: Mapping[str, object]) -> str:
    """``{"fast": 3, "on": True}`` -> ``"fast=3 on=true"`` (what ``parse_params`` reads)."""
    return " ".join(
        f"{name}={str(value).lower() if isinstance(value, bool) else value}"
        for name, value in params.items()
    )


ALL_FAMILIES = "All families"
ANY_RISK = "Any risk"


class NewBotDialog(QDialog):
    """Emits ``created(bot)`` and accepts once the service has created the bot."""

    created = Signal(object)

    def __init__(
        self,
        bots: BotService,
        actor: Principal,
        parent: QWidget | None = None,
        *,
        presets: PresetService | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New bot")
        self.setMinimumWidth(440)
        self._bots = bots
        self._actor = actor
        self._presets = presets or PresetService()
        #: The chosen preset's parameters and the text they were shown as: while the
        #: text is untouched the exact values are sent (some cannot be typed as name=value).
        self._preset_params: dict[str, object] | None = None
        self._preset_text = ""
        self.bot: BotDefinition | None = None
        self.preset_search = QLineEdit()
        self.preset_search.setPlaceholderText("Search presets, e.g. rsi eth 1h")
        self.preset_search.setClearButtonEnabled(True)
        self.preset_family = QComboBox()
        self.preset_family.addItems([ALL_FAMILIES, *self._presets.families()])
        self.preset_risk = QComboBox()
        self.preset_risk.addItems([ANY_RISK, *self._presets.risk_profiles])
        self.preset_list = QListWidget()
        self.preset_list.setMinimumHeight(120)
        self.preset_description = QLabel("No preset: fill the form yourself.")
        self.preset_description.setObjectName("subtitleLabel")
        self.preset_description.setWordWrap(True)
        self.timeframe_edit = QLineEdit()
        self.timeframe_edit.setReadOnly(True)
        self.timeframe_edit.setPlaceholderText("from the data source")
        self.timeframe_edit.setToolTip(
            "The timeframe the preset was chosen for; the bot runs on the data source's candles"
        )
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
        filters = QHBoxLayout()
        filters.addWidget(self.preset_search, 1)
        filters.addWidget(self.preset_family)
        filters.addWidget(self.preset_risk)
        presets_form = QFormLayout()
        presets_form.addRow("Preset", filters)
        presets_form.addRow("", self.preset_list)
        presets_form.addRow("", self.preset_description)
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Strategy", self.strategy_combo)
        form.addRow("Parameters", self.params_edit)
        form.addRow("", self.params_hint)
        form.addRow("Quote budget", self.budget_edit)
        form.addRow("Symbol", self.symbol_edit)
        form.addRow("Timeframe", self.timeframe_edit)
        form.addRow("Data source", self.source_edit)
        form.addRow("Fee (bps)", self.fee_edit)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(presets_form)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.strategy_combo.currentTextChanged.connect(self._on_strategy)
        self._on_strategy(self.strategy_combo.currentText())
        self.preset_search.textChanged.connect(self.refresh_presets)
        self.preset_family.currentTextChanged.connect(self.refresh_presets)
        self.preset_risk.currentTextChanged.connect(self.refresh_presets)
        self.preset_list.itemClicked.connect(self._on_preset_item)
        self.preset_list.itemActivated.connect(self._on_preset_item)
        self.refresh_presets()

    def preset_names(self) -> list[str]:
        """The names the preset list shows now, top to bottom."""
        names: list[str] = []
        for row in range(self.preset_list.count()):
            item = self.preset_list.item(row)
            names.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return names

    def refresh_presets(self) -> None:
        """Show the presets matching the search text, family and risk profile."""
        family = self.preset_family.currentText()
        risk = self.preset_risk.currentText()
        try:
            found = self._presets.list(
                family=None if family == ALL_FAMILIES else family,
                risk=None if risk == ANY_RISK else risk,
                search=self.preset_search.text(),
            )
        except TaskStationError as exc:
            self.show_error(str(exc))
            found = []
        self.preset_list.clear()
        for p in found:
            item = QListWidgetItem(f"{p.name}  ({p.timeframe}, {p.risk_profile})")
            item.setData(Qt.ItemDataRole.UserRole, p.name)
            item.setToolTip(p.description)
            self.preset_list.addItem(item)

    def choose_preset(self, name: str) -> None:
        """Fill the strategy, parameters, symbol and timeframe from the preset ``name``.

        Every field stays editable: the preset is a starting point, not a lock.
        """
        try:
            chosen = self._presets.get(name)
        except TaskStationError as exc:
            self.show_error(str(exc))
            return
        self.strategy_combo.setCurrentText(chosen.family)
        self._preset_params = dict(chosen.params)
        self._preset_text = format_params(chosen.params)
        self.params_edit.setText(self._preset_text)
        self.params_edit.setCursorPosition(0)
        self.symbol_edit.setText(chosen.symbol)
        self.timeframe_edit.setText(chosen.timeframe)
        if not self.name_edit.text().strip():
            self.name_edit.setText(chosen.name)
        self.preset_description.setText(chosen.description)

    def _on_preset_item(self, item: QListWidgetItem) -> None:
        self.choose_preset(str(item.data(Qt.ItemDataRole.UserRole)))

    def _params(self) -> Mapping[str, object]:
        text = self.params_edit.text()
        if self._preset_params is not None and text == self._preset_text:
            return self._preset_params
        return parse_params(text)

    def submit(self) -> bool:
        """Ask the service to create the bot; True (and accepted) on success."""
        try:
            bot = self._bots.create(
                self._actor,
                name=self.name_edit.text(),
                strategy=self.strategy_combo.currentText(),
                params=self._params(),
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
