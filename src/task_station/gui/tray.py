"""The station in the system tray: the kill switch one click away, window hidden or not.

The tray's "Engage kill switch…" opens the same confirmation as the red toolbar button
and goes through the same ``KillSwitchControl``, so it stops the same bots and cancels
the same orders (``BotService.kill_switch``). The menu is built whether or not the
desktop has a tray (an offscreen or bare X session has none), so it works and is tested
everywhere; the icon is only shown where ``QSystemTrayIcon.isSystemTrayAvailable()``.

A mixed-mode bot's proposal is also a desktop notification: clicking it brings the
station forward with the proposal selected in the proposals dock, and the tray's
"Proposals" menu approves or rejects each pending one without opening the window,
through the same dock (so the same service calls, permissions and audit entries).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QMainWindow, QMenu, QSystemTrayIcon

from task_station.domain.events import ProposalCreated
from task_station.domain.notifications import NotificationRaised
from task_station.engine.bus import EventBus
from task_station.gui.docks.proposals import ProposalsDock
from task_station.gui.kill_switch import KILL_RED, KillSwitchControl, KillSwitchDialog
from task_station.gui.live import BusLink
from task_station.gui.resources import app_icon

TOOLTIP = "TASK Station"
_ICON_SIZE = 64


def engaged_icon(base: QIcon, size: int = _ICON_SIZE) -> QIcon:
    """``base`` with a red dot in its corner: the kill switch is engaged."""
    pixmap = base.pixmap(size, size)
    if pixmap.isNull():
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
    side = min(pixmap.width(), pixmap.height())
    dot = side * 0.45
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("white"), max(1.0, side * 0.05)))
    painter.setBrush(QColor(KILL_RED))
    painter.drawEllipse(QRectF(side - dot - 1, side - dot - 1, dot, dot))
    painter.end()
    return QIcon(pixmap)


class StationTray(QObject):
    """The tray icon and its menu: engage the kill switch, show the station, quit."""

    def __init__(self, window: QMainWindow, kill_switch: KillSwitchControl) -> None:
        super().__init__(window)
        self._window = window
        self._kill_switch = kill_switch
        self._normal_icon = app_icon()
        self._engaged_icon = engaged_icon(self._normal_icon)
        self._was_engaged = kill_switch.engaged
        self.menu = QMenu(window)
        self.menu.setObjectName("trayMenu")
        self.engage_action = self.menu.addAction("Engage kill switch…")
        self.engage_action.setObjectName("trayKillSwitchAction")
        self.engage_action.setToolTip("Stop every bot and cancel every open order")
        self.engage_action.triggered.connect(self.engage)
        self.proposals_menu = self.menu.addMenu("Proposals")
        self.proposals_menu.setObjectName("trayProposalsMenu")
        self.proposals_menu.aboutToShow.connect(self.fill_proposals_menu)
        self.proposals_menu.menuAction().setVisible(False)  # until proposals are attached
        self._proposals: ProposalsDock | None = None
        #: The last proposal notified: (title, text, proposal id); clicking shows it.
        self.last_notice: tuple[str, str, str] | None = None
        self.menu.addSeparator()
        self.show_action = self.menu.addAction("Show station")
        self.show_action.setObjectName("trayShowAction")
        self.show_action.triggered.connect(self.show_station)
        self.quit_action = self.menu.addAction("Quit")
        self.quit_action.setObjectName("trayQuitAction")
        self.quit_action.triggered.connect(window.close)
        self.icon = QSystemTrayIcon(self._normal_icon, self)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self.icon.messageClicked.connect(self.open_last_notice)
        kill_switch.changed.connect(self._show_state)
        self._show_state(kill_switch.engaged)
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon.show()

    @property
    def engaged_look(self) -> bool:
        """Whether the tray shows the engaged switch (red dot, tooltip)."""
        return self.icon.icon().cacheKey() == self._engaged_icon.cacheKey()

    def engage(self) -> KillSwitchDialog:
        """Ask for a reason (the kill switch's own confirmation); nothing stops unless
        it is confirmed."""
        return self._kill_switch.open_dialog()

    def show_station(self) -> None:
        self._window.showNormal()
        self._window.raise_()
        self._window.activateWindow()

    def hide(self) -> None:
        self.icon.hide()

    # -- proposals -----------------------------------------------------------------------

    def attach_proposals(self, dock: ProposalsDock, bus: EventBus) -> None:
        """Notify each new proposal and offer the pending ones in the tray menu."""
        self._proposals = dock
        self.proposals_menu.menuAction().setVisible(True)
        self._link = BusLink(self, bus)
        self._link.on(ProposalCreated, self.notify_proposal)

    def notify_proposal(self, event: ProposalCreated) -> None:
        proposal = event.proposal
        if not proposal.is_pending:
            return  # auto-approved at once: nothing to decide
        title = "A bot proposes an order"
        text = f"{proposal.describe()}\nClick to review, or approve it from the tray menu."
        self.last_notice = (title, text, proposal.id)
        if self.icon.isVisible():
            self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 15000)

    # -- notifications -------------------------------------------------------------------

    def attach_notifications(self, bus: EventBus) -> None:
        """Show each notification the desktop channel's rule accepts as a tray message."""
        self.last_message: tuple[str, str] | None = None
        self._notices = BusLink(self, bus)
        self._notices.on(NotificationRaised, self.show_notification)

    def show_notification(self, event: NotificationRaised) -> None:
        if not event.desktop:
            return
        icons = {
            "warning": QSystemTrayIcon.MessageIcon.Warning,
            "error": QSystemTrayIcon.MessageIcon.Critical,
            "critical": QSystemTrayIcon.MessageIcon.Critical,
        }
        self.last_message = (event.title, event.body)
        if self.icon.isVisible():
            icon = icons.get(event.severity, QSystemTrayIcon.MessageIcon.Information)
            self.icon.showMessage(event.title, event.body, icon, 10000)

    def open_last_notice(self) -> None:
        """The notification was clicked: the station, with that proposal selected."""
        self.show_station()
        dock = self._proposals
        if dock is None or self.last_notice is None:
            return
        dock.show()
        dock.raise_()
        dock.refresh()
        dock.select_proposal(self.last_notice[2])

    def fill_proposals_menu(self) -> None:
        """One submenu per pending proposal, with Approve and Reject."""
        menu = self.proposals_menu
        menu.clear()
        dock = self._proposals
        if dock is None:
            return
        dock.refresh()
        views = dock.load()
        if not views:
            menu.addAction("No proposal waits").setEnabled(False)
            return
        for view in views:
            proposal = view.proposal
            sub = menu.addMenu(proposal.describe())
            approve = sub.addAction("Approve")
            approve.triggered.connect(lambda _=False, pid=proposal.id: self.decide(pid, True))
            reject = sub.addAction("Reject")
            reject.triggered.connect(lambda _=False, pid=proposal.id: self.decide(pid, False))

    def decide(self, proposal_id: str, approve: bool) -> bool:
        """Approve or reject through the proposals dock; False if it is gone."""
        dock = self._proposals
        if dock is None:
            return False
        dock.refresh()
        if not dock.select_proposal(proposal_id):
            return False
        if approve:
            dock.approve_selected()
        else:
            dock.reject_selected()
        return True

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.show_station()

    def _show_state(self, engaged: bool) -> None:
        self.engage_action.setEnabled(self._kill_switch.action.isEnabled())
        if engaged:
            self.icon.setIcon(self._engaged_icon)
            self.icon.setToolTip(
                f"{TOOLTIP} — KILL SWITCH ENGAGED\n{self._kill_switch.state.describe()}"
            )
        else:
            self.icon.setIcon(self._normal_icon)
            self.icon.setToolTip(TOOLTIP)
        if engaged and not self._was_engaged and self.icon.isVisible():
            self.icon.showMessage(
                "Kill switch engaged",
                self._kill_switch.state.describe(),
                QSystemTrayIcon.MessageIcon.Critical,
            )
        self._was_engaged = engaged
