"""Balances per asset, with the part reserved by open orders."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from task_station.domain.errors import InsufficientFunds
from task_station.domain.money import ZERO


@dataclass(frozen=True, slots=True)
class Balance:
    """Holdings of one asset: ``total`` of which ``locked`` is reserved by open orders."""

    asset: str
    total: Decimal = ZERO
    locked: Decimal = ZERO

    @property
    def free(self) -> Decimal:
        return self.total - self.locked

    def credit(self, amount: Decimal) -> Balance:
        return replace(self, total=self.total + amount)

    def debit(self, amount: Decimal) -> Balance:
        if amount > self.total:
            raise InsufficientFunds(
                f"{self.asset}: need {amount}, have {self.total}; deposit more or reduce size"
            )
        return replace(self, total=self.total - amount)

    def lock(self, amount: Decimal) -> Balance:
        if amount > self.free:
            raise InsufficientFunds(
                f"{self.asset}: order needs {amount} but only {self.free} is free"
            )
        return replace(self, locked=self.locked + amount)

    def unlock(self, amount: Decimal) -> Balance:
        return replace(self, locked=max(ZERO, self.locked - amount))
