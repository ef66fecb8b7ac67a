"""The bot's parameter panel beside its chart: the form and the chart's handles, bound.

Dragging a handle on the chart edits the form; editing the form moves the handle;
"Apply" hands both to ``BotService.update_params`` (which refuses a running bot and
invalid values, changing nothing). The reference price of relative handles is the
chart's last close.
"""

from __future__ import annotations

from decimal import Decimal

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from task_station.domain.errors import TaskStationError
from task_station.domain.risk import split_bot_params
from task_station.gui.param_form import ParamForm
from task_station.gui.param_handles import ParamHandles
from task_station.services.bots import BotService
from task_station.services.principal import Principal
from task_station.services.strategies import StrategyService
from task_station.strategies.params import Param

#: The engine's position stops as form parameters (0 = off).
STOPS_SCHEMA: tuple[Param, ...] = (
    Param("stop_loss_pct", Decimal, Decimal(0), "stop loss, % below the entry (0: off)",
          minimum=Decimal(0), maximum=Decimal("99.99")),
    Param("take_profit_pct", Decimal, Decimal(0), "take profit, % above the entry (0: off)",
          minimum=Decimal(0), maximum=Decimal(10_000)),
)  # fmt: skip


class BotTuningPanel(QWidget):
    """``applied(bot_id)`` after the service stored new parameters; ``error(text)``."""

    applied = Signal(str)
    error = Signal(str)

    def __init__(
        self,
        bots: BotService,
        strategies: StrategyService,
        principal: Principal,
        plot: pg.PlotItem,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._bots = bots
        self._strategies = strategies
        self._principal = principal
        self._plot = plot
        self.bot_id: str | None = None
        self.form: ParamForm | None = None
        self.stops_form: ParamForm | None = None
        self.handles: ParamHandles | None = None
        self._reference: Decimal | None = None
        self.title = QLabel("Parameters")
        self.title.setObjectName("panelTitle")
        self.hint = QLabel("Drag the lines on the chart or edit the values.")
        self.hint.setWordWrap(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(self.apply)
        self.revert_button = QPushButton("Revert")
        self.revert_button.clicked.connect(self.revert)
        buttons = QHBoxLayout()
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.apply_button)
        self._body = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addLayout(self._body)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.setMinimumWidth(240)
        self._set_enabled(False)

    # -- which bot ---------------------------------------------------------------------

    def show_bot(self, bot_id: str | None, reference: Decimal | None) -> None:
        """Build the form and handles for ``bot_id`` (None: an empty panel)."""
        self._clear()
        self.bot_id = bot_id
        self._reference = reference
        if bot_id is None:
            self.title.setText("Parameters")
            return
        bot = self._bots.get(bot_id)
        schema = self._strategies.get(bot.strategy).cls.params
        self.title.setText(f"Parameters · {bot.strategy}")
        self.form = ParamForm(schema, self)
        self.stops_form = ParamForm(STOPS_SCHEMA, self)
        self._body.addWidget(self.form)
        self._body.addWidget(QLabel("Position stops"))
        self._body.addWidget(self.stops_form)
        self.handles = ParamHandles(
            self._plot,
            bot.strategy,
            schema,
            self.form,
            stops_form=self.stops_form,
            stops_schema=STOPS_SCHEMA,
            reference=reference,
            parent=self,
        )
        self.revert()
        self._set_enabled(True)

    def set_reference(self, price: Decimal | None) -> None:
        self._reference = price
        if self.handles is not None:
            self.handles.set_reference(price)

    def revert(self) -> None:
        """Back to the bot's stored parameters."""
        if self.bot_id is None or self.form is None or self.stops_form is None:
            return
        strategy, _, stops = split_bot_params(self._bots.get(self.bot_id).params)
        known = {p.name for p in self.form.schema}
        self.form.reset()
        self.form.set_values({k: v for k, v in strategy.items() if k in known})
        self.stops_form.set_values(
            {
                "stop_loss_pct": stops.stop_loss_pct or Decimal(0),
                "take_profit_pct": stops.take_profit_pct or Decimal(0),
            }
        )
        self.status.setText("")

    def apply(self) -> bool:
        """Store the form's values through the service; False (and ``error``) if refused."""
        if self.bot_id is None or self.form is None or self.stops_form is None:
            return False
        stops = {
            k: v
            for k, v in self.stops_form.values().items()
            if v not in (None, "") and Decimal(str(v)) != 0
        }
        try:
            self._bots.update_params(self._principal, self.bot_id, self.form.values(), stops=stops)
        except TaskStationError as exc:
            self.status.setText(str(exc))
            self.error.emit(str(exc))
            return False
        self.status.setText("Saved: the bot uses these values from its next start.")
        self.applied.emit(self.bot_id)
        return True

    def _clear(self) -> None:
        if self.handles is not None:
            self.handles.remove()
            self.handles.deleteLater()
            self.handles = None
        for form in (self.form, self.stops_form):
            if form is not None:
                form.setParent(None)
                form.deleteLater()
        while self._body.count():
            item = self._body.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setParent(None)
                widget.deleteLater()
        self.form = self.stops_form = None
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        self.apply_button.setEnabled(on and self._principal.role.can_trade())
        self.revert_button.setEnabled(on)
