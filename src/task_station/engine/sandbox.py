"""The one wrapper around every call into strategy code."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from task_station.domain.errors import StrategyError, TaskStationError

log = logging.getLogger(__name__)
T = TypeVar("T")


class StrategySandbox:
    """Catch, log (with the bot id) and count strategy failures.

    A failure is tolerated ``max_failures - 1`` times in a row; the next one raises
    ``StrategyError`` so the runtime pauses this bot while the engine keeps running.
    A project error (e.g. a ValidationError from an order the strategy built) counts too.
    """

    def __init__(self, bot_id: str, max_failures: int = 3) -> None:
        self.bot_id = bot_id
        self.max_failures = max_failures
        self.consecutive_failures = 0
        self.total_failures = 0

    def call(self, what: str, fn: Callable[[], T]) -> T | None:
        try:
            result = fn()
        except (Exception, TaskStationError) as exc:
            self.consecutive_failures += 1
            self.total_failures += 1
            log.error(
                "bot %s: strategy %s failed (%d in a row): %s",
                self.bot_id,
                what,
                self.consecutive_failures,
                exc,
                exc_info=not isinstance(exc, TaskStationError),
            )
            if self.consecutive_failures >= self.max_failures:
                raise StrategyError(
                    f"the strategy failed in {what} {self.consecutive_failures} times in a row: "
                    f"{type(exc).__name__}: {exc}. The bot was paused; fix the strategy or its "
                    f"parameters and start it again."
                ) from exc
            return None
        self.consecutive_failures = 0
        return result
