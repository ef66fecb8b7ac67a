"""Exact integer representation of prices and sizes.

The hot path compares and adds plain ``int`` ticks and lots instead of ``Decimal``: a
power-of-ten scale taken from the instrument's increment makes the conversion exact, so
nothing is lost and results go back out as ``Decimal``.
"""

from __future__ import annotations

from decimal import Decimal

#: Exponent used when the instrument declares no increment (a backtest on bare candles);
#: the same resolution as the v1 paper venue's default lot step.
DEFAULT_EXPONENT = -12


def plain(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (``1E+2``)."""
    value = value.normalize()
    return value.quantize(1) if value.as_tuple().exponent > 0 else value  # type: ignore[operator]


class Scale:
    """Convert between ``Decimal`` and integer multiples of ``10**exponent``."""

    __slots__ = ("_cache", "_keep_zeros", "exponent", "step")

    def __init__(self, step: Decimal | None) -> None:
        self.step = step
        if step is None:
            self.exponent = DEFAULT_EXPONENT
        else:
            exp = step.normalize().as_tuple().exponent
            assert isinstance(exp, int)
            self.exponent = min(exp, 0)
        self._keep_zeros = step is not None
        self._cache: dict[int, Decimal] = {}  # a book reuses few price levels

    def to_int(self, value: Decimal) -> int:
        """Exact ticks of ``value``; ``ValueError`` if it is finer than the scale."""
        scaled = value.scaleb(-self.exponent)
        as_int = int(scaled)
        if as_int != scaled:
            raise ValueError(f"{value} has more decimals than 1e{self.exponent}")
        return as_int

    def to_int_down(self, value: Decimal) -> int:
        """Ticks of ``value`` rounded toward zero (sizes we must not exceed)."""
        return int(value.scaleb(-self.exponent))

    def to_dec(self, ticks: int) -> Decimal:
        """``ticks`` back as a ``Decimal`` with the instrument's own number of decimals."""
        value = self._cache.get(ticks)
        if value is None:
            value = Decimal(ticks).scaleb(self.exponent)
            if not self._keep_zeros:
                value = plain(value)
            if len(self._cache) < 4096:
                self._cache[ticks] = value
        return value

    def is_aligned(self, value: Decimal) -> bool:
        """True if ``value`` is a whole multiple of the instrument's increment."""
        if self.step is None:
            return True
        return value % self.step == 0
