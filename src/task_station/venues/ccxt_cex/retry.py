"""Bounded exponential back-off with jitter, for reads only.

Order creation never goes through here: a retried create can double an order. Reads are
safe to repeat, so rate limits (429, honouring ``Retry-After``), 5xx and network errors
are retried a few times before the error is translated and raised.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from task_station.venues.ccxt_cex.errors import RETRYABLE

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 10.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # jitter, not crypto


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The ``Retry-After`` header in seconds, if the last response carried one."""
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return float(value)
            except ValueError:
                return None
    return None


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    headers: Callable[[], Mapping[str, str] | None],
    what: str,
) -> T:
    """Run ``call``; on a retryable error wait and try again, up to ``policy.attempts``."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except RETRYABLE as exc:
            if attempt == policy.attempts:
                raise
            wait = policy.delay(attempt, retry_after_seconds(headers()))
            log.info("%s: %s, retry %d in %.2fs", what, type(exc).__name__, attempt, wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
