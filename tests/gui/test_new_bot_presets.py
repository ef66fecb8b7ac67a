"""The new-bot wizard's preset picker: search, pick, edit, create through the service."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from task_station.gui.new_bot_dialog import ALL_FAMILIES, ANY_RISK, NewBotDialog
from task_station.services.bundle import Services
from task_station.services.users import LoginResult
from task_station.strategies.presets import Preset


def press_ok(dialog: NewBotDialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def open_dialog(qtbot: QtBot, services: Services, admin: LoginResult) -> NewBotDialog:
    dialog = NewBotDialog(services.bots, admin.principal, presets=services.presets)
    qtbot.addWidget(dialog)
    return dialog


def test_the_default_is_sma_cross_without_a_preset(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    dialog = open_dialog(qtbot, services, admin)
    assert dialog.strategy_combo.currentText() == "sma_cross"
    assert dialog.param_form.values() == {"fast": 10, "slow": 30}  # the defaults
    assert dialog.timeframe_edit.text() == ""
    assert dialog.preset_list.currentItem() is None
    assert len(dialog.preset_names()) == len(one_symbol(services.presets.list()))


def test_search_and_filters_narrow_the_list(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    dialog = open_dialog(qtbot, services, admin)
    qtbot.keyClicks(dialog.preset_search, "rsi")
    names = dialog.preset_names()
    assert names and names == [p.name for p in one_symbol(services.presets.list(search="rsi"))]
    dialog.preset_risk.setCurrentText("aggressive")
    dialog.preset_family.setCurrentText("rsi_reversion")
    narrowed = dialog.preset_names()
    assert narrowed and set(narrowed) < set(names)
    assert all(services.presets.get(n).risk_profile == "aggressive" for n in narrowed)
    dialog.preset_search.clear()
    dialog.preset_family.setCurrentText(ALL_FAMILIES)
    dialog.preset_risk.setCurrentText(ANY_RISK)
    assert len(dialog.preset_names()) == len(one_symbol(services.presets.list()))


def test_pick_a_preset_then_create_the_bot_with_its_params(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    dialog = open_dialog(qtbot, services, admin)
    qtbot.keyClicks(dialog.preset_search, "rsi")
    name = "rsi-reversion-classic-btc-1h-conservative"
    row = dialog.preset_names().index(name)
    item = dialog.preset_list.item(row)
    dialog.preset_list.scrollToItem(item)
    rect = dialog.preset_list.visualItemRect(item)
    qtbot.mouseClick(dialog.preset_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    chosen = services.presets.get(name)
    assert dialog.strategy_combo.currentText() == "rsi_reversion"
    shown = dialog.param_form.values()
    assert {k: shown[k] for k in chosen.params} == {
        "period": 14,
        "lower": "25",
        "upper": "65",
        "fraction": "0.25",
    }
    assert dialog.symbol_edit.text() == chosen.symbol
    assert dialog.timeframe_edit.text() == chosen.timeframe == "1h"
    assert dialog.name_edit.text() == name
    assert chosen.description in dialog.preset_description.text()

    dialog.name_edit.setText("rsi from preset")  # the trader may edit before creating
    with qtbot.waitSignal(dialog.created):
        press_ok(dialog)
    [bot] = services.bots.list()
    assert dialog.bot == bot
    assert bot.name == "rsi from preset" and bot.strategy == "rsi_reversion"
    assert bot.symbol == chosen.symbol
    assert {k: bot.params[k] for k in chosen.params} == {
        "period": 14,
        "lower": "25",
        "upper": "65",
        "fraction": "0.25",
    }
    assert Decimal(str(bot.params["lower"])) == Decimal(str(chosen.params["lower"]))


def test_edited_preset_params_are_what_gets_created(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    dialog = open_dialog(qtbot, services, admin)
    dialog.choose_preset("sma-cross-swing-btc-1h-conservative")
    assert dialog.param_form.values() == {"fast": 20, "slow": 50}
    dialog.param_form.set_values({"fast": 3, "slow": 8})
    press_ok(dialog)
    [bot] = services.bots.list()
    assert (bot.strategy, bot.params["fast"], bot.params["slow"]) == ("sma_cross", 3, 8)


def test_a_rules_preset_keeps_its_json_spec(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    dialog = open_dialog(qtbot, services, admin)
    chosen = services.presets.get("rules-pullback-btc-1h-conservative")
    dialog.choose_preset(chosen.name)
    press_ok(dialog)
    assert dialog.error_text == ""
    [bot] = services.bots.list()
    assert bot.strategy == "rules" and bot.params["spec"] == chosen.params["spec"]


def one_symbol(presets: list[Preset]) -> list[Preset]:
    """What the bot wizard offers: a station bot trades one symbol, so basket presets
    (rotation, pairs) are left to account backtests."""
    return [p for p in presets if not p.multi_symbol]


def test_basket_presets_are_not_offered_to_a_one_symbol_bot(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    dialog = open_dialog(qtbot, services, admin)
    assert not any("ethbtc" in name for name in dialog.preset_names())
    families = [dialog.preset_family.itemText(i) for i in range(dialog.preset_family.count())]
    assert "pairs_trading" not in families and "momentum_rotation" not in families
