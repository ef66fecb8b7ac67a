"""Parameter handles: a bot's price-like parameters drawn on its chart, draggable.

A handle is a horizontal line bound to one parameter of a ``ParamForm``: dragging it
writes the parameter (rounded, clamped to the parameter's bounds), and editing the form
moves it. Some parameters are prices (a grid's ``lower`` and ``upper``); others are
distances from a reference price (a DCA's ``deviation`` below the entry, its
``take_profit`` above; the engine's stop-loss and take-profit percentages), drawn at
``reference x (1 -/+ value)``. Lines a parameter implies but no one drags (the grid's
inner levels, the DCA's later safety orders) are drawn dashed and follow along.

Which parameters get handles is data (``STRATEGY_HANDLES``, ``STOP_HANDLES``), so a new
strategy gets handles by adding a row, not a widget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import Enum

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal

from task_station.gui.palette import COLORS
from task_station.gui.param_form import ParamForm
from task_station.strategies.params import Param


class Anchor(Enum):
    PRICE = "price"  # the value is a price
    BELOW = "below"  # a fraction below the reference price
    ABOVE = "above"  # a fraction above it


@dataclass(frozen=True, slots=True)
class HandleSpec:
    param: str
    anchor: Anchor
    label: str
    color: str
    #: The value is in percent (5 = 5 %) rather than a fraction (0.05).
    percent: bool = False

    def price(self, value: Decimal, reference: Decimal | None) -> Decimal | None:
        """Where the line sits for ``value`` (None: nothing to draw)."""
        if value <= 0:
            return None  # 0 means "off" (no stop) or "automatic" (grid bounds)
        if self.anchor is Anchor.PRICE:
            return value
        if reference is None or reference <= 0:
            return None
        share = value / 100 if self.percent else value
        return reference * (1 - share) if self.anchor is Anchor.BELOW else reference * (1 + share)

    def value(self, price: Decimal, reference: Decimal | None) -> Decimal | None:
        """The parameter value that puts the line at ``price``."""
        if self.anchor is Anchor.PRICE:
            return price
        if reference is None or reference <= 0:
            return None
        share = (reference - price) / reference
        if self.anchor is Anchor.ABOVE:
            share = -share
        return share * 100 if self.percent else share


#: Handles per strategy (parameters of the strategy itself).
STRATEGY_HANDLES: Mapping[str, tuple[HandleSpec, ...]] = {
    "grid": (
        HandleSpec("lower", Anchor.PRICE, "grid low", COLORS["accent"]),
        HandleSpec("upper", Anchor.PRICE, "grid high", COLORS["accent"]),
    ),
    "dca": (
        HandleSpec("deviation", Anchor.BELOW, "first safety order", COLORS["teal"]),
        HandleSpec("take_profit", Anchor.ABOVE, "take profit", COLORS["accent"]),
    ),
}

#: The engine's position stops, which every bot may have (percent of the entry).
STOP_HANDLES: tuple[HandleSpec, ...] = (
    HandleSpec("stop_loss_pct", Anchor.BELOW, "stop loss", COLORS["rust"], percent=True),
    HandleSpec("take_profit_pct", Anchor.ABOVE, "take profit", COLORS["teal"], percent=True),
)


def _dec(value: object) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def grid_levels(values: Mapping[str, object]) -> list[Decimal]:
    """The grid's price levels (what ``grid`` will rest orders at)."""
    lower, upper = _dec(values.get("lower")), _dec(values.get("upper"))
    levels = values.get("levels")
    if lower is None or upper is None or not isinstance(levels, int) or levels < 2:
        return []
    if not 0 < lower < upper:
        return []
    if values.get("spacing") == "geometric":
        ratio = upper / lower
        return [lower * ratio ** (Decimal(i) / (levels - 1)) for i in range(levels)]
    step = (upper - lower) / (levels - 1)
    return [lower + step * i for i in range(levels)]


def dca_safety_prices(values: Mapping[str, object], reference: Decimal | None) -> list[Decimal]:
    """Where the DCA's safety orders would rest below a base buy at ``reference``."""
    deviation, scale = _dec(values.get("deviation")), _dec(values.get("step_scale"))
    count = values.get("max_safety_orders")
    if reference is None or deviation is None or scale is None or not isinstance(count, int):
        return []
    prices, drop, step = [], Decimal(0), deviation
    for _ in range(count):
        drop += step
        if drop >= 1:
            break
        prices.append(reference * (1 - drop))
        step *= scale
    return prices


#: Lines implied by the parameters, drawn dashed (strategy -> values, reference -> prices).
DERIVED: Mapping[str, Callable[[Mapping[str, object], Decimal | None], list[Decimal]]] = {
    "grid": lambda values, _ref: grid_levels(values),
    "dca": dca_safety_prices,
}


def quantize_like(value: Decimal, reference: Decimal | None, digits: int = 6) -> Decimal:
    """Round a dragged value to ``digits`` significant digits of the reference scale
    (a drag cannot be more precise than a pixel, and long tails are noise)."""
    scale = abs(reference) if reference else abs(value)
    if scale == 0:
        return value
    exponent = scale.adjusted() - digits + 1
    return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)


