"""The central panel: one bot's candles and trades, kept live from the bus.

The panel loads what the services hold when a bot is chosen (``BotService.bars``,
``OrderService.fills``) and then appends each ``BarClosed``/``OrderFilled`` of that bot,
so a running bot's chart grows bar by bar without reloading its history.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from task_station.domain.errors import NotFoundError
from task_station.domain.events import BarClosed, BotStatusChanged, OrderFilled
from task_station.engine.bus import EventBus
from task_station.gui.bot_tuning import BotTuningPanel
from task_station.gui.chart import CandleChart
from task_station.gui.formatting import fmt_money
from task_station.gui.live import BusLink, Coalescer
from task_station.services.bots import BotService
from task_station.services.principal import Principal
from task_station.services.strategies import StrategyService
from task_station.services.trading import OrderService


class BotChartPanel(QWidget):
    """A title line (bot, symbol, status, last price) above a ``CandleChart``; with
    ``strategies`` and ``principal``, a "Parameters" toggle opens the bot's parameter
    panel beside the chart, its price-like parameters drawn on the chart as handles."""

    def __init__(
        self,
        bots: BotService,
        orders: OrderService,
        bus: EventBus,
        parent: QWidget | None = None,
        *,
        strategies: StrategyService | None = None,
        principal: Principal | None = None,
    ) -> None:
        super().__init__(parent)
        self._bots = bots
        self._orders = orders
        self.bot_id: str | None = None
        self._last_close: Decimal | None = None
        self.chart = CandleChart(self)
        self.title = QLabel("No bot selected")
        self.title.setObjectName("chartTitle")
        self.info = QLabel("Create a bot with New… in the Bots panel, then start it.")
        self.info.setObjectName("chartInfo")
        self.info.setMinimumWidth(1)  # long parameter lists are cut, not the window widened
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.info)
        self.tuning: BotTuningPanel | None = None
        self.tune_button: QPushButton | None = None
        body: QWidget = self.chart
        if strategies is not None and principal is not None:
            self.tuning = BotTuningPanel(
                bots, strategies, principal, self.chart.plot.getPlotItem(), self
            )
            self.tuning.hide()
            self.tuning.applied.connect(lambda _bot: self._update_header())
            self.tune_button = QPushButton("Parameters")
            self.tune_button.setCheckable(True)
            self.tune_button.setToolTip("Show the bot's parameters and their chart handles")
            self.tune_button.toggled.connect(self.set_tuning)
            header.addWidget(self.tune_button)
            split = QSplitter(Qt.Orientation.Horizontal, self)
            split.addWidget(self.chart)
            split.addWidget(self.tuning)
            split.setStretchFactor(0, 1)
            body = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(body, 1)
        self._header = Coalescer(self._update_header, 150, self)
        self.link = BusLink(self, bus)
        self.link.on(BarClosed, self._on_bar)
        self.link.on(OrderFilled, self._on_fill)
        self.link.on(BotStatusChanged, self._on_status)

    def show_bot(self, bot_id: str | None) -> None:
        """Show ``bot_id``'s bars and fills so far (None: an empty chart)."""
        self.bot_id = bot_id
        self._last_close = None
        if bot_id is None:
            self.chart.clear()
        else:
            try:
                bars = self._bots.bars(bot_id)
                self._last_close = bars[-1].close if bars else None
                self.chart.set_candles(bars)
                self.chart.set_trades(self._orders.fills(bot_id=bot_id))
            except NotFoundError:
                self.bot_id = None
                self.chart.clear()
        self._update_header()
        if self.tuning is not None and self.tuning.isVisible():
            self.tuning.show_bot(self.bot_id, self._last_close)

    def set_tuning(self, on: bool) -> None:
        """Show (or hide) the parameter panel and its handles for the shown bot."""
        if self.tuning is None:
            return
        if self.tune_button is not None and self.tune_button.isChecked() != on:
            self.tune_button.setChecked(on)  # re-enters through toggled
            return
        self.tuning.setVisible(on)
        self.tuning.show_bot(self.bot_id if on else None, self._last_close)

    def _on_bar(self, event: BarClosed) -> None:
        if event.bot_id is not None and event.bot_id == self.bot_id:
            self.chart.append_candle(event.candle)
            self._last_close = event.candle.close
            self._header.request()
            if self.tuning is not None and self.tuning.handles is not None:
                self.tuning.set_reference(self._last_close)

    def _on_fill(self, event: OrderFilled) -> None:
        if self.bot_id is not None and event.order.bot_id == self.bot_id:
            self.chart.add_trade(event.fill)

    def _on_status(self, event: BotStatusChanged) -> None:
        if event.bot_id == self.bot_id:
            self._header.request()

    def _update_header(self) -> None:
        if self.bot_id is None:
            self.title.setText("No bot selected")
            return
        try:
            bot = self._bots.get(self.bot_id)
        except NotFoundError:
            return
        self.title.setText(f"{bot.name}  ·  {bot.symbol}  ·  {bot.timeframe}")
        rows = self.chart.candle_count
        last = f"last {fmt_money(self._last_close)}  ·  " if self._last_close is not None else ""
        self.info.setText(
            f"{last}{rows} bars  ·  {bot.strategy} {_params(bot.params)}  ·  {bot.status.value}"
        )


def _params(params: dict[str, object]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())
