"""Tradable instruments with their precision and limits."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from task_station.domain.errors import ValidationError
from task_station.domain.money import ZERO, quantize_down


@dataclass(frozen=True, slots=True)
class Instrument:
    """A spot pair on one venue.

    ``price_increment`` and ``size_increment`` are the venue's tick and lot steps; None
    means the venue accepts any decimal (a backtest on bare candles).
    """

    venue: str
    symbol: str
    base: str
    quote: str
    price_increment: Decimal | None = None
    size_increment: Decimal | None = None
    min_size: Decimal = ZERO
    min_notional: Decimal = ZERO

    def __post_init__(self) -> None:
        if not self.symbol or "/" not in self.symbol:
            raise ValidationError(f"symbol {self.symbol!r} must look like BASE/QUOTE")
        for name in ("price_increment", "size_increment"):
            step = getattr(self, name)
            if step is not None and step <= ZERO:
                raise ValidationError(f"{self.symbol}: {name} must be positive, got {step}")
        if self.min_size < ZERO or self.min_notional < ZERO:
            raise ValidationError(f"{self.symbol}: minimums cannot be negative")

    @classmethod
    def from_symbol(cls, symbol: str, venue: str = "paper", **limits: Decimal) -> Instrument:
        """Build an instrument from ``BASE/QUOTE``."""
        base, sep, quote = symbol.partition("/")
        if not sep or not base or not quote:
            raise ValidationError(f"symbol {symbol!r} must look like BASE/QUOTE")
        return cls(venue=venue, symbol=symbol, base=base, quote=quote, **limits)

    def round_size(self, size: Decimal) -> Decimal:
        """Round a size down to the lot step (never up: we must not spend what we lack)."""
        return quantize_down(size, self.size_increment)

    def check_order(self, size: Decimal, price: Decimal | None) -> None:
        """Raise ``ValidationError`` if an order of ``size`` at ``price`` breaks the limits."""
        if size <= ZERO:
            raise ValidationError(f"{self.symbol}: quantity must be positive, got {size}")
        if size < self.min_size:
            raise ValidationError(
                f"{self.symbol}: quantity {size} is below the venue minimum {self.min_size}"
            )
        if price is not None:
            if price <= ZERO:
                raise ValidationError(f"{self.symbol}: price must be positive, got {price}")
            if size * price < self.min_notional:
                raise ValidationError(
                    f"{self.symbol}: order value {size * price} {self.quote} is below the "
                    f"venue minimum {self.min_notional} {self.quote}"
                )
