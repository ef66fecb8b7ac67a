"""The station's main window: a bot's chart in the middle, the docks around it.

The window only wires widgets together: every number it shows comes from a service and
every button calls one. Geometry and dock layout persist in QSettings (the one piece of
state that belongs to the GUI rather than to the station).
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QWidget,
)

from task_station.domain.bots import BotStatus
from task_station.domain.errors import TaskStationError
from task_station.domain.events import BotStatusChanged
from task_station.gui.chart_area import ChartArea
from task_station.gui.docks import BotsDock, OrdersDock, PortfolioDock
from task_station.gui.docks.accounts import AccountsDock
from task_station.gui.docks.audit import AuditDock
from task_station.gui.docks.backtests import BacktestsDock
from task_station.gui.docks.dex import DexDock
from task_station.gui.docks.health import HealthDock
from task_station.gui.docks.jobs import JobsDock
from task_station.gui.docks.logs import LogsDock
from task_station.gui.docks.market import MarketDock
from task_station.gui.docks.notifications import NotificationsDock
from task_station.gui.docks.proposals import ProposalsDock
from task_station.gui.docks.tasks import TasksDock
from task_station.gui.kill_switch import KillSwitchControl
from task_station.gui.live import BusLink, Coalescer
from task_station.gui.resources import app_icon
from task_station.gui.settings_dialog import SettingsDialog
from task_station.gui.tray import StationTray
from task_station.services.bundle import Services
from task_station.services.principal import Principal

_GEOMETRY, _STATE = "main/geometry", "main/state"
STRATEGY_POLL_MS = 3000
#: Docks whose contents need more height than this scroll instead of growing the window.
MAX_DOCK_MIN_HEIGHT = 140
MAX_DOCK_MIN_WIDTH = 300


#: Statuses of a bot whose task runs (a paused one still marks and protects its book).
_RUNS = (BotStatus.RUNNING, BotStatus.PAUSED)


class MainWindow(QMainWindow):
    """``closed`` is emitted once the window has been closed (the session awaits it)."""

    closed = Signal()

    def __init__(
        self,
        services: Services,
        principal: Principal,
        api_url: str | None = None,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("TASK Station")
        self.setWindowIcon(app_icon())
        self.setObjectName("mainWindow")
        self._services = services
        self._settings = settings if settings is not None else QSettings()
        self.principal = principal
        self.last_error: str | None = None
        # the centre: the chosen bot as tabs (chart with handles, analytics, 3D depth)
        self.chart_area = ChartArea(
            services.bots,
            services.orders,
            services.events,
            strategies=services.strategies,
            principal=principal,
            analytics=services.analytics,
            parent=self,
        )
        self.chart_panel = self.chart_area.chart_panel
        self.setCentralWidget(self.chart_area)
        self.bots_dock = BotsDock(
            services.bots,
            services.portfolio,
            services.events,
            principal,
            self,
            strategies=services.strategies,
        )
        self.orders_dock = OrdersDock(services.orders, services.bots, services.events, self)
        self.portfolio_dock = PortfolioDock(services.portfolio, services.events, self)
        self.accounts_dock = AccountsDock(services.accounts, services.events, principal, self)
        self.dex_dock = DexDock(services.dex, principal, self)
        self.proposals_dock = ProposalsDock(
            services.proposals, services.bots, services.events, principal, self
        )
        self.backtests_dock = BacktestsDock(
            services.backtests,
            services.strategies,
            services.events,
            principal,
            self,
            settings=self._settings,
        )
        self.jobs_dock = JobsDock(services.jobs, services.events, principal, self)
        self.notifications_dock = NotificationsDock(services.notifications, services.events, self)
        self.health_dock = HealthDock(services.health, services.metrics, self)
        self.logs_dock = LogsDock(services.logs, services.events, principal, self)
        self.audit_dock = AuditDock(services.audit, services.events, principal, self)
        self.tasks_dock = TasksDock(services.tasks, services.events, principal, self)
        self.market_dock = MarketDock(
            services.market_data, services.events, principal, services.clock, self,
            settings=self._settings, live=services.market_live,
        )  # fmt: skip
        self._make_docks_shrinkable()
        self._arrange_docks()
        self._build_menus()
        self._build_status_bar(api_url)
        self.kill_switch = KillSwitchControl(services.bots, services.events, principal, self)
        self.kill_switch.install(self)
        self.kill_switch.failed.connect(self.show_error)
        self.kill_switch.done.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.tray = StationTray(self, self.kill_switch)  # shown where the desktop has a tray
        self.tray.attach_proposals(self.proposals_dock, services.events)
        self.tray.attach_notifications(services.events)
        self.jobs_dock.error.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.jobs_dock.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.health_dock.error.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.bots_dock.bot_selected.connect(self.chart_area.show_bot)
        self.bots_dock.error.connect(self.show_error)
        self.bots_dock.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.accounts_dock.error.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.accounts_dock.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.dex_dock.error.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.dex_dock.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.proposals_dock.error.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.proposals_dock.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.backtests_dock.error.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.backtests_dock.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.tasks_dock.error.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.tasks_dock.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.market_dock.error.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.market_dock.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self._status_refresh = Coalescer(self._update_running, 150, self)
        self.link = BusLink(self, services.events)
        self.link.on(BotStatusChanged, self._on_bot_status)
        self._update_running()
        self.select_default_bot()
        self._restore_layout()
        # edited strategy files are picked up without a click (one stat per file)
        self.strategy_poll = QTimer(self)
        self.strategy_poll.setInterval(STRATEGY_POLL_MS)
        self.strategy_poll.timeout.connect(self.poll_strategies)
        self.strategy_poll.start()

    # -- layout ----------------------------------------------------------------------

    def _make_docks_shrinkable(self) -> None:
        """Put large dock contents in scroll areas: a tab group is as big as its biggest
        member, and a dozen docks of forms would otherwise make the window too big for
        a small screen."""
        for dock in self.findChildren(QDockWidget):
            inner = dock.widget()
            if inner is None:
                continue
            need = inner.minimumSizeHint()
            if need.height() <= MAX_DOCK_MIN_HEIGHT and need.width() <= MAX_DOCK_MIN_WIDTH:
                continue
            scroll = QScrollArea(dock)
            scroll.setObjectName(f"{dock.objectName()}Scroll")
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(inner)
            dock.setWidget(scroll)

    def _arrange_docks(self) -> None:
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.bots_dock)
        # under the bots: the decisions a mixed bot waits for stay in sight
        self.splitDockWidget(self.bots_dock, self.proposals_dock, Qt.Orientation.Vertical)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.orders_dock)
        self.splitDockWidget(self.orders_dock, self.portfolio_dock, Qt.Orientation.Horizontal)
        self.tabifyDockWidget(self.portfolio_dock, self.accounts_dock)
        self.tabifyDockWidget(self.accounts_dock, self.dex_dock)
        self.tabifyDockWidget(self.dex_dock, self.backtests_dock)  # the widest group
        self.tabifyDockWidget(self.backtests_dock, self.jobs_dock)
        self.tabifyDockWidget(self.jobs_dock, self.tasks_dock)
        self.tabifyDockWidget(self.jobs_dock, self.notifications_dock)
        self.tabifyDockWidget(self.orders_dock, self.health_dock)
        self.tabifyDockWidget(self.health_dock, self.logs_dock)
        self.tabifyDockWidget(self.logs_dock, self.audit_dock)
        self.tabifyDockWidget(self.logs_dock, self.market_dock)
        self.orders_dock.raise_()
        self.portfolio_dock.raise_()
        self.resizeDocks([self.bots_dock], [560], Qt.Orientation.Horizontal)
        self.resizeDocks([self.orders_dock], [330], Qt.Orientation.Vertical)

    def _build_menus(self) -> None:
        station = self.menuBar().addMenu("&Station")
        new_bot = QAction("&New bot…", self)
        new_bot.setEnabled(self.principal.role.can_trade())
        new_bot.triggered.connect(self.bots_dock.open_new_bot_dialog)
        station.addAction(new_bot)
        self.reload_strategies_action = QAction("&Reload my strategies", self)
        self.reload_strategies_action.setEnabled(self.principal.role.can_trade())
        self.reload_strategies_action.triggered.connect(self.reload_strategies)
        station.addAction(self.reload_strategies_action)
        settings_action = QAction("&Settings…", self)
        settings_action.setShortcut("Ctrl+,")
        settings_action.triggered.connect(self.open_settings)
        station.addAction(settings_action)
        station.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut("Ctrl+Q")
        quit_action.triggered.connect(self.close)
        station.addAction(quit_action)
        chart = self.menuBar().addMenu("&Chart")
        for index, (title, key) in enumerate(
            (("&Candles", "Ctrl+1"), ("&Analytics", "Ctrl+2"), ("&3D depth", "Ctrl+3"))
        ):
            action = QAction(title, self)
            action.setShortcut(key)
            action.triggered.connect(lambda _=False, i=index: self.chart_area.setCurrentIndex(i))
            chart.addAction(action)
        if self.chart_panel.tune_button is not None:
            tune = QAction("&Parameters and handles", self)
            tune.setShortcut("Ctrl+Shift+P")
            tune.setCheckable(True)
            tune.toggled.connect(self.chart_panel.set_tuning)
            self.chart_panel.tune_button.toggled.connect(tune.setChecked)
            chart.addAction(tune)
        view = self.menuBar().addMenu("&View")
        for dock in (self.bots_dock, self.orders_dock, self.portfolio_dock):
            view.addAction(dock.toggleViewAction())
        view.addAction(self.proposals_dock.toggleViewAction())
        view.addAction(self.backtests_dock.toggleViewAction())
        view.addAction(self.jobs_dock.toggleViewAction())
        view.addAction(self.tasks_dock.toggleViewAction())
        view.addAction(self.notifications_dock.toggleViewAction())
        view.addAction(self.health_dock.toggleViewAction())
        view.addAction(self.logs_dock.toggleViewAction())
        view.addAction(self.audit_dock.toggleViewAction())
        view.addAction(self.market_dock.toggleViewAction())

    def open_settings(self) -> SettingsDialog:
        """The Settings dialog (read-only for non-admins); saved for the next start."""
        dialog = SettingsDialog(self._services.settings, self.principal, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(
            lambda: self.statusBar().showMessage("Settings saved: restart to apply them", 10000)
        )
        dialog.open()
        return dialog

    def _build_status_bar(self, api_url: str | None) -> None:
        bar = self.statusBar()
        self.user_label = QLabel(f"User: {self.principal.username} ({self.principal.role.value})")
        self.api_label = QLabel(f"API: {api_url}" if api_url else "API: off")
        self.running_label = QLabel()
        for label in (self.user_label, self.api_label, self.running_label):
            bar.addPermanentWidget(label)

    # -- behaviour -------------------------------------------------------------------

    def select_default_bot(self) -> None:
        """Select the first running bot, else the first bot (if any)."""
        bots = self._services.bots.list()
        running = [b for b in bots if b.status in _RUNS]
        candidates = running or bots
        if candidates:
            self.bots_dock.select_bot(candidates[0].id)

    @property
    def running_count(self) -> int:
        return sum(1 for b in self._services.bots.list() if b.status in _RUNS)

    def show_error(self, message: str) -> None:
        """Tell the trader without blocking: status bar plus a non-modal message box."""
        self.last_error = message
        self.statusBar().showMessage(message, 10000)
        box = QMessageBox(
            QMessageBox.Icon.Warning, "TASK Station", message, QMessageBox.StandardButton.Ok, self
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def reload_strategies(self) -> None:
        """Re-read the trader's strategy files; problems open a (non-modal) message."""
        try:
            result = self._services.strategies.reload(self.principal)
        except TaskStationError as exc:
            self.show_error(str(exc))
            return
        self.statusBar().showMessage(result.summary, 10000)
        if result.errors:
            self.show_error("Not loaded from your strategy files:\n" + "\n".join(result.errors))

    def poll_strategies(self) -> None:
        """Tell the trader in the status bar when an edited strategy file was reloaded."""
        result = self._services.strategies.poll()
        if result.changed:
            self.statusBar().showMessage(result.summary, 10000)

    def _on_bot_status(self, event: BotStatusChanged) -> None:
        self._status_refresh.request()
        if self.chart_panel.bot_id is None and event.status is BotStatus.RUNNING:
            self.bots_dock.refresh()
            self.bots_dock.select_bot(event.bot_id)

    def _update_running(self) -> None:
        self.running_label.setText(f"Running bots: {self.running_count}")

    # -- persistence -----------------------------------------------------------------

    def _restore_layout(self) -> None:
        geometry, state = self._settings.value(_GEOMETRY), self._settings.value(_STATE)
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def save_layout(self) -> None:
        self._settings.setValue(_GEOMETRY, self.saveGeometry())
        self._settings.setValue(_STATE, self.saveState())
        self._settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self.tray.hide()
        super().closeEvent(event)
        self.closed.emit()
