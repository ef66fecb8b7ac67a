"""Balances per asset, split into free and locked.

A resting order locks what it may spend, so two orders cannot promise the same money and
a fill can always be paid. Every change moves an exact ``Decimal`` between the two
columns or in/out of the account; the sum ``free + locked`` changes only by fills and fees.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from task_station.domain.money import ZERO


class Ledger:
    """Free and locked amounts per asset."""

    __slots__ = ("free", "locked")

    def __init__(self, balances: Mapping[str, Decimal]) -> None:
        self.free: dict[str, Decimal] = dict(balances)
        self.locked: dict[str, Decimal] = {}

    def available(self, asset: str) -> Decimal:
        return self.free.get(asset, ZERO)

    def lock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from free to locked (the caller checked it is available)."""
        self.free[asset] = self.free.get(asset, ZERO) - amount
        self.locked[asset] = self.locked.get(asset, ZERO) + amount

    def release(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` back from locked to free."""
        self.locked[asset] = self.locked.get(asset, ZERO) - amount
        self.free[asset] = self.free.get(asset, ZERO) + amount

    def spend_locked(self, asset: str, amount: Decimal) -> None:
        """Pay ``amount`` out of the locked column (a sell delivering its base)."""
        self.locked[asset] = self.locked.get(asset, ZERO) - amount

    def credit(self, asset: str, amount: Decimal) -> None:
        self.free[asset] = self.free.get(asset, ZERO) + amount

    def debit(self, asset: str, amount: Decimal) -> None:
        self.free[asset] = self.free.get(asset, ZERO) - amount

    def totals(self) -> dict[str, Decimal]:
        """Free plus locked per asset: what the account owns."""
        assets = self.free.keys() | self.locked.keys()
        return {a: self.free.get(a, ZERO) + self.locked.get(a, ZERO) for a in sorted(assets)}

    def describe(self, asset: str) -> str:
        """A trader-readable account line for rejection messages."""
        locked = self.locked.get(asset, ZERO)
        text = f"{self.available(asset)} {asset} is free"
        return f"{text} ({locked} locked in open orders)" if locked else text
