"""The "New bot" dialog: a form whose only judge is ``BotService.create``.

The dialog does not validate trading rules itself (the API would then need a copy of
them): it parses the text fields into the service's arguments, calls the service, and
shows the service's error inline, leaving the dialog open and nothing created.

Parameters are edited in a typed form built from the chosen strategy's schema (an
"edit as text" switch keeps the ``name=value`` line for quick typing); the ``rules``
strategy's JSON rule set opens in the rule builder. The strategy list is the station's
catalog, the trader's own strategy files included: it follows edits to those files
(polled every few seconds) and can be reloaded on demand.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.bots import BotDefinition
from task_station.domain.errors import TaskStationError, ValidationError
from task_station.gui.param_form import ParamForm
from task_station.gui.rule_builder import RuleBuilderDialog
from task_station.services.bots import BotService
from task_station.services.presets import PresetService
from task_station.services.principal import Principal
from task_station.services.strategies import StrategyReload, StrategyService
from task_station.strategies.base import Strategy

#: How often the dialog looks for edited strategy files (one ``stat`` per file).
POLL_MS = 3000

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
        strategies: StrategyService | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New bot")
        self.setMinimumWidth(480)
        self._bots = bots
        self._actor = actor
        self._presets = presets or PresetService()
        self._strategies = strategies or StrategyService()
        self.bot: BotDefinition | None = None
        self.rule_builder: RuleBuilderDialog | None = None
        self.param_form = ParamForm(())
        self._form_class: type[Strategy] | None = None
        self._kept_for: str | None = None  # whose values the form shows
        self._build_preset_widgets()
        self._build_strategy_widgets()
        self._build_fields()
        self._build_layout()
        self.refresh_strategies()
        self.strategy_combo.setCurrentText("sma_cross")  # the simplest one, first
        self._on_strategy(self.strategy_combo.currentText())
        self.strategy_combo.currentTextChanged.connect(self._on_strategy)
        self.preset_search.textChanged.connect(self.refresh_presets)
        self.preset_family.currentTextChanged.connect(self.refresh_presets)
        self.preset_risk.currentTextChanged.connect(self.refresh_presets)
        self.preset_list.itemClicked.connect(self._on_preset_item)
        self.preset_list.itemActivated.connect(self._on_preset_item)
        self.refresh_presets()
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(POLL_MS)
        self.poll_timer.timeout.connect(self.poll_strategies)
        self.poll_timer.start()

    # -- building --------------------------------------------------------------------

    def _build_preset_widgets(self) -> None:
        self.preset_search = QLineEdit()
        self.preset_search.setPlaceholderText("Search presets, e.g. rsi eth 1h")
        self.preset_search.setClearButtonEnabled(True)
        self.preset_family = QComboBox()
        one_symbol = sorted({p.family for p in self._presets.list() if not p.multi_symbol})
        self.preset_family.addItems([ALL_FAMILIES, *one_symbol])
        self.preset_risk = QComboBox()
        self.preset_risk.addItems([ANY_RISK, *self._presets.risk_profiles])
        self.preset_list = QListWidget()
        self.preset_list.setMinimumHeight(120)
        self.preset_description = QLabel("No preset: fill the form yourself.")
        self.preset_description.setObjectName("subtitleLabel")
        self.preset_description.setWordWrap(True)

    def _build_strategy_widgets(self) -> None:
        self.strategy_combo = QComboBox()
        self.reload_button = QPushButton("Reload my strategies")
        self.reload_button.setToolTip(
            f"Re-read your strategy files in {self._strategies.catalog.folder or 'the data folder'}"
        )
        self.reload_button.clicked.connect(self.reload_strategies)
        self.strategy_info = QLabel()
        self.strategy_info.setObjectName("subtitleLabel")
        self.strategy_info.setWordWrap(True)
        self.strategy_problems = QLabel()
        self.strategy_problems.setObjectName("errorLabel")
        self.strategy_problems.setWordWrap(True)
        self.strategy_problems.hide()
        self.params_box = QVBoxLayout()
        self.params_box.setContentsMargins(0, 0, 0, 0)
        self.params_box.addWidget(self.param_form)
        self.text_mode = QCheckBox("Edit as text")
        self.text_mode.setToolTip("Type the parameters as name=value pairs instead")
        self.text_mode.toggled.connect(self._on_text_mode)
        self.params_edit = QLineEdit()
        self.params_edit.hide()
        self.rules_button = QPushButton("Edit rules…")
        self.rules_button.setToolTip("Build the rule set with the rule builder")
        self.rules_button.clicked.connect(self.open_rule_builder)

    def _build_fields(self) -> None:
        self.timeframe_edit = QLineEdit()
        self.timeframe_edit.setReadOnly(True)
        self.timeframe_edit.setPlaceholderText("from the data source")
        self.timeframe_edit.setToolTip(
            "The timeframe the preset was chosen for; the bot runs on the data source's candles"
        )
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. BTC trend follower")
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

    def _build_layout(self) -> None:
        filters = QHBoxLayout()
        filters.addWidget(self.preset_search, 1)
        filters.addWidget(self.preset_family)
        filters.addWidget(self.preset_risk)
        presets_form = QFormLayout()
        presets_form.addRow("Preset", filters)
        presets_form.addRow("", self.preset_list)
        presets_form.addRow("", self.preset_description)
        strategy_row = QHBoxLayout()
        strategy_row.addWidget(self.strategy_combo, 1)
        strategy_row.addWidget(self.reload_button)
        params_tools = QHBoxLayout()
        params_tools.addWidget(self.rules_button)
        params_tools.addStretch(1)
        params_tools.addWidget(self.text_mode)
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Strategy", strategy_row)
        form.addRow("", self.strategy_info)
        form.addRow("", self.strategy_problems)
        form.addRow("Parameters", params_tools)
        form.addRow("", self.params_box)
        form.addRow("", self.params_edit)
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

    # -- presets ---------------------------------------------------------------------

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
            if p.multi_symbol:  # a basket: an account backtest, not a one-symbol bot
                continue
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
            self.strategy_combo.setCurrentText(chosen.family)
            self.set_params(chosen.params)
        except TaskStationError as exc:
            self.show_error(str(exc))
            return
        self.symbol_edit.setText(chosen.symbol)
        self.timeframe_edit.setText(chosen.timeframe)
        if not self.name_edit.text().strip():
            self.name_edit.setText(chosen.name)
        self.preset_description.setText(chosen.description)

    def _on_preset_item(self, item: QListWidgetItem) -> None:
        self.choose_preset(str(item.data(Qt.ItemDataRole.UserRole)))

    # -- strategies ------------------------------------------------------------------

    def strategy_names(self) -> list[str]:
        """The strategies the combo box offers, top to bottom."""
        return [self.strategy_combo.itemText(i) for i in range(self.strategy_combo.count())]

    def refresh_strategies(self) -> None:
        """Offer the catalog's strategies now, keeping the choice (and the form) if it
        is still there; the trader's broken files are listed under the combo box."""
        current = self.strategy_combo.currentText()
        infos = self._strategies.list()
        self.strategy_combo.blockSignals(True)
        self.strategy_combo.clear()
        for info in infos:
            self.strategy_combo.addItem(info.name)
            tip = f"{info.origin_text}: {info.description}"
            self.strategy_combo.setItemData(
                self.strategy_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole
            )
        if current in self.strategy_names():
            self.strategy_combo.setCurrentText(current)
        self.strategy_combo.blockSignals(False)
        problems = self._strategies.errors()
        self.strategy_problems.setText(
            "Not loaded from your strategy files:\n" + "\n".join(problems) if problems else ""
        )
        self.strategy_problems.setVisible(bool(problems))
        if current:  # not during construction
            self._on_strategy(self.strategy_combo.currentText())

    def reload_strategies(self) -> StrategyReload | None:
        """Re-read the trader's strategy files now (the "Reload my strategies" button)."""
        try:
            result = self._strategies.reload(self._actor)
        except TaskStationError as exc:
            self.show_error(str(exc))
            return None
        self._after_reload(result)
        return result

    def poll_strategies(self) -> StrategyReload:
        """Follow edits to the strategy files (the timer calls this every few seconds)."""
        result = self._strategies.poll()
        if result.changed:
            self._after_reload(result)
        return result

    def _after_reload(self, result: StrategyReload) -> None:
        self.refresh_strategies()
        self.strategy_info.setText(result.summary)

    def _on_strategy(self, name: str) -> None:
        try:
            info = self._strategies.get(name)
        except TaskStationError as exc:
            self.strategy_info.setText(str(exc))
            return
        self.strategy_info.setText(f"{info.description} ({info.origin_text})")
        self.rules_button.setVisible(name == "rules")
        if info.cls is self._form_class:
            return
        kept = self.param_form.values() if self._form_class is not None else {}
        self._form_class = info.cls
        form = ParamForm(info.params, self)
        self.params_box.replaceWidget(self.param_form, form)
        self.param_form.deleteLater()
        self.param_form = form
        same = {k: v for k, v in kept.items() if k in form.editors}
        if name == self._kept_for and same:  # the same strategy's file was reloaded
            with contextlib.suppress(TaskStationError):
                form.set_values(same)
        self._kept_for = name
        self.params_edit.setPlaceholderText(
            format_params({p.name: p.default for p in info.params}) or "no parameters"
        )
        # name=value text cannot carry free text such as a JSON rule set: form only
        free_text = any(p.kind is str for p in info.params)
        if free_text and self.text_mode.isChecked():
            self.text_mode.blockSignals(True)
            self.text_mode.setChecked(False)
            self.text_mode.blockSignals(False)
            self.params_edit.hide()
        self.text_mode.setEnabled(not free_text)
        form.setVisible(not self.text_mode.isChecked())
        if self.text_mode.isChecked():
            self.params_edit.setText(format_params(form.values()))

    # -- parameters ------------------------------------------------------------------

    def set_params(self, params: Mapping[str, object]) -> None:
        """Show ``params`` for the chosen strategy (in the form, or as text)."""
        self.param_form.reset()
        self.param_form.set_values(params)
        if self.text_mode.isChecked():
            self.params_edit.setText(format_params(self.param_form.values()))
            self.params_edit.setCursorPosition(0)

    def params(self) -> Mapping[str, object]:
        """What the bot will be created with (strings for decimals, never floats)."""
        if self.text_mode.isChecked():
            return parse_params(self.params_edit.text())
        return self.param_form.values()

    def _on_text_mode(self, on: bool) -> None:
        if on:
            self.params_edit.setText(format_params(self.param_form.values()))
            self.params_edit.setCursorPosition(0)
        else:
            try:
                self.param_form.set_values(parse_params(self.params_edit.text()))
            except TaskStationError as exc:
                self.show_error(str(exc))
                self.text_mode.blockSignals(True)
                self.text_mode.setChecked(True)
                self.text_mode.blockSignals(False)
                return
        self.params_edit.setVisible(on)
        self.param_form.setVisible(not on)

    def open_rule_builder(self) -> RuleBuilderDialog:
        """Open the rule builder on the current rule set; OK writes it back."""
        spec_text = str(self.param_form.values().get("spec", ""))
        try:
            loaded = json.loads(spec_text) if spec_text.strip() else None
            builder = RuleBuilderDialog(loaded, self)
        except (ValueError, TaskStationError) as exc:
            self.show_error(f"the current rule set cannot be edited ({exc}); starting afresh")
            builder = RuleBuilderDialog(None, self)
        builder.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        builder.accepted.connect(lambda: self.set_params({"spec": builder.spec_json()}))
        builder.destroyed.connect(self._forget_rule_builder)
        self.rule_builder = builder
        builder.open()
        return builder

    def _forget_rule_builder(self) -> None:
        self.rule_builder = None

    # -- submit ----------------------------------------------------------------------

    def submit(self) -> bool:
        """Ask the service to create the bot; True (and accepted) on success."""
        try:
            bot = self._bots.create(
                self._actor,
                name=self.name_edit.text(),
                strategy=self.strategy_combo.currentText(),
                params=self.params(),
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
