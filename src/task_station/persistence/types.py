"""Column types that keep money exact and time zones honest on every backend.

SQLite has no decimal type: SQLAlchemy's ``Numeric`` goes through ``float`` there, which
would silently turn ``0.1`` into ``0.1000000000000000055...``. ``ExactDecimal`` stores the
canonical decimal string as TEXT on SQLite and uses ``NUMERIC(38, 18)`` elsewhere, and it
rounds to 18 places *before* binding so both backends store the same value.

SQLite also forgets time zones; ``UtcDateTime`` only accepts aware datetimes, stores UTC
and hands back aware UTC datetimes on every backend.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

#: Digits in total and after the point; ``10**20`` is far above any balance or price.
PRECISION = 38
SCALE = 18
_QUANTUM = Decimal(1).scaleb(-SCALE)
_LIMIT = Decimal(10) ** (PRECISION - SCALE)
# Wide enough that quantizing a 38-digit value never rounds in the wrong place.
_CONTEXT = Context(prec=PRECISION + 10, rounding=ROUND_HALF_EVEN)
_DECIMAL_TAG = "$decimal"


def canonical_decimal(value: Decimal) -> Decimal:
    """Round to the stored scale and drop trailing zeros, without exponent notation.

    Both backends return the same ``Decimal`` (same value *and* same ``str``), so a
    balance read back prints as the trader typed it rather than as ``1.100000000000000000``.
    """
    if not value.is_finite():
        raise ValueError(f"cannot store the non-finite decimal {value}")
    rounded = value.quantize(_QUANTUM, context=_CONTEXT)
    if rounded.copy_abs() >= _LIMIT:  # copy_abs: abs() would round to 28 digits
        raise ValueError(f"decimal {value} does not fit NUMERIC({PRECISION}, {SCALE})")
    normal = _CONTEXT.normalize(rounded)
    if normal.as_tuple().exponent > 0:  # type: ignore[operator]
        normal = normal.quantize(Decimal(1), context=_CONTEXT)
    return normal


class ExactDecimal(TypeDecorator[Decimal]):
    """A ``Decimal`` column that never passes through ``float``."""

    impl = Numeric(PRECISION, SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(PRECISION + 4))
        return dialect.type_descriptor(Numeric(PRECISION, SCALE, asdecimal=True))

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
