"""The typed parameter form: one editor per kind, ranges and steps from the schema,
Decimals kept exact (strings, never floats)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtWidgets import QCheckBox, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from task_station.domain.errors import ValidationError
from task_station.gui.param_form import DecimalSpinBox, ParamForm
from task_station.strategies.params import Param
from task_station.strategies.rsi_reversion import RsiReversion

SCHEMA = (
    Param("period", int, 14, "bars in the average", minimum=2, maximum=200, step=2),
    Param("fraction", Decimal, Decimal("0.25"), "share of cash", Decimal("0.05"), Decimal(1),
          step=Decimal("0.05")),
    Param("short", bool, False, "may go short"),
    Param("label", str, "x", "a free text"),
)  # fmt: skip


def make(qtbot: QtBot) -> ParamForm:
    form = ParamForm(SCHEMA)
    qtbot.addWidget(form)
    return form


def test_editors_follow_the_schema_and_show_the_defaults(qtbot: QtBot) -> None:
    form = make(qtbot)
    period, fraction = form.editors["period"], form.editors["fraction"]
    assert isinstance(period, QSpinBox) and isinstance(fraction, DecimalSpinBox)
    assert isinstance(form.editors["short"], QCheckBox)
    assert isinstance(form.editors["label"], QLineEdit)
    assert (period.minimum(), period.maximum(), period.singleStep()) == (2, 200, 2)
    assert form.values() == {"period": 14, "fraction": "0.25", "short": False, "label": "x"}
    assert (
        period.toolTip()
        == "bars in the average (at least 2, at most 200, in steps of 2); default 14"
    )


def test_decimal_steps_are_exact_and_clamped(qtbot: QtBot) -> None:
    form = make(qtbot)
    fraction = form.editors["fraction"]
    assert isinstance(fraction, DecimalSpinBox)
    for _ in range(3):
        fraction.stepUp()
    assert form.value("fraction") == "0.40"  # 0.25 + 3 x 0.05 in Decimal, no 0.4000000001
    fraction.set_value_text("0.95")
    fraction.stepBy(5)
    assert form.value("fraction") == "1"  # the maximum
    fraction.set_value_text("0.1")
    fraction.stepBy(-10)
    assert form.value("fraction") == "0.05"  # the minimum


def test_typed_values_come_back_as_ints_bools_and_strings(qtbot: QtBot) -> None:
    form = make(qtbot)
    fraction = form.editors["fraction"]
    assert isinstance(fraction, DecimalSpinBox)
    fraction.lineEdit().clear()
    qtbot.keyClicks(fraction.lineEdit(), "0.123456789012345678")
    qtbot.keyClicks(fraction.lineEdit(), "x")  # not a number: refused by the validator
    form.editors["short"].setChecked(True)  # type: ignore[union-attr]
    values = form.values()
    assert values["fraction"] == "0.123456789012345678"  # every digit kept
    assert values["short"] is True
    assert not any(isinstance(v, float) for v in values.values())


def test_set_values_shows_a_preset_and_refuses_unknown_names(qtbot: QtBot) -> None:
    form = make(qtbot)
    form.set_values({"period": "20", "fraction": Decimal("0.5"), "short": "true"})
    assert form.values() == {"period": 20, "fraction": "0.5", "short": True, "label": "x"}
    with pytest.raises(ValidationError, match="unknown parameter.*perod.*known: period"):
        form.set_values({"perod": 3})
    with pytest.raises(ValidationError, match="'period' must be a whole number"):
        form.set_values({"period": "2.5"})
    form.reset()
    assert form.value("period") == 14


def test_a_builtin_strategy_accepts_what_its_form_gives(qtbot: QtBot) -> None:
    form = ParamForm(RsiReversion.params)
    qtbot.addWidget(form)
    form.set_values({"lower": "25.5"})
    strategy = RsiReversion(form.values())
    assert strategy.p["lower"] == Decimal("25.5")
