"""The project's error tree.

Each class is a policy: the place that catches it knows what to do next (retry, fail
this order, stop the bot and tell the trader, pause the strategy). Messages are written
for the trader and never carry a secret.
"""

from __future__ import annotations


class TaskStationError(Exception):
    """Base of every error the station raises on purpose."""


class ValidationError(TaskStationError):
    """Input that the station refuses; nothing was changed."""


class ConfigurationError(TaskStationError):
    """Settings or definitions that cannot work; stop and tell the trader."""


class DataError(TaskStationError):
    """Market data that is missing, malformed or inconsistent."""


class NotFoundError(TaskStationError):
    """A bot, order, user or other record that does not exist."""


class ConflictError(TaskStationError):
    """The request is valid but clashes with the current state (e.g. bot already running)."""


class AuthenticationError(TaskStationError):
    """Wrong credentials or an invalid/expired token."""


class PermissionDeniedError(TaskStationError):
    """The user is known but their role does not allow the action."""


class InvalidOrderTransition(TaskStationError):
    """An order event that is illegal in the order's current state (a programming error)."""


class OrderError(TaskStationError):
    """Fail this order, keep the bot running."""


class InsufficientFunds(OrderError):
    """The balance does not cover the order."""


class StrategyError(TaskStationError):
    """The user's strategy code failed; the bot is paused, the engine keeps running."""


class VenueError(TaskStationError):
    """A venue could not be reached or answered unexpectedly (retry with back-off)."""


class VenueAuthenticationError(VenueError):
    """The exchange refused the account's API credentials (not the station login)."""


class SecretStoreError(TaskStationError):
    """The secrets vault is unavailable or refused an operation."""


class TooManyRequestsError(TaskStationError):
    """Too many attempts (logins, requests) in a short time; try again after
    ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
