"""The centre tabs follow the chosen bot; the 3D tab is built on first use and explains
itself where Qt has no OpenGL (the 3D chart's own GL tests run under Xvfb)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from task_station.gui.chart_area import ChartArea, opengl_available
from task_station.services.bundle import Services
from task_station.services.users import LoginResult

from .helpers import make_bot


def test_every_tab_follows_the_chosen_bot(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    bot = make_bot(services, admin, "trend", seed=11)
    area = ChartArea(
        services.bots,
        services.orders,
        services.events,
        strategies=services.strategies,
        principal=admin.principal,
    )
    qtbot.addWidget(area)
    assert [area.tabText(i) for i in range(area.count())] == ["Chart", "Analytics", "3D depth"]
    area.show_bot(bot.id)
    assert area.chart_panel.bot_id == bot.id and area.analytics.bot_id == bot.id
    assert area.depth3d is None  # nothing GL is built before the tab is opened
    area.setCurrentIndex(ChartArea.DEPTH3D)
    assert area.depth3d is not None
    if not opengl_available():
        assert "OpenGL" in area.depth3d.text()  # type: ignore[attr-defined]
    area.show_bot(None)
    assert area.chart_panel.bot_id is None and area.analytics.current is None
