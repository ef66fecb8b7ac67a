"""The Audit dock over the real audit trail: filters, detail, chain verification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pytestqt.qtbot import QtBot
from sqlalchemy import update

from task_station.container import Container
from task_station.domain.audit import Face, acting_through
from task_station.domain.users import Role
from task_station.gui.docks.audit import ALL_FACES, AuditDock
from task_station.persistence.models import AuditEventRow
from task_station.services.principal import Principal
from task_station.services.users import LoginResult


def _actions(dock: AuditDock) -> list[str]:
    return [dock.cell_text(row, "Action") for row in range(dock.model.rowCount())]


def _seed(station: Container, admin: LoginResult) -> None:
    services = station.services
    with acting_through(Face.API):
        services.users.create("tom", "trader-password-1", "trader", admin.principal)
    with acting_through(Face.GUI):
        services.users.update(admin.principal, "tom", role="viewer")
    old = datetime.now(UTC) - timedelta(days=3)
    station.database.audit.record(old, "tom", "bot.start", "bot-1", "long ago")


def test_audit_dock_filters_by_user_action_face_and_time(
    qtbot: QtBot, station: Container, admin: LoginResult
) -> None:
    _seed(station, admin)
    dock = AuditDock(station.services.audit, station.services.events, admin.principal, poll_ms=50)
    qtbot.addWidget(dock)
    dock.show()
    assert _actions(dock) == [
        "bot.start",
        "user.update",
        "user.create",
        "auth.login",
        "user.create",
    ]
    dock.face.setCurrentText("gui")
    assert _actions(dock) == ["user.update"]
    dock.face.setCurrentText(ALL_FACES)
    dock.action.setText("user.")
    qtbot.waitUntil(lambda: _actions(dock) == ["user.update", "user.create", "user.create"])
    dock.action.clear()
    dock.user.setText("tom")
    qtbot.waitUntil(lambda: _actions(dock) == ["bot.start"])
    dock.user.clear()
    dock.since.setDateTime(dock.since.dateTime().addSecs(-3600))  # a day and an hour ago
    dock.since_on.setChecked(True)
    qtbot.waitUntil(lambda: "bot.start" not in _actions(dock) and len(_actions(dock)) == 4)
    dock.view.clicked.emit(dock.model.index(0, 0))
    detail = dock.detail.toPlainText()
    assert '"role":"trader"' in detail and '"role":"viewer"' in detail and "via gui" in detail


def test_audit_dock_verify_names_a_tampered_event(
    qtbot: QtBot, station: Container, admin: LoginResult
) -> None:
    _seed(station, admin)
    dock = AuditDock(station.services.audit, station.services.events, admin.principal)
    qtbot.addWidget(dock)
    dock.verify_button.click()
    assert dock.status.text().startswith("audit trail intact: 5 event(s)")
    second = next(iter(station.database.audit.events()))
    with station.database.engine.begin() as connection:
        statement = update(AuditEventRow).where(AuditEventRow.id == second.id)
        connection.execute(statement.values(subject="someone-else"))
    dock.verify_button.click()
    assert f"BROKEN at event {second.id}" in dock.status.text()


def test_audit_dock_tells_non_admins_it_is_for_admins(
    qtbot: QtBot, station: Container, admin: LoginResult
) -> None:
    viewer = Principal("v1", "vera", Role.VIEWER)
    dock = AuditDock(station.services.audit, station.services.events, viewer)
    qtbot.addWidget(dock)
    assert dock.model.rowCount() == 0
    assert "admins only" in dock.status.text()
