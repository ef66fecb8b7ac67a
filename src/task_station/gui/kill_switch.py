"""The kill switch in the main window: a red toolbar button, a confirmation, a status.

The button only asks ``BotService.kill_switch``; the service stops the bots and cancels
the orders, so the GUI, the API and the CLI stop the same things. The status label
follows ``KillSwitchChanged`` on the bus, so a switch engaged over the API shows here
too.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.errors import TaskStationError
from task_station.domain.events import KillSwitchChanged
from task_station.domain.risk import KillSwitchState
from task_station.domain.users import Role
from task_station.engine.bus import EventBus
from task_station.gui.live import BusLink
from task_station.services.bots import BotService, KillSwitchReport
from task_station.services.principal import Principal

log = logging.getLogger(__name__)

#: Red, not the theme's rust: this button must not look like a sell.
KILL_RED = "#d7263d"
_BUTTON_STYLE = (
    f"QToolButton {{ background-color: {KILL_RED}; color: white; font-weight: 700; "
    f"padding: 4px 12px; border-radius: 3px; }} "
    f"QToolButton:disabled {{ background-color: #5a2a30; color: #b0b0b0; }}"
)


class KillSwitchDialog(QDialog):
    """Asks for a reason before anything stops; ``confirmed(reason)`` on OK."""

    confirmed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("TASK Station — Kill switch")
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        warning = QLabel(
            "Stop every running bot and cancel every open order now?\n"
            "New orders are refused until an admin releases the switch."
        )
        warning.setWordWrap(True)
        layout.addWidget(warning)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("Why? (kept in the audit log)")
        layout.addWidget(self.reason_edit)
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Stop everything")
        ok.setStyleSheet(f"background-color: {KILL_RED}; color: white; font-weight: 700;")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def submit(self) -> bool:
        reason = self.reason_edit.text().strip()
        if not reason:
            self.error_label.setText("Say why: the reason goes into the audit log.")
            self.error_label.show()
            return False
        self.confirmed.emit(reason)
        self.accept()
        return True


class KillSwitchControl(QObject):
    """The actions and the status label; ``failed(message)`` / ``done(message)``;
    ``changed(engaged)`` whenever the state is shown afresh (the tray follows it)."""

    failed = Signal(str)
    done = Signal(str)
    changed = Signal(bool)

    def __init__(self, bots: BotService, bus: EventBus, actor: Principal, parent: QWidget) -> None:
        super().__init__(parent)
        self._bots = bots
        self._actor = actor
        self._parent_widget = parent
        self._tasks: set[asyncio.Future[KillSwitchReport]] = set()
        self.action = QAction("Kill switch", parent)
        self.action.setObjectName("killSwitchAction")
        self.action.setToolTip("Stop every bot and cancel every open order")
        self.action.triggered.connect(self.open_dialog)
        self.release_action = QAction("Release kill switch", parent)
        self.release_action.setObjectName("releaseKillSwitchAction")
        self.release_action.setToolTip("Let orders through again (admins only)")
        self.release_action.triggered.connect(self.release)
        self.status_label = QLabel()
        self.status_label.setObjectName("killSwitchLabel")
        self.link = BusLink(self, bus)
        self.link.on(KillSwitchChanged, lambda _event: self.refresh())
        self.refresh()

    def install(self, window: QMainWindow) -> None:
        """Put the red button on a toolbar of ``window`` and the state in its status bar."""
        toolbar = window.addToolBar("Safety")
        toolbar.setObjectName("safetyToolBar")  # saveState needs it
        toolbar.addAction(self.action)
        toolbar.addAction(self.release_action)
        button = toolbar.widgetForAction(self.action)
        if button is not None:
            button.setObjectName("killSwitchButton")
            button.setStyleSheet(_BUTTON_STYLE)
        window.statusBar().addPermanentWidget(self.status_label)

    @property
    def engaged(self) -> bool:
        return self._bots.global_risk.kill_switch.engaged

    @property
    def state(self) -> KillSwitchState:
        return self._bots.global_risk.kill_switch

    def refresh(self) -> None:
        state = self._bots.global_risk.kill_switch
        can_trade = self._actor.role.can_trade()
        self.action.setEnabled(can_trade and not state.engaged)
        self.release_action.setEnabled(state.engaged and self._actor.role is Role.ADMIN)
        self.release_action.setVisible(state.engaged)
        if state.engaged:
            self.status_label.setText("KILL SWITCH ENGAGED")
            self.status_label.setToolTip(state.describe())
            self.status_label.setStyleSheet(f"color: {KILL_RED}; font-weight: 700;")
        else:
            self.status_label.setText("")
            self.status_label.setToolTip("")
            self.status_label.setStyleSheet("")
        self.changed.emit(state.engaged)

    def open_dialog(self) -> KillSwitchDialog:
        """Open the confirmation (non-blocking); nothing happens unless it is confirmed."""
        dialog = KillSwitchDialog(self._parent_widget)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.confirmed.connect(self.engage)
        dialog.open()
        return dialog

    def engage(self, reason: str) -> asyncio.Future[KillSwitchReport]:
        """Ask the service; the returned future may be awaited (tests) or ignored."""
        future = asyncio.ensure_future(self._bots.kill_switch(self._actor, reason))
        self._tasks.add(future)
        future.add_done_callback(self._engaged)
        return future

    def release(self) -> None:
        try:
            self._bots.release_kill_switch(self._actor)
        except TaskStationError as exc:
            self.failed.emit(f"could not release the kill switch: {exc}")
            return
        self.done.emit("kill switch released: bots may be started again")

    def _engaged(self, future: asyncio.Future[KillSwitchReport]) -> None:
        self._tasks.discard(future)
        if future.cancelled():
            return
        exc = future.exception()
        try:
            if exc is None:
                report = future.result()
                self.done.emit(
                    f"kill switch engaged: {len(report.stopped_bots)} bot(s) stopped, "
                    f"{report.canceled_orders} order(s) canceled"
                )
            elif isinstance(exc, TaskStationError):
                self.failed.emit(f"could not engage the kill switch: {exc}")
            else:
                log.error("could not engage the kill switch", exc_info=exc)
                self.failed.emit(
                    f"could not engage the kill switch (internal error: {type(exc).__name__})"
                )
        except RuntimeError:  # the window is gone; the service did its work regardless
            log.debug("kill switch finished after its window closed")
