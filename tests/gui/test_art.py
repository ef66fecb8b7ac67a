"""The robot art in the interface: state icons that show their state, and the bots
table showing them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from task_station.domain.bots import BotStatus
from task_station.gui.art import STATE_ART, EmptyState, bot_state_icon, state_icon
from task_station.gui.docks import BotsDock
from task_station.gui.palette import COLORS
from task_station.gui.resources import render_svg, resource_path
from task_station.services.bundle import Services
from task_station.services.users import LoginResult

from .helpers import make_bot

LAMP = {
    "idle": "#6b7384",
    "running": COLORS["teal"],
    "paused": COLORS["accent"],
    "error": COLORS["rust"],
}


@pytest.mark.parametrize("state", sorted(LAMP))
def test_each_state_icon_lights_its_lamp(state: str) -> None:
    image = render_svg(resource_path("walle", "states", f"{state}.svg"), 64)
    lamp = QColor(image.pixelColor(43, 37))
    want = QColor(LAMP[state])
    assert abs(lamp.red() - want.red()) <= 3 and abs(lamp.green() - want.green()) <= 3
    assert not state_icon(state).isNull()
    assert {s.width() for s in state_icon(state).availableSizes()} >= {16, 32, 64}


def test_every_status_has_a_drawing() -> None:
    assert set(STATE_ART) == set(BotStatus)
    assert (
        bot_state_icon(BotStatus.RUNNING, paused=True).cacheKey() == state_icon("paused").cacheKey()
    )


def test_the_bots_table_shows_the_state_icon(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    make_bot(services, admin, "a", seed=1)
    dock = BotsDock(services.bots, services.portfolio, services.events, admin.principal)
    qtbot.addWidget(dock)
    col = dock.model.column_of("Status")
    icon = dock.model.data(dock.model.index(0, col), Qt.ItemDataRole.DecorationRole)
    assert icon is not None and icon.cacheKey() == state_icon("idle").cacheKey()


def test_empty_state_shows_the_robot(qtbot: QtBot) -> None:
    empty = EmptyState("Nothing here yet")
    qtbot.addWidget(empty)
    assert empty.message.text() == "Nothing here yet"
    assert not empty.picture.pixmap().isNull()