class ParamHandles(QObject):
    """Binds ``form``'s parameters to lines on ``plot``; see the module docstring.

    ``stops_form`` (optional) holds the engine's stop-loss/take-profit percentages.
    ``changed(name)`` is emitted after a drag wrote parameter ``name``.
    """

    changed = Signal(str)

    def __init__(
        self,
        plot: pg.PlotItem,
        strategy: str,
        schema: Sequence[Param],
        form: ParamForm,
        *,
        stops_form: ParamForm | None = None,
        stops_schema: Sequence[Param] = (),
        reference: Decimal | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._plot = plot
        self._strategy = strategy
        self._reference = reference
        self._forms: dict[str, tuple[ParamForm, Param, HandleSpec]] = {}
        names = {p.name: p for p in schema}
        for spec in STRATEGY_HANDLES.get(strategy, ()):
            if spec.param in names:
                self._forms[spec.param] = (form, names[spec.param], spec)
        stop_names = {p.name: p for p in stops_schema}
        if stops_form is not None:
            for spec in STOP_HANDLES:
                if spec.param in stop_names:
                    self._forms[spec.param] = (stops_form, stop_names[spec.param], spec)
        self._form = form
        self.lines: dict[str, pg.InfiniteLine] = {}
        self.derived: list[pg.InfiniteLine] = []
        self._syncing = False
        for name, (_, _, spec) in self._forms.items():
            line = pg.InfiniteLine(
                angle=0,
                movable=True,
                pen=pg.mkPen(spec.color, width=2),
                hoverPen=pg.mkPen(COLORS["text"], width=3),
                label=spec.label + " {value:.6g}",
                labelOpts={
                    "position": 0.12,
                    "color": spec.color,
                    "movable": False,
                    "anchors": [(0, 1), (0, 1)],
                },
            )
            line.setZValue(20)
            # a bound method, not a lambda: Qt would keep a lambda (and through it this
            # object, its plot and the plot's menus) alive as long as the line
            line.sigPositionChanged.connect(self._on_line_moved)
            plot.addItem(line, ignoreBounds=True)
            self.lines[name] = line
        form.changed.connect(self.sync_from_form)
        if stops_form is not None and stops_form is not form:
            stops_form.changed.connect(self.sync_from_form)
        self.sync_from_form()

    @property
    def handled(self) -> list[str]:
        """The parameters drawn as draggable lines."""
        return list(self.lines)

    def set_reference(self, price: Decimal | None) -> None:
        """The price relative handles measure from (the last close, or the entry)."""
        self._reference = price
        self.sync_from_form()

    def line_price(self, name: str) -> float | None:
        line = self.lines[name]
        return float(line.value()) if line.isVisible() else None

    def drag_to(self, name: str, price: float) -> None:
        """Move a handle as a drag would (tests and keyboard nudges use it)."""
        self.lines[name].setValue(price)

    def remove(self) -> None:
        for line in self.lines.values():
            line.sigPositionChanged.disconnect(self._on_line_moved)
        for line in [*self.lines.values(), *self.derived]:
            self._plot.removeItem(line)
        self.lines.clear()
        self.derived.clear()

    # -- both directions -------------------------------------------------------------

    def sync_from_form(self) -> None:
        """Form -> lines: place every handle at its parameter's value."""
        if self._syncing:
            return
        self._syncing = True
        try:
            for name, (form, _, spec) in self._forms.items():
                value = _dec(form.value(name))
                price = None if value is None else spec.price(value, self._reference)
                line = self.lines[name]
                line.setVisible(price is not None)
                if price is not None:
                    line.setValue(float(price))
            self._draw_derived()
        finally:
            self._syncing = False

    def _on_line_moved(self, line: pg.InfiniteLine) -> None:
        for name, candidate in self.lines.items():
            if candidate is line:
                self._on_drag(name, line)
                return

    def _on_drag(self, name: str, line: pg.InfiniteLine) -> None:
        """Line -> form: the dragged price becomes the parameter (within its bounds)."""
        if self._syncing:
            return
        form, param, spec = self._forms[name]
        value = spec.value(Decimal(repr(float(line.value()))), self._reference)
        if value is None:
            return
        if param.kind is int:
            written: object = int(value.to_integral_value())
        else:
            if spec.anchor is Anchor.PRICE:
                written = quantize_like(value, self._reference)
            else:  # a distance: hundredths of a percent are as fine as a drag gets
                step = Decimal("0.01") if spec.percent else Decimal("0.0001")
                written = Decimal(f"{value.quantize(step, rounding=ROUND_HALF_EVEN).normalize():f}")
        low, high = param.minimum, param.maximum
        if low is not None and written < low:  # type: ignore[operator]
            written = low
        if high is not None and written > high:  # type: ignore[operator]
            written = high
        self._syncing = True
        try:
            form.set_values({name: written})
        finally:
            self._syncing = False
        self.sync_from_form()  # snaps the line to what the form accepted
        self.changed.emit(name)

    def _draw_derived(self) -> None:
        """The implied lines, moved in place when their number stays (every new bar moves
        the reference: recreating them each time would churn the scene)."""
        derive = DERIVED.get(self._strategy)
        prices = [] if derive is None else derive(self._form.values(), self._reference)
        if len(prices) != len(self.derived):
            for line in self.derived:
                self._plot.removeItem(line)
            pen = pg.mkPen(COLORS["accent_dim"], width=1, style=Qt.PenStyle.DashLine)
            self.derived = [pg.InfiniteLine(angle=0, movable=False, pen=pen) for _ in prices]
            for line in self.derived:
                line.setZValue(15)
                self._plot.addItem(line, ignoreBounds=True)
        for line, price in zip(self.derived, prices, strict=True):
            line.setValue(float(price))
