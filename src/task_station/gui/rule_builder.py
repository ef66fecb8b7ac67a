"""The rule builder: a ``rules`` strategy's JSON rule set, made with widgets.

The trader names indicators (kind and parameters), then builds the entry and exit
conditions as groups of comparisons joined by AND ("all") or OR ("any"), groups
nested in groups where needed, and fills in sizing and the optional stop-loss and
take-profit. The JSON is previewed live and checked by ``RuleSpec.parse``, the same
parser the strategy uses, so the dialog cannot accept a rule set the bot would refuse.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.errors import ValidationError
from task_station.strategies.rules import GOLDEN_CROSS, KINDS, OPERATORS, PRICE_FIELDS, RuleSpec

OP_LABELS = {
    ">": ">",
    "<": "<",
    ">=": "≥",
    "<=": "≤",
    "crosses_above": "crosses above",
    "crosses_below": "crosses below",
}
MODE_LABELS = {"all": "ALL of these (AND)", "any": "ANY of these (OR)"}
SIZING_LABELS = {"fraction_of_cash": "fraction of cash", "quantity": "quantity (base)"}
MAX_ROWS = 1000  # bound for picking a free default name such as ema3


def operand_value(text: str) -> object:
    """What an operand box holds: a number (int when whole) or a series name."""
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number) and number.is_integer() and abs(number) < 1e15:
        return int(number)
    return number


def operand_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _clear(layout: QHBoxLayout | QVBoxLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item is not None and (widget := item.widget()) is not None:
            widget.deleteLater()


class IndicatorRow(QWidget):
    """One named indicator: name, kind, and an editor per parameter of that kind."""

    changed = Signal()
    removed = Signal(object)

    def __init__(self, name: str, kind: str = "ema", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name_edit = QLineEdit(name)
        self.name_edit.setMaximumWidth(120)
        self.kind_combo = QComboBox()
        for key, spec in KINDS.items():
            self.kind_combo.addItem(key, key)
            self.kind_combo.setItemData(
                self.kind_combo.count() - 1, spec.description, Qt.ItemDataRole.ToolTipRole
            )
        self.kind_combo.setCurrentText(kind)
        self.param_editors: dict[str, QSpinBox | QDoubleSpinBox | QCheckBox] = {}
        self._params = QHBoxLayout()
        self.remove_button = QPushButton("Remove")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.name_edit)
        layout.addWidget(self.kind_combo)
        layout.addLayout(self._params, 1)
        layout.addWidget(self.remove_button)
        self._build_params({})
        self.name_edit.textChanged.connect(self.changed)
        self.kind_combo.currentTextChanged.connect(lambda _k: self._build_params({}))
        self.remove_button.clicked.connect(lambda: self.removed.emit(self))

    @property
    def name(self) -> str:
        return self.name_edit.text().strip()

    @property
    def kind(self) -> str:
        return self.kind_combo.currentText()

    def _build_params(self, values: Mapping[str, object]) -> None:
        _clear(self._params)
        self.param_editors = {}
        for pname, default in KINDS[self.kind].params.items():
            value = values.get(pname, default)
            editor: QSpinBox | QDoubleSpinBox | QCheckBox
            if isinstance(default, bool):
                editor = QCheckBox(pname)
                editor.setChecked(bool(value))
                editor.toggled.connect(self.changed)
            elif isinstance(default, int):
                editor = QSpinBox()
                editor.setRange(0, 100_000)
                editor.setValue(int(value))  # type: ignore[call-overload]
                editor.valueChanged.connect(self.changed)
            else:
                editor = QDoubleSpinBox()
                editor.setDecimals(8)
                editor.setRange(0.00000001, 1_000_000.0)
                editor.setSingleStep(0.1)
                editor.setValue(float(value))  # type: ignore[arg-type]
                editor.valueChanged.connect(self.changed)
            editor.setToolTip(f"{self.kind} {pname} (default {default})")
            if not isinstance(editor, QCheckBox):
                self._params.addWidget(QLabel(pname))
            self._params.addWidget(editor)
            self.param_editors[pname] = editor
        self.changed.emit()

    def load(self, name: str, data: Mapping[str, object]) -> None:
        self.name_edit.setText(name)
        self.kind_combo.blockSignals(True)
        self.kind_combo.setCurrentText(str(data["kind"]))
        self.kind_combo.blockSignals(False)
        self._build_params({k: v for k, v in data.items() if k != "kind"})

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind}
        for pname, editor in self.param_editors.items():
            out[pname] = editor.isChecked() if isinstance(editor, QCheckBox) else editor.value()
        return out

    def operands(self) -> list[str]:
        """What conditions may read from this indicator: ``name`` and ``name.output``."""
        kind = KINDS[self.kind]
        refs = [self.name] if kind.default_output else []
        refs += [f"{self.name}.{o}" for o in kind.outputs if o != "value"]
        return refs


class ComparisonRow(QWidget):
    """``left OP right``: each side a price field, an indicator output or a number."""

    changed = Signal()
    removed = Signal(object)

    def __init__(self, operands: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.left = QComboBox()
        self.right = QComboBox()
        for box in (self.left, self.right):
            box.setEditable(True)
            box.setMinimumWidth(110)
            box.setToolTip("a price field, an indicator, or type a number")
            box.currentTextChanged.connect(self.changed)
        self.op = QComboBox()
        for op in OPERATORS:
            self.op.addItem(OP_LABELS[op], op)
        self.op.currentIndexChanged.connect(self.changed)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("remove this condition")
        self.remove_button.clicked.connect(lambda: self.removed.emit(self))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.left, self.op, self.right, self.remove_button):
            layout.addWidget(widget)
        self.set_operands(operands)
        self.set("close", ">", "")

    def set_operands(self, operands: list[str]) -> None:
        """Offer ``operands`` in both boxes, keeping what each box shows."""
        for box in (self.left, self.right):
            text = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItems(operands)
            box.setCurrentText(text)
            box.blockSignals(False)

    def set(self, left: object, op: str, right: object) -> None:
        self.left.setCurrentText(operand_text(left))
        self.op.setCurrentIndex(self.op.findData(op))
        self.right.setCurrentText(operand_text(right))

    def to_json(self) -> dict[str, object]:
        return {
            "left": operand_value(self.left.currentText()),
            "op": self.op.currentData(),
            "right": operand_value(self.right.currentText()),
        }


class ConditionGroup(QFrame):
    """Conditions joined by AND or OR; a group may hold groups (``A AND (B OR C)``)."""

    changed = Signal()
    removed = Signal(object)

    def __init__(
        self, operands: list[str], parent: QWidget | None = None, *, nested: bool = False
    ) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._operands = operands
        self.items: list[ComparisonRow | ConditionGroup] = []
        #: loaded from a lone comparison (no group around it): written back the same way
        self.bare = False
        self.mode_combo = QComboBox()
        for mode, label in MODE_LABELS.items():
            self.mode_combo.addItem(label, mode)
        self.mode_combo.currentIndexChanged.connect(self.changed)
        self.add_condition_button = QPushButton("+ Condition")
        self.add_group_button = QPushButton("+ Group")
        self.add_condition_button.clicked.connect(lambda: self.add_condition())
        self.add_group_button.clicked.connect(lambda: self.add_group())
        header = QHBoxLayout()
        header.addWidget(self.mode_combo)
        header.addStretch(1)
        header.addWidget(self.add_condition_button)
        header.addWidget(self.add_group_button)
        if nested:
            self.remove_button = QPushButton("Remove group")
            self.remove_button.clicked.connect(lambda: self.removed.emit(self))
            header.addWidget(self.remove_button)
        self._rows = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(self._rows)

    @property
    def mode(self) -> str:
        return str(self.mode_combo.currentData())

    def set_mode(self, mode: str) -> None:
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(mode))

    def add_condition(
        self, left: object = "close", op: str = ">", right: object = ""
    ) -> ComparisonRow:
        row = ComparisonRow(self._operands, self)
        row.set(left, op, right)
        self._add(row)
        return row

    def add_group(self, mode: str = "any") -> ConditionGroup:
        group = ConditionGroup(self._operands, self, nested=True)
        group.set_mode(mode)
        self._add(group)
        return group

    def _add(self, item: ComparisonRow | ConditionGroup) -> None:
        self.items.append(item)
        self._rows.addWidget(item)
        item.changed.connect(self.changed)
        item.removed.connect(self._remove)
        self.changed.emit()

    def _remove(self, item: ComparisonRow | ConditionGroup) -> None:
        self.items.remove(item)
        item.hide()
        item.deleteLater()
        self.changed.emit()

    def clear(self) -> None:
        for item in list(self.items):
            self._remove(item)
        self.bare = False

    def set_operands(self, operands: list[str]) -> None:
        self._operands = operands
        for item in self.items:
            item.set_operands(operands)

    def load(self, data: Mapping[str, Any]) -> None:
        self.clear()
        if "left" in data:  # a lone comparison
            self.add_condition(data["left"], data["op"], data["right"])
            self.bare = True
            return
        mode = "all" if "all" in data else "any"
        self.set_mode(mode)
        for child in data[mode]:
            if "left" in child:
                self.add_condition(child["left"], child["op"], child["right"])
            else:
                self.add_group().load(child)

    def to_json(self) -> dict[str, object]:
        if self.bare and len(self.items) == 1 and isinstance(self.items[0], ComparisonRow):
            return self.items[0].to_json()
        return {self.mode: [item.to_json() for item in self.items]}


class RuleBuilderDialog(QDialog):
    """Build a rule set; ``spec()`` is the document, accepted only when it parses."""

    def __init__(self, spec: Mapping[str, object] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Rule builder")
        self.resize(900, 700)
        self.indicator_rows: list[IndicatorRow] = []
        self._loading = False
        self._indicator_box = QVBoxLayout()
        self.add_indicator_button = QPushButton("+ Indicator")
        self.add_indicator_button.clicked.connect(lambda: self.add_indicator())
        self.entry = ConditionGroup(self._operands(), self)
        self.exit = ConditionGroup(self._operands(), self)
        self.exit_enabled = QCheckBox("Sell when the exit conditions hold")
        self.exit_enabled.setChecked(True)
        self.sizing_kind = QComboBox()
        for key, label in SIZING_LABELS.items():
            self.sizing_kind.addItem(label, key)
        self.sizing_value = QLineEdit("1")
        self.stop_edit = QLineEdit()
        self.stop_edit.setPlaceholderText("none (0.02 means 2 %)")
        self.take_edit = QLineEdit()
        self.take_edit.setPlaceholderText("none (0.05 means 5 %)")
        self.description_edit = QLineEdit()
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._layout()
        for signal in (
            self.entry.changed,
            self.exit.changed,
            self.exit_enabled.toggled,
            self.sizing_kind.currentIndexChanged,
            self.sizing_value.textChanged,
            self.stop_edit.textChanged,
            self.take_edit.textChanged,
            self.description_edit.textChanged,
        ):
            signal.connect(self.refresh)
        self.load_spec(spec if spec is not None else GOLDEN_CROSS)

    def _layout(self) -> None:
        indicators = QGroupBox("Indicators")
        ind_layout = QVBoxLayout(indicators)
        ind_layout.addLayout(self._indicator_box)
        ind_layout.addWidget(self.add_indicator_button)
        entry = QGroupBox("Buy when")
        QVBoxLayout(entry).addWidget(self.entry)
        exit_box = QGroupBox("Sell when")
        exit_layout = QVBoxLayout(exit_box)
        exit_layout.addWidget(self.exit_enabled)
        exit_layout.addWidget(self.exit)
        self.exit_enabled.toggled.connect(self.exit.setEnabled)
        actions = QGroupBox("Sizing and protection")
        form = QFormLayout(actions)
        sizing = QHBoxLayout()
        sizing.addWidget(self.sizing_kind)
        sizing.addWidget(self.sizing_value, 1)
        form.addRow("Buy", sizing)
        form.addRow("Stop-loss (fraction)", self.stop_edit)
        form.addRow("Take-profit (fraction)", self.take_edit)
        form.addRow("Description", self.description_edit)
        body = QWidget()
        body_layout = QVBoxLayout(body)
        for box in (indicators, entry, exit_box, actions):
            body_layout.addWidget(box)
        body_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        splitter = QSplitter()
        splitter.addWidget(scroll)
        splitter.addWidget(self.preview)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    # -- indicators ------------------------------------------------------------------

    def add_indicator(self, name: str | None = None, kind: str = "ema") -> IndicatorRow:
        if name is None:
            taken = {row.name for row in self.indicator_rows}
            name = next(f"{kind}{i}" for i in range(1, MAX_ROWS) if f"{kind}{i}" not in taken)
        row = IndicatorRow(name, kind, self)
        self.indicator_rows.append(row)
        self._indicator_box.addWidget(row)
        row.changed.connect(self._indicators_changed)
        row.removed.connect(self._remove_indicator)
        self._indicators_changed()
        return row

    def _remove_indicator(self, row: IndicatorRow) -> None:
        self.indicator_rows.remove(row)
        row.hide()
        row.deleteLater()
        self._indicators_changed()

    def _operands(self) -> list[str]:
        refs = list(PRICE_FIELDS)
        for row in self.indicator_rows:
            refs += row.operands()
        return refs

    def _indicators_changed(self) -> None:
        operands = self._operands()
        self.entry.set_operands(operands)
        self.exit.set_operands(operands)
        self.refresh()

    # -- the document ----------------------------------------------------------------

    def spec(self) -> dict[str, object]:
        """The rule set as the widgets show it (valid or not; see ``error_text``)."""
        out: dict[str, object] = {
            "indicators": {row.name: row.to_json() for row in self.indicator_rows},
            "entry": self.entry.to_json(),
        }
        if self.exit_enabled.isChecked():
            out["exit"] = self.exit.to_json()
        out["sizing"] = {str(self.sizing_kind.currentData()): self.sizing_value.text().strip()}
        for key, edit in (("stop_loss_pct", self.stop_edit), ("take_profit_pct", self.take_edit)):
            if edit.text().strip():
                out[key] = edit.text().strip()
        if self.description_edit.text().strip():
            out["description"] = self.description_edit.text().strip()
        return out

    def spec_json(self) -> str:
        """``spec()`` as the compact JSON text the ``rules`` strategy's ``spec`` takes."""
        return json.dumps(self.spec(), sort_keys=True, separators=(",", ":"))

    def validate(self) -> str:
        """Why the rule set would be refused ("" when it is valid)."""
        names = [row.name for row in self.indicator_rows]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            return f"indicators: the name(s) {', '.join(twice)} are used twice; rename one"
        try:
            RuleSpec.parse(self.spec())
        except ValidationError as exc:
            return str(exc)
        return ""

    def refresh(self) -> None:
        """Redraw the preview and the verdict; OK only while the rule set is valid."""
        if self._loading:
            return
        self.preview.setPlainText(json.dumps(self.spec(), indent=2))
        error = self.validate()
        self.error_label.setText(error)
        self.error_label.setVisible(bool(error))
        self.ok_button.setEnabled(not error)

    @property
    def error_text(self) -> str:
        return self.error_label.text()

    def load_spec(self, data: Mapping[str, object]) -> None:
        """Show the rule set ``data`` (``ValidationError`` if the parser refuses it)."""
        canonical = RuleSpec.parse(data).to_dict()
        self._loading = True
        try:
            for row in list(self.indicator_rows):
                self._remove_indicator(row)
            indicators = canonical["indicators"]
            assert isinstance(indicators, dict)
            for name, body in indicators.items():
                self.add_indicator(name, str(body["kind"])).load(name, body)
            self._indicators_changed()
            self.entry.load(_mapping(canonical["entry"]))
            self.exit_enabled.setChecked("exit" in canonical)
            self.exit.clear()
            if "exit" in canonical:
                self.exit.load(_mapping(canonical["exit"]))
            [(kind, value)] = _mapping(canonical["sizing"]).items()
            self.sizing_kind.setCurrentIndex(self.sizing_kind.findData(kind))
            self.sizing_value.setText(str(value))
            self.stop_edit.setText(str(canonical.get("stop_loss_pct", "")))
            self.take_edit.setText(str(canonical.get("take_profit_pct", "")))
            self.description_edit.setText(str(canonical.get("description", "")))
        finally:
            self._loading = False
        self.refresh()


def _mapping(value: object) -> Mapping[str, Any]:
    assert isinstance(value, Mapping)
    return value
