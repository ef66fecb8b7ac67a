"""Cron and interval triggers of tasks as APScheduler schedules.

A cron expression has the five crontab fields (minute hour day month weekday) or six,
seconds first. Weekdays count as in crontab (0 or 7 is Sunday, 1 Monday); APScheduler
3 counts from Monday, so numbers are turned into day names before it sees them.
``schedule_key`` names what a schedule fires on: a stored schedule whose key still
matches its trigger keeps its next run time (and its missed runs) across restarts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from task_station.domain.errors import ValidationError
from task_station.domain.tasks import TriggerKind

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _day(number: str) -> str:
    value = int(number)
    if not 0 <= value <= 7:
        raise ValueError(f"weekday {value} is not 0-7")
    return _DAYS[value]


def _weekday_token(token: str) -> str:
    base, slash, step = token.partition("/")
    if not any(ch.isdigit() for ch in base):
        return token
    first, dash, last = base.partition("-")
    if not dash:
        return _day(first) + slash + step
    low, high = int(first), int(last)
    if low == 0 and high > 0:  # Sunday first: APScheduler's week ends on Sunday
        return f"mon-{_day(last)},sun" if not slash else f"sun-{_day(last)}{slash}{step}"
    return f"{_day(first)}-{_day(last)}{slash}{step}"


def crontab_weekdays(field: str) -> str:
    """A crontab weekday field with numbers (0/7 = Sunday) as APScheduler's day names."""
    return ",".join(_weekday_token(t) for t in field.split(","))


def schedule_trigger(kind: TriggerKind, config: Mapping[str, Any]) -> Any:
    """The APScheduler trigger of a cron or interval trigger (``ValueError`` if invalid)."""
    if kind is TriggerKind.INTERVAL:
        return IntervalTrigger(seconds=int(config["seconds"]), timezone=UTC)
    if kind is not TriggerKind.CRON:
        raise ValueError(f"{kind.value} triggers have no schedule")
    fields = str(config["expression"]).split()
    seconds = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        second=seconds, minute=minute, hour=hour, day=day, month=month,
        day_of_week=crontab_weekdays(weekday), timezone=str(config.get("timezone") or "UTC"),
    )  # fmt: skip


def check_schedule(kind: TriggerKind, config: Mapping[str, Any], where: str) -> None:
    """Refuse a schedule APScheduler cannot follow, saying what it objected to."""
    try:
        schedule_trigger(kind, config)
    except Exception as exc:  # APScheduler and zoneinfo raise ValueError and its kin
        raise ValidationError(f"{where} ({kind.value}): {exc}") from None


def schedule_key(kind: TriggerKind, config: Mapping[str, Any]) -> str:
    """A short fingerprint of what the schedule fires on."""
    text = json.dumps({"kind": kind.value, **config}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
