"""Exact decimal helpers.

Money is ``Decimal`` end to end. Floats coming from files are converted through their
shortest ``repr`` (what the exchange actually printed), never through their binary
expansion, so ``0.1`` stays ``Decimal("0.1")``.
"""

from __future__ import annotations

import numbers
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation

from task_station.domain.errors import ValidationError

ZERO = Decimal(0)
ONE = Decimal(1)
BPS = Decimal(10_000)


def to_decimal(value: object, *, name: str = "value") -> Decimal:
    """Convert ``value`` to a finite ``Decimal`` or raise ``ValidationError`` naming it."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValidationError(f"{name} must be a number, not a boolean")
    elif isinstance(value, numbers.Integral):  # int, and numpy's integers
        result = Decimal(int(value))
    elif isinstance(value, float | numbers.Real) and not isinstance(value, numbers.Rational):
        # float(): numpy 2's float64 is a float whose repr is "np.float64(...)"
        result = Decimal(repr(float(value)))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(f"{name} {value!r} is not a number") from None
    else:
        raise ValidationError(f"{name} must be a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValidationError(f"{name} must be a finite number, got {value!r}")
    return result


def quantize_down(value: Decimal, step: Decimal | None) -> Decimal:
    """Round ``value`` down to a multiple of ``step`` (no-op when ``step`` is None)."""
    if step is None or step == ZERO:
        return value
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def quantize_nearest(value: Decimal, step: Decimal | None) -> Decimal:
    """Round ``value`` to the nearest multiple of ``step`` (banker's rounding on ties)."""
    if step is None or step == ZERO:
        return value
    return (value / step).to_integral_value(rounding=ROUND_HALF_EVEN) * step


def bps_to_rate(bps: Decimal) -> Decimal:
    """Basis points to a fraction: 10 bps -> 0.001."""
    return bps / BPS
