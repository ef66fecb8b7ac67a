"""Parameter handles: dragging a line on the chart edits the bot's form and the form
moves the line; relative handles measure from the last close; Apply stores the values
through the service."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pytestqt.qtbot import QtBot

from task_station.domain.risk import split_bot_params
from task_station.gui.bot_chart import BotChartPanel
from task_station.gui.param_handles import dca_safety_prices, grid_levels, quantize_like
from task_station.services.bundle import Services
from task_station.services.users import LoginResult


def grid_bot(services: Services, admin: LoginResult) -> str:
    return services.bots.create(
        admin.principal,
        name="grid",
        strategy="grid",
        params={"lower": "25000", "upper": "35000", "levels": 5},
        quote_budget="10000",
        data_source="synthetic:3",
    ).id


def make_panel(qtbot: QtBot, services: Services, admin: LoginResult) -> BotChartPanel:
    # made in the test, not a fixture: a fixture's value outlives the widget-leak check
    widget = BotChartPanel(
        services.bots,
        services.orders,
        services.events,
        strategies=services.strategies,
        principal=admin.principal,
    )
    qtbot.addWidget(widget)
    widget.resize(1100, 600)
    return widget


def test_grid_bounds_are_handles_and_its_levels_follow(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    panel = make_panel(qtbot, services, admin)
    bot_id = grid_bot(services, admin)
    panel.show_bot(bot_id)
    panel.set_tuning(True)
    tuning = panel.tuning
    assert tuning is not None and tuning.handles is not None and tuning.form is not None
    handles = tuning.handles
    assert set(handles.handled) == {"lower", "upper", "stop_loss_pct", "take_profit_pct"}
    assert handles.line_price("lower") == 25000.0 and handles.line_price("upper") == 35000.0
    assert [line.value() for line in handles.derived] == [25000, 27500, 30000, 32500, 35000]
    # stops are off (0): their lines are hidden
    assert handles.line_price("stop_loss_pct") is None

    handles.drag_to("upper", 36123.456789)  # chart -> form
    assert tuning.form.value("upper") == "36123.5"
    assert handles.line_price("upper") == 36123.5  # snapped to what the form holds
    assert [round(line.value(), 3) for line in handles.derived][-1] == 36123.5

    tuning.form.set_values({"lower": "24000", "levels": 3})  # form -> chart
    assert handles.line_price("lower") == 24000.0
    assert [line.value() for line in handles.derived] == [24000, 30061.75, 36123.5]

    assert tuning.apply()
    strategy, _, _ = split_bot_params(services.bots.get(bot_id).params)
    assert strategy["lower"] == "24000" and strategy["upper"] == "36123.5"
    assert strategy["levels"] == 3


def test_stop_handles_measure_from_the_last_close(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    panel = make_panel(qtbot, services, admin)
    bot_id = grid_bot(services, admin)
    panel.show_bot(bot_id)
    panel.set_tuning(True)
    tuning = panel.tuning
    assert tuning is not None and tuning.handles is not None and tuning.stops_form is not None
    tuning.set_reference(Decimal(40000))
    tuning.stops_form.set_values({"stop_loss_pct": "5", "take_profit_pct": "10"})
    assert tuning.handles.line_price("stop_loss_pct") == 38000.0
    assert tuning.handles.line_price("take_profit_pct") == pytest.approx(44000.0)
    tuning.handles.drag_to("stop_loss_pct", 36000.0)
    assert tuning.stops_form.value("stop_loss_pct") == "10"
    tuning.handles.drag_to("stop_loss_pct", -5.0)  # beyond the bound: clamped to it
    assert Decimal(str(tuning.stops_form.value("stop_loss_pct"))) == Decimal("99.99")
    assert tuning.apply()
    _, _, stops = split_bot_params(services.bots.get(bot_id).params)
    assert stops.stop_loss_pct == Decimal("99.99") and stops.take_profit_pct == Decimal(10)


def test_invalid_values_are_refused_and_shown(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    panel = make_panel(qtbot, services, admin)
    bot_id = grid_bot(services, admin)
    before = services.bots.get(bot_id).params
    panel.show_bot(bot_id)
    panel.set_tuning(True)
    tuning = panel.tuning
    assert tuning is not None and tuning.handles is not None and tuning.form is not None
    errors: list[str] = []
    tuning.error.connect(errors.append)
    tuning.handles.drag_to("lower", 40000.0)  # above the upper bound
    assert not tuning.apply()
    assert errors and "lower" in errors[0]
    assert tuning.status.text() == errors[0]
    assert services.bots.get(bot_id).params == before
    tuning.revert()
    assert tuning.form.value("lower") == "25000"


def test_hiding_the_panel_removes_the_handles(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    panel = make_panel(qtbot, services, admin)
    panel.show_bot(grid_bot(services, admin))
    items = len(panel.chart.plot.getPlotItem().items)
    panel.set_tuning(True)
    assert len(panel.chart.plot.getPlotItem().items) > items
    panel.set_tuning(False)
    assert len(panel.chart.plot.getPlotItem().items) == items


def test_derived_lines_by_hand() -> None:
    assert grid_levels({"lower": "10", "upper": "40", "levels": 4, "spacing": "geometric"}) == [
        Decimal(10),
        Decimal(10) * Decimal(4) ** (Decimal(1) / 3),
        Decimal(10) * Decimal(4) ** (Decimal(2) / 3),
        Decimal(40),
    ]
    assert grid_levels({"lower": "40", "upper": "10", "levels": 4}) == []
    prices = dca_safety_prices(
        {"deviation": "0.01", "step_scale": "2", "max_safety_orders": 3}, Decimal(100)
    )
    assert prices == [Decimal("99.00"), Decimal("97.00"), Decimal("93.00")]
    assert quantize_like(Decimal("36123.456789"), Decimal("35000")) == Decimal("36123.5")
