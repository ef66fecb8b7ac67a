"""A bot's lifecycle status and feed position, and the kill switch, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from task_station.domain.bots import BotStatus
from task_station.domain.errors import NotFoundError
from task_station.domain.risk import KillSwitchState, RiskMarks
from task_station.persistence import Database

from .factories import bot


@pytest.mark.parametrize(
    "path",
    [
        (BotStatus.STARTING, BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.STOPPING),
        (BotStatus.STARTING, BotStatus.PAUSED, BotStatus.RUNNING, BotStatus.FINISHED),
        (BotStatus.STARTING, BotStatus.ERROR, BotStatus.STARTING, BotStatus.STOPPED),
    ],
)
def test_every_lifecycle_status_is_stored(database: Database, path: tuple[BotStatus, ...]) -> None:
    current = bot()
    database.bots.add(current)
    for status in path:
        current = current.with_status(status, f"now {status.value}")
        database.bots.update(current)
        assert database.bots.get(current.id) == current


def test_progress_starts_at_zero_and_survives_definition_updates(database: Database) -> None:
    definition = bot()
    database.bots.add(definition)
    assert database.bots.progress(definition.id) == 0
    database.bots.save_progress(definition.id, 1234)
    database.bots.update(definition.with_status(BotStatus.STARTING))  # never touches it
    assert database.bots.progress(definition.id) == 1234


def test_progress_of_an_unknown_bot_raises_not_found(database: Database) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        database.bots.save_progress("ghost", 3)
    with pytest.raises(NotFoundError, match="does not exist"):
        database.bots.progress("ghost")


def test_kill_switch_is_none_until_stored_then_round_trips(database: Database) -> None:
    assert database.kill_switch.load() is None
    since = datetime(2026, 3, 1, 12, 30, 5, 123000, tzinfo=UTC)
    engaged = KillSwitchState(True, "admin", "exchange outage: ĉu ne?", since)
    database.kill_switch.save(engaged)
    assert database.kill_switch.load() == engaged
    released = KillSwitchState(False, "root", None, datetime(2026, 3, 1, 13, tzinfo=UTC))
    database.kill_switch.save(released)
    assert database.kill_switch.load() == released


def test_risk_marks_round_trip_exactly_and_survive_definition_updates(
    database: Database,
) -> None:
    definition = bot()
    database.bots.add(definition)
    assert database.bots.risk_marks(definition.id) == {}
    marks = RiskMarks(
        peak=Decimal("10234.123456789012345678"),
        day=date(2026, 3, 1),
        day_start=Decimal("9999.000000000000000001"),
    )
    database.bots.save_risk_marks(definition.id, marks.to_mapping())
    database.bots.update(definition.with_status(BotStatus.STARTING))  # never touches it
    assert RiskMarks.from_mapping(database.bots.risk_marks(definition.id)) == marks
    with pytest.raises(NotFoundError, match="does not exist"):
        database.bots.save_risk_marks("ghost", marks.to_mapping())
