"""``Param.step``: values must sit on the grid counted from the minimum (or from 0)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from task_station.domain.errors import ValidationError
from task_station.strategies.params import Param
from task_station.strategies.registry import BUILTIN


def test_values_on_the_step_grid_are_accepted_and_others_refused() -> None:
    k = Param("k", Decimal, Decimal(2), "width", minimum=Decimal("0.5"), step=Decimal("0.25"))
    assert k.parse("1.75", "s") == Decimal("1.75")
    with pytest.raises(ValidationError, match="'k' must be 0.5 plus a multiple of 0.25, got 1.8"):
        k.parse("1.8", "s")
    n = Param("n", int, 10, "bars", step=5)
    assert n.parse("15", "s") == 15
    with pytest.raises(ValidationError, match="must be 0 plus a multiple of 5, got 12"):
        n.parse(12, "s")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": bool, "default": True, "step": 1}, "only numbers can have a step"),
        ({"kind": int, "default": 1, "step": Decimal("0.5")}, "a whole-number step is needed"),
        ({"kind": Decimal, "default": Decimal(1), "step": Decimal(0)}, "step must be positive"),
    ],
)
def test_a_bad_step_is_refused_when_declared(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Param("p", description="x", **kwargs)  # type: ignore[arg-type]


def test_every_builtin_default_is_valid_and_on_its_grid() -> None:
    for name, cls in BUILTIN.items():
        for p in cls.params:
            assert p.parse(p.default, name) == p.default
        cls({})  # the defaults pass the cross-parameter checks too
