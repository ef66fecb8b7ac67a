"""Balances per asset, with the part reserved by open orders."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from task_station.domain.errors import InsufficientFunds
from task_station.domain.fast_init import fast_init
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
        return Balance(self.asset, self.total + amount, self.locked)

    def debit(self, amount: Decimal) -> Balance:
        if amount > self.total:
            raise InsufficientFunds(
                f"{self.asset}: need {amount}, have {self.total}; deposit more or reduce size"
            )
        return Balance(self.asset, self.total - amount, self.locked)

    def lock(self, amount: Decimal) -> Balance:
        if amount > self.free:
            raise InsufficientFunds(
                f"{self.asset}: order needs {amount} but only {self.free} is free"
            )
        return Balance(self.asset, self.total, self.locked + amount)

    def unlock(self, amount: Decimal) -> Balance:
        return Balance(self.asset, self.total, max(ZERO, self.locked - amount))


fast_init(Balance)  # one per fill and asset (domain/fast_init.py)
