from __future__ import annotations

from decimal import Decimal

import pytest

from task_station.domain.balances import Balance
from task_station.domain.errors import InsufficientFunds, ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import quantize_down, to_decimal


def test_floats_become_the_decimal_they_print_as() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal("12.50") == Decimal("12.50")


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", True, None, [1]])
def test_non_numbers_are_refused_with_the_field_name(bad: object) -> None:
    with pytest.raises(ValidationError, match="price"):
        to_decimal(bad, name="price")


def test_quantize_down_never_rounds_up() -> None:
    assert quantize_down(Decimal("1.23999"), Decimal("0.01")) == Decimal("1.23")


def test_instrument_limits_name_the_problem() -> None:
    inst = Instrument.from_symbol("BTC/USDT", min_size=Decimal("0.001"), min_notional=Decimal("10"))
    with pytest.raises(ValidationError, match="below the venue minimum 0.001"):
        inst.check_order(Decimal("0.0001"), Decimal("50000"))
    with pytest.raises(ValidationError, match="order value"):
        inst.check_order(Decimal("0.001"), Decimal("5000"))
    with pytest.raises(ValidationError, match="must be positive"):
        inst.check_order(Decimal("-1"), None)


def test_bad_symbol_is_refused() -> None:
    with pytest.raises(ValidationError, match="BASE/QUOTE"):
        Instrument.from_symbol("BTCUSDT")


def test_balance_cannot_go_negative_or_overlock() -> None:
    bal = Balance("USDT", Decimal("100"))
    with pytest.raises(InsufficientFunds, match="need 150"):
        bal.debit(Decimal("150"))
    locked = bal.lock(Decimal("60"))
    assert locked.free == Decimal("40")
    with pytest.raises(InsufficientFunds):
        locked.lock(Decimal("41"))


def test_numpy_numbers_convert_exactly_as_python_ones() -> None:
    import numpy as np

    assert to_decimal(np.float64(0.1)) == to_decimal(0.1) == Decimal("0.1")
    assert to_decimal(np.float32(0.5)) == Decimal("0.5")
    assert to_decimal(np.int64(7)) == Decimal(7)
    with pytest.raises(ValidationError, match="finite"):
        to_decimal(np.float64("nan"))
    with pytest.raises(ValidationError, match="boolean"):
        to_decimal(True)
