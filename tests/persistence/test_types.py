"""Money stays exact and timestamps stay aware, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from task_station.domain.balances import Balance
from task_station.domain.errors import ValidationError
from task_station.domain.ports import PortfolioSnapshot
from task_station.persistence import Database
from task_station.persistence.types import canonical_decimal

from .factories import BIG, PLUS_TWO, T0

# Literals, not ``-LIMIT``: unary minus would round to the context's 28 digits.
LIMIT = Decimal("99999999999999999999.999999999999999999")
NEGATIVE_LIMIT = Decimal("-99999999999999999999.999999999999999999")
money = st.decimals(
    min_value=NEGATIVE_LIMIT, max_value=LIMIT, places=18, allow_nan=False, allow_infinity=False
)


def _round_trip(database: Database, value: Decimal) -> Decimal:
    snapshot = PortfolioSnapshot(
        bot_id="prop", balances=(Balance("BTC", value, value),), positions=()
    )
    database.portfolio.save(snapshot, T0)
    loaded = database.portfolio.load("prop")
    assert loaded is not None
    return loaded.balances[0].total


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=money)
def test_decimal_with_18_places_round_trips_exactly(
    module_database: Database, value: Decimal
) -> None:
    back = _round_trip(module_database, value)
    assert back == value
    assert str(back) == str(canonical_decimal(value))


@pytest.mark.parametrize(
    "value",
    [BIG, Decimal("0.000000000000000001"), Decimal("-1E+19"), Decimal("0"), Decimal("0.1")],
)
def test_decimal_edge_values_round_trip_exactly(database: Database, value: Decimal) -> None:
    assert _round_trip(database, value) == value


@pytest.mark.parametrize(
    "value",
    [
        Decimal("1.0000000000000000005"),  # beyond 18 places: kept, not rounded
        Decimal("0.000000000000000000000000000001"),
        Decimal("123456789.12345678901234567890123"),
    ],
)
def test_decimal_beyond_18_places_round_trips_without_rounding(
    database: Database, value: Decimal
) -> None:
    assert _round_trip(database, value) == value


def test_decimal_too_large_raises_validation_error(database: Database) -> None:
    with pytest.raises(ValidationError, match="does not fit"):
        _round_trip(database, Decimal("1E+30"))
    assert database.portfolio.load("prop") is None


def test_decimal_nan_raises_validation_error(database: Database) -> None:
    with pytest.raises(ValidationError, match="non-finite"):
        _round_trip(database, Decimal("NaN"))


def test_canonical_decimal_trailing_zeros_dropped_without_exponent() -> None:
    assert str(canonical_decimal(Decimal("1.100000000000000000"))) == "1.1"
    assert str(canonical_decimal(Decimal("1E+3"))) == "1000"
    tiny = canonical_decimal(Decimal("-0.000000000000000001000"))
    assert format(tiny, "f") == "-0.000000000000000001"


def test_aware_datetime_in_other_zone_comes_back_utc(database: Database) -> None:
    when = datetime(2025, 6, 1, 14, 30, 15, 654321, tzinfo=PLUS_TWO)
    database.audit.record(when, "alice", "login", "session")
    (entry,) = database.audit.list_recent(1)
    assert entry.ts == when
    assert entry.ts.tzinfo is UTC
    assert entry.ts.hour == 12


def test_naive_datetime_raises_validation_error(database: Database) -> None:
    with pytest.raises(ValidationError, match="naive datetime"):
        database.audit.record(datetime(2025, 1, 1), "alice", "login", "session")
    assert database.audit.list_recent() == []
