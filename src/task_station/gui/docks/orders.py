"""The recent orders of every bot, newest first, as the order service lists them."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from task_station.domain.events import OrderDenied, OrderFilled, OrderUpdated
from task_station.domain.orders import Order, OrderSide, OrderStatus
from task_station.engine.bus import EventBus
from task_station.gui.docks.base import TableDock
from task_station.gui.formatting import DASH, fmt_money, fmt_qty, fmt_time
from task_station.gui.palette import COLORS
from task_station.gui.table_model import Column
from task_station.services.bots import BotService
from task_station.services.trading import OrderService

_STATUS_COLOUR = {
    OrderStatus.FILLED: COLORS["teal"],
    OrderStatus.PARTIALLY_FILLED: COLORS["accent"],
    OrderStatus.DENIED: COLORS["rust"],
    OrderStatus.REJECTED: COLORS["rust"],
}


def quantity_text(order: Order) -> str:
    """Base quantity; a quote-sized market buy shows what it filled, or its budget."""
    if order.quantity is not None:
        return fmt_qty(order.quantity)
    if order.filled_quantity > 0:
        return fmt_qty(order.filled_quantity)
    quote = order.symbol.split("/")[-1]
    return f"{fmt_money(order.quote_quantity)} {quote}"


def _side_colour(order: Order) -> str:
    return COLORS["teal"] if order.side is OrderSide.BUY else COLORS["rust"]


class OrdersDock(TableDock[Order]):
    """Reloads on order events; shows ``OrderService.list()`` (its default limit)."""

    def __init__(
        self, orders: OrderService, bots: BotService, bus: EventBus, parent: QWidget | None = None
    ) -> None:
        names: dict[str, str] = {}  # filled by load(); the Bot column reads it
        columns: list[Column[Order]] = [
            Column("Time", lambda o: fmt_time(o.updated_at or o.created_at)),
            Column("Bot", lambda o: names.get(o.bot_id or "", o.bot_id or DASH)),
            Column("Side", lambda o: o.side.value, _side_colour),
            Column("Type", lambda o: o.type.value),
            Column("Qty", quantity_text, numeric=True),
            Column("Avg price", lambda o: fmt_money(o.average_price), numeric=True),
            Column(
                "Status",
                lambda o: o.status.value,
                lambda o: _STATUS_COLOUR.get(o.status, COLORS["text_dim"]),
            ),
            Column("Fees", lambda o: fmt_money(o.fees, 4), numeric=True),
        ]
        super().__init__(
            "Orders", "ordersDock", bus, columns, key=lambda o: o.client_order_id, parent=parent
        )
        self._bot_names = names
        self._orders = orders
        self._bots = bots
        self.setWidget(self.view)
        for event_type in (OrderUpdated, OrderFilled, OrderDenied):
            self.link.on(event_type, self.refresh_soon)
        self.refresh()

    def load(self) -> list[Order]:
        self._bot_names.clear()
        self._bot_names.update({bot.id: bot.name for bot in self._bots.list()})
        return self._orders.list()
