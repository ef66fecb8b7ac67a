"""The rule builder: a rule set made with widgets equals the JSON the ``rules`` strategy
reads, round-trips, refuses what the parser refuses, and the result trades in a
backtest on real candles and in a paper bot created from the new-bot dialog."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QDoubleSpinBox, QSpinBox
from pytestqt.qtbot import QtBot

from task_station.domain.bots import BotStatus
from task_station.gui.new_bot_dialog import NewBotDialog
from task_station.gui.rule_builder import ComparisonRow, ConditionGroup, RuleBuilderDialog
from task_station.services.bundle import Services
from task_station.services.users import LoginResult
from task_station.strategies.rules import GOLDEN_CROSS, RuleSpec
from tests.strategies.helpers import BTC_1H, backtest, candles

from .helpers import until

_LEFT = Qt.MouseButton.LeftButton

EXPECTED: dict[str, object] = {
    "indicators": {
        "fast": {"kind": "ema", "period": 5},
        "slow": {"kind": "sma", "period": 20},
        "r": {"kind": "rsi", "period": 10},
        "bb": {"kind": "bollinger", "period": 20, "mult": 2.5},
    },
    "entry": {
        "all": [
            {"left": "fast", "op": "crosses_above", "right": "slow"},
            {"left": "r", "op": "<", "right": 70},
        ]
    },
    "exit": {
        "any": [
            {"left": "fast", "op": "crosses_below", "right": "slow"},
            {
                "all": [
                    {"left": "close", "op": ">", "right": "bb.upper"},
                    {"left": "r", "op": ">=", "right": 80},
                ]
            },
        ]
    },
    "sizing": {"fraction_of_cash": "0.5"},
    "stop_loss_pct": "0.03",
}


def open_builder(qtbot: QtBot, spec: dict[str, object] | None = None) -> RuleBuilderDialog:
    dialog = RuleBuilderDialog(spec)
    qtbot.addWidget(dialog)
    return dialog


def add_indicator(qtbot: QtBot, dialog: RuleBuilderDialog, name: str, kind: str) -> None:
    qtbot.mouseClick(dialog.add_indicator_button, _LEFT)
    row = dialog.indicator_rows[-1]
    row.name_edit.clear()
    qtbot.keyClicks(row.name_edit, name)
    row.kind_combo.setCurrentText(kind)


def add_condition(qtbot: QtBot, group: ConditionGroup, left: str, op: str, right: str) -> None:
    qtbot.mouseClick(group.add_condition_button, _LEFT)
    row = group.items[-1]
    assert isinstance(row, ComparisonRow)
    row.left.setCurrentText(left)
    row.op.setCurrentIndex(row.op.findData(op))
    row.right.lineEdit().clear()
    qtbot.keyClicks(row.right.lineEdit(), right)


def set_mode(group: ConditionGroup, mode: str) -> None:
    group.mode_combo.setCurrentIndex(group.mode_combo.findData(mode))


def build_expected(qtbot: QtBot, dialog: RuleBuilderDialog) -> None:
    """Make ``EXPECTED`` by hand, starting from the default golden cross."""
    for row in list(dialog.indicator_rows):
        qtbot.mouseClick(row.remove_button, _LEFT)
    for group in (dialog.entry, dialog.exit):
        for item in list(group.items):
            assert isinstance(item, ComparisonRow)
            qtbot.mouseClick(item.remove_button, _LEFT)
    add_indicator(qtbot, dialog, "fast", "ema")
    period = dialog.indicator_rows[-1].param_editors["period"]
    assert isinstance(period, QSpinBox)
    period.setValue(5)
    add_indicator(qtbot, dialog, "slow", "sma")
    add_indicator(qtbot, dialog, "r", "rsi")
    rsi_period = dialog.indicator_rows[-1].param_editors["period"]
    assert isinstance(rsi_period, QSpinBox)
    rsi_period.setValue(10)
    add_indicator(qtbot, dialog, "bb", "bollinger")
    mult = dialog.indicator_rows[-1].param_editors["mult"]
    assert isinstance(mult, QDoubleSpinBox)
    mult.setValue(2.5)
    set_mode(dialog.entry, "all")
    add_condition(qtbot, dialog.entry, "fast", "crosses_above", "slow")
    add_condition(qtbot, dialog.entry, "r", "<", "70")
    set_mode(dialog.exit, "any")
    add_condition(qtbot, dialog.exit, "fast", "crosses_below", "slow")
    qtbot.mouseClick(dialog.exit.add_group_button, _LEFT)
    nested = dialog.exit.items[-1]
    assert isinstance(nested, ConditionGroup)
    set_mode(nested, "all")
    add_condition(qtbot, nested, "close", ">", "bb.upper")
    add_condition(qtbot, nested, "r", ">=", "80")
    dialog.sizing_kind.setCurrentIndex(dialog.sizing_kind.findData("fraction_of_cash"))
    dialog.sizing_value.clear()
    qtbot.keyClicks(dialog.sizing_value, "0.5")
    qtbot.keyClicks(dialog.stop_edit, "0.03")


def test_a_rule_set_built_with_the_widgets_is_the_expected_document(qtbot: QtBot) -> None:
    dialog = open_builder(qtbot)
    build_expected(qtbot, dialog)
    assert dialog.spec() == EXPECTED
    assert dialog.error_text == "" and dialog.ok_button.isEnabled()
    assert json.loads(dialog.preview.toPlainText()) == EXPECTED
    assert "r" in [dialog.entry.items[0].left.itemText(i) for i in range(20)]  # type: ignore[union-attr]
    assert RuleSpec.from_json(dialog.spec_json()) == RuleSpec.parse(EXPECTED)


def test_loading_a_spec_round_trips(qtbot: QtBot) -> None:
    lone = {
        "indicators": {"st": {"kind": "supertrend"}, "d": {"kind": "donchian", "period": 30}},
        "entry": {"left": "st.direction", "op": ">", "right": "0"},
        "sizing": {"quantity": "0.010"},
        "take_profit_pct": "0.05",
        "stop_loss_pct": "0.02",
        "description": "SuperTrend long with a bracket",
    }
    for spec in (GOLDEN_CROSS, EXPECTED, lone):
        dialog = open_builder(qtbot, spec)
        assert dialog.error_text == ""
        assert dialog.spec() == RuleSpec.parse(spec).to_dict()
        assert RuleSpec.parse(dialog.spec()) == RuleSpec.parse(spec)
    assert dialog.spec()["entry"] == {"left": "st.direction", "op": ">", "right": 0}
    assert "exit" not in dialog.spec() and not dialog.exit_enabled.isChecked()


def test_invalid_input_disables_ok_with_a_readable_message(qtbot: QtBot) -> None:
    dialog = open_builder(qtbot)
    row = dialog.entry.items[0]
    assert isinstance(row, ComparisonRow)
    row.right.setCurrentText("slw")
    assert not dialog.ok_button.isEnabled()
    assert dialog.error_text.startswith("entry.all[0].right: unknown indicator 'slw'")
    row.right.setCurrentText("slow")
    assert dialog.ok_button.isEnabled() and dialog.error_text == ""
    dialog.sizing_value.setText("1.5")
    assert "fraction_of_cash: must be at most 1" in dialog.error_text
    dialog.sizing_value.setText("1")
    dialog.indicator_rows[1].name_edit.setText("fast")
    assert dialog.error_text == "indicators: the name(s) fast are used twice; rename one"
    assert not dialog.ok_button.isEnabled()
    dialog.indicator_rows[1].name_edit.setText("slow")
    dialog.exit_enabled.setChecked(False)
    assert "'exit' is required unless stop_loss_pct or take_profit_pct" in dialog.error_text
    dialog.stop_edit.setText("0.02")
    assert dialog.ok_button.isEnabled()


def test_the_built_rule_set_backtests_on_real_candles(qtbot: QtBot, shared_data: Path) -> None:
    dialog = open_builder(qtbot)
    build_expected(qtbot, dialog)
    result = backtest(
        "rules", {"spec": dialog.spec_json()}, candles(shared_data, BTC_1H, rows=3000)
    )
    assert result.trade_count >= 10
    assert result.params["spec"] == dialog.spec_json()


def test_edit_rules_in_the_new_bot_dialog_then_run_the_bot(
    qtbot: QtBot,
    services: Services,
    admin: LoginResult,
    run: Callable[[Coroutine[Any, Any, Any]], Any],
) -> None:
    dialog = NewBotDialog(services.bots, admin.principal, strategies=services.strategies)
    qtbot.addWidget(dialog)
    assert not dialog.rules_button.isVisibleTo(dialog)
    dialog.strategy_combo.setCurrentText("rules")
    assert dialog.rules_button.isVisibleTo(dialog)
    qtbot.mouseClick(dialog.rules_button, _LEFT)
    builder = dialog.rule_builder
    assert builder is not None and builder.spec() == RuleSpec.parse(GOLDEN_CROSS).to_dict()
    build_expected(qtbot, builder)
    builder.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert json.loads(str(dialog.param_form.value("spec"))) == EXPECTED
    dialog.name_edit.setText("my rules")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.error_text == ""
    [bot] = services.bots.list()
    assert RuleSpec.from_json(str(bot.params["spec"])) == RuleSpec.parse(EXPECTED)

    run(services.bots.start(admin.principal, bot.id))
    run(until(lambda: not services.bots.is_running(bot.id), what="the replay to end"))
    assert services.bots.get(bot.id).status is BotStatus.FINISHED
    assert len(services.orders.fills(bot_id=bot.id)) >= 4
