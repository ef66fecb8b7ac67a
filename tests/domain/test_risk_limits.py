"""Risk limits and position stops: what is refused, with a message that says how to fix it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from task_station.domain.errors import ValidationError
from task_station.domain.risk import (
    DEFAULT_PAUSE_ON,
    RISK_PARAMS_KEY,
    KillSwitchState,
    PositionStops,
    RiskLimitKind,
    RiskLimits,
    join_bot_params,
    split_bot_params,
)


def test_no_limit_is_the_default_and_loss_limits_pause() -> None:
    limits = RiskLimits()
    assert limits.is_empty
    assert limits.pause_on == DEFAULT_PAUSE_ON
    assert limits.pauses(RiskLimitKind.MAX_DAILY_LOSS)
    assert limits.pauses(RiskLimitKind.MAX_DRAWDOWN)
    assert not limits.pauses(RiskLimitKind.MAX_ORDER_NOTIONAL)


def test_numbers_from_json_become_exact_decimals_and_ints() -> None:
    limits = RiskLimits.from_mapping(
        {
            "max_position": "1.5",
            "max_order_notional": 10000,
            "max_daily_loss": 0.1,
            "max_drawdown": "0.2",
            "max_open_orders": "3",
            "max_orders_per_minute": 10,
            "pause_on": ["max_daily_loss"],
        }
    )
    assert limits.max_position == Decimal("1.5")
    assert limits.max_order_notional == Decimal(10000)
    assert limits.max_daily_loss == Decimal("0.1")  # not 0.1000000000000000055...
    assert limits.max_open_orders == 3
    assert limits.pause_on == frozenset({RiskLimitKind.MAX_DAILY_LOSS})
    assert RiskLimits.from_mapping(limits.to_mapping()) == limits


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"max_position": "-1"}, "max_position must be positive, got -1; leave it empty"),
        ({"max_order_notional": "0"}, "max_order_notional must be positive"),
        ({"max_daily_loss": "lots"}, "max_daily_loss 'lots' is not a number"),
        ({"max_drawdown": "20"}, r"fraction of peak equity below 1 \(0.2 = 20 %\), got 20"),
        ({"max_open_orders": 0}, "at least 1, got 0; to stop all trading use the kill switch"),
        ({"max_orders_per_minute": "2.5"}, "must be a whole number, got 2.5"),
        ({"max_open_orders": True}, "must be a whole number"),
        ({"max_postion": "1"}, "unknown risk limit field.*max_postion; use"),
        ({"pause_on": ["max_loss"]}, "pause_on: unknown limit 'max_loss'; use some of"),
        ({"pause_on": "max_drawdown"}, "pause_on must be a list"),
    ],
)
def test_bad_limits_are_refused_naming_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RiskLimits.from_mapping(data)


def test_stops_are_percentages_of_entry() -> None:
    stops = PositionStops.from_mapping({"stop_loss_pct": "5", "trailing_stop_pct": 2.5})
    assert stops.stop_loss_pct == Decimal(5)
    assert stops.trailing_stop_pct == Decimal("2.5")
    assert stops.take_profit_pct is None
    assert PositionStops(take_profit_pct=Decimal(150)).take_profit_pct == 150  # may exceed 100
    assert PositionStops().is_empty


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"stop_loss_pct": "100"}, r"stop_loss_pct is a percentage of the entry price below 100"),
        ({"trailing_stop_pct": "-1"}, "trailing_stop_pct must be positive"),
        ({"take_profit": "5"}, "unknown position stop field.*take_profit; use"),
    ],
)
def test_bad_stops_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PositionStops.from_mapping(data)


def test_bot_params_carry_limits_without_touching_strategy_params() -> None:
    limits = RiskLimits(max_order_notional=Decimal("500"), max_open_orders=2)
    stops = PositionStops(stop_loss_pct=Decimal(3))
    params = join_bot_params({"fast": 3, "slow": 8}, limits, stops)
    assert params[RISK_PARAMS_KEY] == {
        "limits": {"max_order_notional": "500", "max_open_orders": 2},
        "stops": {"stop_loss_pct": "3"},
    }
    strategy, back_limits, back_stops = split_bot_params(params)
    assert strategy == {"fast": 3, "slow": 8}
    assert (back_limits, back_stops) == (limits, stops)
    # a bot without limits stores exactly its strategy parameters
    assert join_bot_params({"fast": 3}, RiskLimits(), PositionStops()) == {"fast": 3}
    with pytest.raises(ValidationError, match="unknown bot risk field"):
        split_bot_params({RISK_PARAMS_KEY: {"limit": {}}})


def test_kill_switch_state_says_who_when_and_why() -> None:
    state = KillSwitchState(True, "ann", "exchange outage", datetime(2024, 5, 1, 12, tzinfo=UTC))
    assert state.describe() == (
        "kill switch engaged by ann at 2024-05-01 12:00:00 UTC: exchange outage"
    )
    assert KillSwitchState().describe() == "kill switch released"
