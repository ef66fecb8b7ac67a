"""In-memory stores honouring the ports of ``domain/ports.py``.

Backtests use them: a replay writes thousands of simulated orders that nobody needs on
disk. They follow the same contract as the SQL stores (conflicts, idempotent fills).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from task_station.domain.errors import ConflictError, NotFoundError
from task_station.domain.orders import Fill, Order, OrderStatus
from task_station.domain.ports import PortfolioSnapshot


class MemoryOrderStore:
    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._fills: list[Fill] = []
        self._trade_ids: set[str] = set()

    def add(self, order: Order) -> None:
        if order.client_order_id in self._orders:
            raise ConflictError(f"order {order.client_order_id} already exists")
        self._orders[order.client_order_id] = order

    def update(self, order: Order) -> None:
        if order.client_order_id not in self._orders:
            raise NotFoundError(f"order {order.client_order_id} does not exist")
        self._orders[order.client_order_id] = order

    def record_fill(self, order: Order, fill: Fill) -> None:
        if fill.trade_id in self._trade_ids:
            return
        self.update(order)
        self._trade_ids.add(fill.trade_id)
        self._fills.append(fill)

    def get(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def list(
        self,
        *,
        bot_id: str | None = None,
        statuses: Sequence[OrderStatus] | None = None,
        limit: int = 500,
    ) -> builtins.list[Order]:
        found = [
            o
            for o in reversed(self._orders.values())
            if (bot_id is None or o.bot_id == bot_id) and (statuses is None or o.status in statuses)
        ]
        return found[:limit]

    def list_fills(self, *, bot_id: str | None = None, limit: int = 5000) -> builtins.list[Fill]:
        return [f for f in self._fills if bot_id is None or f.bot_id == bot_id][:limit]


class MemoryPortfolioStore:
    def __init__(self) -> None:
        self._books: dict[str | None, PortfolioSnapshot] = {}

    def save(self, snapshot: PortfolioSnapshot, when: datetime) -> None:
        self._books[snapshot.bot_id] = snapshot

    def load(self, bot_id: str | None) -> PortfolioSnapshot | None:
        return self._books.get(bot_id)
