"""Column types that keep money exact and time zones honest on every backend.

SQLite has no decimal type: SQLAlchemy's ``Numeric`` goes through ``float`` there, which
would silently turn ``0.1`` into ``0.1000000000000000055...``. ``ExactDecimal`` stores the
canonical decimal string as TEXT on SQLite and uses PostgreSQL's unconstrained
``NUMERIC`` (arbitrary precision) elsewhere. Nothing is rounded: a fee of
``notional * 0.00075`` on a 12-decimal lot has ~20 decimals, and a book read back must
equal the sum of its fills to the last digit.

SQLite also forgets time zones; ``UtcDateTime`` only accepts aware datetimes, stores UTC
and hands back aware UTC datetimes on every backend.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Numeric, Text
from sqlalchemy.types import TypeDecorator, TypeEngine

#: The most significant digits a stored value may have, and its largest magnitude.
MAX_DIGITS = 60
_LIMIT = Decimal(10) ** 30
_CONTEXT = Context(prec=MAX_DIGITS + 10, rounding=ROUND_HALF_EVEN)
_DECIMAL_TAG = "$decimal"


def canonical_decimal(value: Decimal) -> Decimal:
    """Drop trailing zeros (no exponent notation) without changing the value.

    Both backends return the same ``Decimal`` (same value *and* same ``str``), so a
    balance read back prints as the trader typed it rather than as ``1.100000000000000000``.
    """
    if not value.is_finite():
        raise ValueError(f"cannot store the non-finite decimal {value}")
    if value.copy_abs() >= _LIMIT:  # copy_abs: abs() would round to 28 digits
        raise ValueError(f"decimal {value} does not fit: magnitude must stay below 1E+30")
    normal = _CONTEXT.normalize(value)
    if len(normal.as_tuple().digits) > MAX_DIGITS:
        raise ValueError(f"decimal {value} does not fit: more than {MAX_DIGITS} digits")
    if normal.as_tuple().exponent > 0:  # type: ignore[operator]
        normal = normal.quantize(Decimal(1), context=_CONTEXT)
    return normal


class ExactDecimal(TypeDecorator[Decimal]):
    """A ``Decimal`` column that never passes through ``float`` and never rounds."""

    impl = Numeric(asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money columns take Decimal, got {type(value).__name__}")
        exact = canonical_decimal(value)
        return format(exact, "f") if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):  # pragma: no cover - would mean a misconfigured column
            raise TypeError("a money column came back as float; refusing to lose precision")
        try:
            return canonical_decimal(Decimal(value))
        except InvalidOperation as exc:  # pragma: no cover - only a corrupted row
            raise ValueError(f"stored money value {value!r} is not a decimal") from exc


class UtcDateTime(TypeDecorator[datetime]):
    """An aware timestamp: naive datetimes are refused, results are always UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing the naive datetime {value.isoformat()}: give a time zone")
        utc = value.astimezone(UTC)
        # SQLite stores text without an offset: store UTC wall time, re-attach UTC on read.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _encode(value: object) -> object:
    if isinstance(value, Decimal):
        return {_DECIMAL_TAG: format(value, "f")}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: object) -> object:
    if isinstance(value, dict):
        if set(value) == {_DECIMAL_TAG}:
            return Decimal(value[_DECIMAL_TAG])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class JsonDocument(TypeDecorator[Any]):
    """JSON that keeps ``Decimal`` values exact (tagged as strings) instead of floats.

    Strategy parameters and task configs may hold prices; a plain JSON column would either
    refuse a ``Decimal`` or round it through ``float``.
    """

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        encoded = _encode(value)
        json.dumps(encoded)  # fail here, naming the value's type, rather than in the driver
        return encoded

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else _decode(value)


__all__ = ["ExactDecimal", "JsonDocument", "UtcDateTime", "canonical_decimal"]
