"""Exchange accounts: add, list, remove, test the connection, read balances.

Secrets go to the vault under ``account:<id>:<field>`` references; the database keeps
only the reference prefix. Nothing here logs or returns a secret. The venue factory is
passed in, so this module never imports ccxt.
"""

from __future__ import annotations

import builtins
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from task_station.domain.accounts import Account, ApiCredentials
from task_station.domain.balances import Balance
from task_station.domain.clock import Clock
from task_station.domain.errors import NotFoundError, SecretStoreError, ValidationError
from task_station.domain.ports import AccountStore, AuditLog
from task_station.services.principal import Principal

log = logging.getLogger(__name__)
T = TypeVar("T")
_FIELDS = ("api_key", "api_secret", "password")


class SecretStore(Protocol):
    """What the service needs from ``security.vault.SecretsVault``."""

    def get(self, ref: str) -> str | None: ...
    def set(self, ref: str, value: str) -> None: ...
    def delete(self, ref: str) -> None: ...


class AccountVenue(Protocol):
    async def fetch_balance_details(self) -> dict[str, Balance]: ...
    async def close(self) -> None: ...


class AccountVenueFactory(Protocol):
    """Implemented by ``venues.ccxt_cex.CcxtVenueFactory``."""

    def known_exchange_ids(self) -> frozenset[str]: ...

    def open(
        self, exchange_id: str, credentials: ApiCredentials, *, sandbox: bool, name: str
    ) -> AccountVenue: ...


@dataclass(frozen=True, slots=True)
class ConnectionResult:
    """A successful connection test: the exchange accepted the key and answered."""

    account_id: str
    exchange_id: str
    assets: int
    checked_at: datetime


class AccountService:
    def __init__(
        self,
        store: AccountStore,
        vault: SecretStore,
        clock: Clock,
        audit: AuditLog,
        venue_factory: AccountVenueFactory,
    ) -> None:
        self._store = store
        self._vault = vault
        self._clock = clock
        self._audit = audit
        self._factory = venue_factory

    def exchange_ids(self) -> builtins.list[str]:
        """Exchanges an account can be opened on, sorted (for pickers)."""
        return sorted(self._factory.known_exchange_ids())

    def list(self) -> builtins.list[Account]:
        return self._store.list()

    def get(self, account_id: str) -> Account:
        account = self._store.get(account_id)
        if account is None:
            raise NotFoundError(f"no account with id {account_id!r}")
        return account

    def add(
        self,
        actor: Principal,
        name: str,
        exchange_id: str,
        api_key: str,
        api_secret: str,
        password: str | None = None,
        sandbox: bool = False,
    ) -> Account:
        """Store the secrets in the vault and the account (with its reference) in the db."""
        actor.require_trader("add exchange accounts")
        name, exchange_id = name.strip(), exchange_id.strip().lower()
        if not name or len(name) > 80:
            raise ValidationError("the account name must have 1-80 characters")
        if exchange_id not in self._factory.known_exchange_ids():
            raise ValidationError(f"unknown exchange {exchange_id!r}; pick one from the list")
        if not api_key.strip() or not api_secret.strip():
            raise ValidationError("both the API key and the API secret are required")
        account_id = uuid.uuid4().hex
        ref = f"account:{account_id}"
        account = Account(account_id, name, exchange_id, sandbox, ref, self._clock.now())
        values = {"api_key": api_key.strip(), "api_secret": api_secret.strip()}
        if password:
            values["password"] = password
        for field, value in values.items():
            self._vault.set(f"{ref}:{field}", value)
        try:
            self._store.add(account)
        except Exception:
            self._forget(ref)
            raise
        self._audit.record(account.created_at, actor.username, "account.add", account_id, name)
        log.info("account %s (%s) added on %s", name, account_id, exchange_id)
        return account

    def remove(self, actor: Principal, account_id: str) -> None:
        actor.require_trader("remove exchange accounts")
        account = self.get(account_id)
        self._store.remove(account_id)
        self._forget(account.key_ref)
        self._audit.record(
            self._clock.now(), actor.username, "account.remove", account_id, account.name
        )

    def _forget(self, ref: str) -> None:
        """Delete the account's secrets from the vault."""
        for field in _FIELDS:
            self._vault.delete(f"{ref}:{field}")

    def _credentials(self, account: Account) -> ApiCredentials:
        key = self._vault.get(f"{account.key_ref}:api_key")
        secret = self._vault.get(f"{account.key_ref}:api_secret")
        if not key or not secret:
            raise SecretStoreError(
                f"the vault has no API key for account {account.name!r}; remove and add it again"
            )
        return ApiCredentials(key, secret, self._vault.get(f"{account.key_ref}:password") or None)

    async def _with_venue(
        self, account: Account, call: Callable[[AccountVenue], Awaitable[T]]
    ) -> T:
        venue = self._factory.open(
            account.exchange_id,
            self._credentials(account),
            sandbox=account.sandbox,
            name=account.name,
        )
        try:
            return await call(venue)
        finally:
            await venue.close()

    async def test_connection(self, actor: Principal, account_id: str) -> ConnectionResult:
        """Fetch balances with the stored key; raises the venue's translated error."""
        actor.require_trader("test exchange accounts")
        account = self.get(account_id)
        balances = await self._with_venue(account, lambda v: v.fetch_balance_details())
        now = self._clock.now()
        self._audit.record(now, actor.username, "account.test", account_id, "ok")
        return ConnectionResult(account_id, account.exchange_id, len(balances), now)

    async def balances(self, actor: Principal, account_id: str) -> builtins.list[Balance]:
        """Non-zero balances of the account, by asset."""
        actor.require_trader("read exchange balances")
        account = self.get(account_id)
        details = await self._with_venue(account, lambda v: v.fetch_balance_details())
        return [b for _, b in sorted(details.items()) if b.total != 0]
