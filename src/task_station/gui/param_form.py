"""A typed form for a strategy's parameters, built from its ``Param`` schema.

One editor per parameter, chosen by its kind: a spin box for whole numbers, a decimal
spin box for ``Decimal`` (text underneath, stepped with ``Decimal`` arithmetic, so a
value is never rounded through a binary float), a check box for flags, a combo box for
a parameter with choices and a line edit for other text. Ranges and steps come from the
schema; the description is the tooltip. The form does not judge the values: it hands
them to the service, whose ``Param.parse`` is the one judge for every face.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from task_station.domain.errors import ValidationError
from task_station.strategies.params import Param

_INT_LIMIT = 2**31 - 1
_NUMBER_PREFIX = re.compile(r"[+-]?\d*\.?\d*")

Editor = QSpinBox | QAbstractSpinBox | QCheckBox | QComboBox | QLineEdit


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


class DecimalSpinBox(QAbstractSpinBox):
    """A spin box over ``Decimal`` text: typing keeps every digit, arrows add ``step``.

    ``value_text()`` is what the trader sees (a string, the form's contract for money);
    stepping clamps to the bounds; out-of-range typing is left for the service to refuse
    with its own message.
    """

    def __init__(
        self,
        minimum: Decimal | None = None,
        maximum: Decimal | None = None,
        step: Decimal | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.minimum, self.maximum = minimum, maximum
        self.step = step if step is not None else Decimal(1)
        self.lineEdit().textEdited.connect(lambda _text: self.update())

    def value_text(self) -> str:
        return self.lineEdit().text().strip()

    def set_value_text(self, text: str) -> None:
        self.lineEdit().setText(text)

    def value(self) -> Decimal | None:
        return _decimal(self.value_text())

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        if _decimal(text) is not None:
            return QValidator.State.Acceptable, text, pos
        if _NUMBER_PREFIX.fullmatch(text.strip()):
            return QValidator.State.Intermediate, text, pos  # "", "-", "1." while typing
        return QValidator.State.Invalid, text, pos

    def stepBy(self, steps: int) -> None:
        current = self.value()
        if current is None:
            current = self.minimum if self.minimum is not None else Decimal(0)
            steps = 0 if steps > 0 else steps
        value = current + self.step * steps
        if self.minimum is not None:
            value = max(value, self.minimum)
        if self.maximum is not None:
            value = min(value, self.maximum)
        self.set_value_text(str(value))

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:
        value = self.value()
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if value is None or self.maximum is None or value < self.maximum:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        if value is None or self.minimum is None or value > self.minimum:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        return flags


def _tooltip(param: Param) -> str:
    bounds = []
    if param.minimum is not None:
        bounds.append(f"at least {param.minimum}")
    if param.maximum is not None:
        bounds.append(f"at most {param.maximum}")
    if param.step is not None:
        bounds.append(f"in steps of {param.step}")
    extra = f" ({', '.join(bounds)})" if bounds else ""
    return f"{param.description}{extra}; default {param.default}"


def _choices(param: Param) -> Sequence[str]:
    # ``choices`` is optional on ``Param``: read it where a schema declares it
    return tuple(str(c) for c in (getattr(param, "choices", None) or ()))


class ParamForm(QWidget):
    """Editors for ``schema``; ``values()`` gives ints, bools and strings (Decimals as
    their exact text), never floats."""

    changed = Signal()

    def __init__(self, schema: Sequence[Param], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.schema = tuple(schema)
        self.editors: dict[str, Editor] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for param in self.schema:
            editor = self._editor(param)
            editor.setObjectName(f"param_{param.name}")
            editor.setToolTip(_tooltip(param))
            self.editors[param.name] = editor
            layout.addRow(param.name, editor)
        self.reset()

    def _editor(self, param: Param) -> Editor:
        if param.kind is bool:
            box = QCheckBox()
            box.toggled.connect(self.changed)
            return box
        if param.kind is int:
            spin = QSpinBox()
            low = param.minimum if isinstance(param.minimum, int) else -_INT_LIMIT
            high = param.maximum if isinstance(param.maximum, int) else _INT_LIMIT
            spin.setRange(int(low), int(high))
            spin.setSingleStep(int(param.step) if param.step is not None else 1)
            spin.valueChanged.connect(self.changed)
            return spin
        if param.kind is Decimal:
            dec = DecimalSpinBox(
                _as_decimal(param.minimum), _as_decimal(param.maximum), _as_decimal(param.step)
            )
            dec.lineEdit().textChanged.connect(self.changed)
            return dec
        if choices := _choices(param):
            combo = QComboBox()
            combo.addItems(list(choices))
            combo.currentTextChanged.connect(self.changed)
            return combo
        line = QLineEdit()
        line.textChanged.connect(self.changed)
        return line

    # -- values ----------------------------------------------------------------------

    def values(self) -> dict[str, object]:
        """Every parameter's value as the form shows it (the service validates them)."""
        return {p.name: self._read(p, self.editors[p.name]) for p in self.schema}

    def value(self, name: str) -> object:
        return self.values()[name]

    def set_values(self, values: Mapping[str, object]) -> None:
        """Show ``values`` (names the schema lacks are refused with the known ones)."""
        unknown = sorted(set(values) - set(self.editors))
        if unknown:
            raise ValidationError(
                f"unknown parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(self.editors) or 'none'}"
            )
        by_name = {p.name: p for p in self.schema}
        for name, raw in values.items():
            self._write(by_name[name], self.editors[name], raw)

    def reset(self) -> None:
        """Every editor back to its parameter's default."""
        self.set_values({p.name: p.default for p in self.schema})

    @staticmethod
    def _read(param: Param, editor: Editor) -> object:
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QSpinBox):
            return editor.value()
        if isinstance(editor, DecimalSpinBox):
            return editor.value_text()
        if isinstance(editor, QComboBox):
            return editor.currentText()
        assert isinstance(editor, QLineEdit)
        return editor.text()

    @staticmethod
    def _write(param: Param, editor: Editor, raw: object) -> None:
        if isinstance(editor, QCheckBox):
            on = raw if isinstance(raw, bool) else str(raw).strip().lower() in ("true", "1", "yes")
            editor.setChecked(on)
        elif isinstance(editor, QSpinBox):
            number = _decimal(str(raw))
            if number is None or number != number.to_integral_value():
                raise ValidationError(
                    f"parameter {param.name!r} must be a whole number, got {raw!r}"
                )
            editor.setValue(int(number))
        elif isinstance(editor, DecimalSpinBox):
            editor.set_value_text(str(raw))
        elif isinstance(editor, QComboBox):
            editor.setCurrentText(str(raw))
        else:
            assert isinstance(editor, QLineEdit)
            editor.setText(str(raw))
            editor.setCursorPosition(0)


def _as_decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    return _decimal(str(value))
