"""The dock widgets around the chart: bots, orders and portfolio books."""

from task_station.gui.docks.bots import BotsDock
from task_station.gui.docks.orders import OrdersDock
from task_station.gui.docks.portfolio import PortfolioDock

__all__ = ["BotsDock", "OrdersDock", "PortfolioDock"]
