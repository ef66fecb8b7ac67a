"""Exchange accounts. The database holds a keyring reference, never a key or secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Account:
    """A trading account on one exchange; ``key_ref`` names its vault entries."""

    id: str
    name: str
    exchange_id: str
    sandbox: bool
    key_ref: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    """API credentials in memory only; ``repr`` never shows them."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    password: str | None = field(default=None, repr=False)

    def values(self) -> tuple[str, ...]:
        """Every non-empty credential string (for masking)."""
        return tuple(v for v in (self.api_key, self.api_secret, self.password) if v)
