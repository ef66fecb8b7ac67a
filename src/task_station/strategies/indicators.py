"""Incremental indicators over exact decimals."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from task_station.domain.money import ZERO


class RollingSum:
    """Sum of the last ``window`` values, updated in O(1) and exact for decimals.

    Exactness needs the context precision to hold every partial sum; strategies that
    compare averages do so on sums (``sum_a * n_b`` vs ``sum_b * n_a``) under
    ``exact_context`` so a tie stays a tie.
    """

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.window = window
        self._values: deque[Decimal] = deque()
        self.total = ZERO

    def update(self, value: Decimal) -> None:
        self._values.append(value)
        self.total += value
        if len(self._values) > self.window:
            self.total -= self._values.popleft()

    @property
    def ready(self) -> bool:
        return len(self._values) == self.window

    @property
    def mean(self) -> Decimal:
        return self.total / self.window
