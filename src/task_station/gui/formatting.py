"""How numbers and times look in the tables: exact Decimals in, strings out.

Money is formatted straight from ``Decimal`` (never through float) so the text a trader
reads is the value the services hold, rounded half-even to the shown places.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

DASH = "—"


def _quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def fmt_money(value: Decimal | None, places: int = 2) -> str:
    """``12345.678`` -> ``"12,345.68"``; None -> a dash."""
    if value is None:
        return DASH
    return f"{_quantize(value, places):,.{places}f}"


def fmt_signed(value: Decimal | None, places: int = 2) -> str:
    """Like ``fmt_money`` with an explicit sign, for P&L."""
    if value is None:
        return DASH
    q = _quantize(value, places)
    return f"{q:+,.{places}f}" if q != 0 else f"{abs(q):,.{places}f}"


def fmt_qty(value: Decimal | None, places: int = 6) -> str:
    """Base quantities keep more places: ``0.27051234`` -> ``"0.270512"``."""
    return fmt_money(value, places)


def fmt_time(ts: datetime | None) -> str:
    """UTC, minute precision: the bars are hourly and traders compare with exchanges."""
    if ts is None:
        return DASH
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%d %H:%M")


def sign_of(value: Decimal | None) -> int:
    """-1, 0 or 1 (0 for None): picks the loss/flat/profit colour."""
    if value is None or value == 0:
        return 0
    return 1 if value > 0 else -1


def epoch_seconds(ts: datetime) -> float:
    """Seconds since the epoch for the chart's x axis; naive times are taken as UTC."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.timestamp()
