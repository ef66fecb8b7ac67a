"""Translate ccxt's exceptions into the project's error tree, once, here.

Every message names what was being done (venue, action, symbol, side, amount, price) and
what the trader can do next. The exchange's own text is kept for diagnosis, but any
credential is masked out of it and the ccxt exception is never chained, so neither a
message nor a logged traceback can carry a key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import ccxt.async_support as ccxt

from task_station.domain.errors import (
    InsufficientFunds,
    NotFoundError,
    PermissionDeniedError,
    TaskStationError,
    ValidationError,
    VenueAuthenticationError,
    VenueError,
)

MASK = "***"
_MAX_DETAIL = 300

#: Exceptions after which an order may or may not exist at the venue.
UNKNOWN_OUTCOME: tuple[type[Exception], ...] = (ccxt.NetworkError, ccxt.BadResponse)
#: Exceptions worth retrying for reads (rate limits, 5xx, timeouts, network).
RETRYABLE: tuple[type[Exception], ...] = (ccxt.NetworkError,)
#: Exceptions that mean the venue looked at an order and refused it.
ORDER_REFUSED: tuple[type[Exception], ...] = (
    ccxt.InsufficientFunds,
    ccxt.InvalidOrder,
    ccxt.BadRequest,
    ccxt.OperationRejected,
)


@dataclass(frozen=True, slots=True)
class Action:
    """What was being attempted, for the message."""

    venue: str
    what: str
    symbol: str | None = None
    side: str | None = None
    amount: Decimal | None = None
    price: Decimal | None = None

    def describe(self) -> str:
        parts = [f"{self.venue}: {self.what}"]
        if self.side:
            parts.append(self.side)
        if self.amount is not None:
            parts.append(str(self.amount))
        if self.symbol:
            parts.append(self.symbol)
        if self.price is not None:
            parts.append(f"@ {self.price}")
        return " ".join(parts)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (of 4+ characters) replaced by ``***``."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def detail(exc: BaseException, secrets: Iterable[str]) -> str:
    """The exchange's message, masked and shortened."""
    text = redact(str(exc) or type(exc).__name__, secrets)
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "..."


def _advice(exc: BaseException) -> tuple[type[TaskStationError], str]:
    if isinstance(exc, ccxt.PermissionDenied):
        return PermissionDeniedError, "the API key lacks a permission; enable it at the exchange"
    if isinstance(exc, ccxt.AuthenticationError):
        return VenueAuthenticationError, "check the API key, secret and password of this account"
    if isinstance(exc, ccxt.InsufficientFunds):
        return InsufficientFunds, "deposit more or reduce the size"
    if isinstance(exc, ccxt.OrderNotFound):
        return NotFoundError, "the exchange does not know this order"
    if isinstance(exc, ccxt.InvalidOrder | ccxt.BadRequest | ccxt.OperationRejected):
        return ValidationError, "check the size, price and order type against the market"
    if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return VenueError, "rate limited by the exchange; it will be retried later"
    if isinstance(exc, ccxt.NetworkError):
        return VenueError, "the exchange could not be reached; check the connection"
    if isinstance(exc, ccxt.NotSupported):
        return VenueError, "this exchange does not support it"
    return VenueError, "the exchange answered unexpectedly"


def translate(exc: BaseException, action: Action, secrets: Iterable[str]) -> TaskStationError:
    """The project error for ``exc`` raised while doing ``action``."""
    kind, advice = _advice(exc)
    return kind(f"{action.describe()} failed: {detail(exc, secrets)} ({advice})")


def rejection_reason(exc: BaseException, secrets: Iterable[str]) -> str:
    """A short reason for an ``OrderRejectedReport``."""
    _, advice = _advice(exc)
    return f"{type(exc).__name__}: {detail(exc, secrets)} ({advice})"
