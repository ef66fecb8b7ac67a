from __future__ import annotations

import pytest

from task_station.domain.errors import ValidationError
from task_station.strategies.registry import build_strategy, strategy_names


def test_string_parameters_are_parsed_to_their_declared_types() -> None:
    s = build_strategy("sma_cross", {"fast": "5", "slow": "21"})
    assert s.p == {"fast": 5, "slow": 21}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"fast": "x"}, "'fast' must be a whole number"),
        ({"fast": "0"}, "must be at least 1"),
        ({"fast": 30, "slow": 10}, "fast \\(30\\) must be smaller than slow"),
        ({"speed": 3}, "unknown parameter\\(s\\) speed; known: fast, slow"),
        ({"fast": True}, "whole number"),
    ],
)
def test_bad_parameters_are_refused_naming_the_problem(
    params: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        build_strategy("sma_cross", params)


def test_unknown_strategy_lists_the_available_ones() -> None:
    with pytest.raises(ValidationError, match="unknown strategy 'foo'; available: .*sma_cross"):
        build_strategy("foo", {})
    assert "sma_cross" in strategy_names()
