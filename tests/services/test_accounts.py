"""AccountService over the real container (SQLite file, encrypted-file vault) and real
ccxt venues pointed at a closed loopback port: nothing leaves the machine."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from task_station.container import Container
from task_station.domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
    VenueError,
)
from task_station.domain.users import Role
from task_station.services.accounts import AccountService
from task_station.services.principal import Principal
from task_station.venues.ccxt_cex import CcxtVenueFactory, RetryPolicy

CLOSED = "http://127.0.0.1:9"
KEY = "AK-DISTINCT-5d1e77c0ffee"
SECRET = "SK-DISTINCT-9b2f44decaf00"


@pytest.fixture
def accounts(container: Container) -> AccountService:
    factory = CcxtVenueFactory(
        container.services.clock, base_url=CLOSED, retry=RetryPolicy(2, 0.001, 0.002)
    )
    return AccountService(
        container.database.accounts,
        container.vault,
        container.services.clock,
        container.database.audit,
        factory,
    )


def _db_bytes(container: Container) -> bytes:
    data = container.settings.data_dir
    return b"".join(p.read_bytes() for p in Path(data).glob("*.db*"))


def test_add_account_stores_reference_only_and_secret_in_vault(
    accounts: AccountService, container: Container, admin: Principal
) -> None:
    account = accounts.add(admin, "main", "binance", KEY, SECRET)
    assert account.key_ref == f"account:{account.id}"
    assert [a.name for a in accounts.list()] == ["main"]
    assert container.vault.get(f"{account.key_ref}:api_secret") == SECRET
    raw = _db_bytes(container)
    assert raw  # the SQLite file (and WAL) exist
    assert KEY.encode() not in raw and SECRET.encode() not in raw
    assert KEY not in repr(account) and SECRET not in repr(account)


def test_add_unknown_exchange_is_refused(accounts: AccountService, admin: Principal) -> None:
    with pytest.raises(ValidationError, match="unknown exchange 'notanexchange'"):
        accounts.add(admin, "x", "notanexchange", KEY, SECRET)
    assert accounts.list() == []


def test_add_duplicate_name_conflicts_and_keeps_first(
    accounts: AccountService, admin: Principal
) -> None:
    accounts.add(admin, "main", "kraken", KEY, SECRET)
    with pytest.raises(ConflictError, match="main"):
        accounts.add(admin, "main", "binance", KEY, SECRET)
    assert [a.exchange_id for a in accounts.list()] == ["kraken"]


def test_viewer_cannot_add_accounts(accounts: AccountService) -> None:
    viewer = Principal("u2", "bob", Role.VIEWER)
    with pytest.raises(PermissionDeniedError, match="bob"):
        accounts.add(viewer, "main", "binance", KEY, SECRET)


def test_remove_account_deletes_row_and_vault_entries(
    accounts: AccountService, container: Container, admin: Principal
) -> None:
    account = accounts.add(admin, "main", "binance", KEY, SECRET)
    accounts.remove(admin, account.id)
    assert accounts.list() == []
    assert not container.vault.get(f"{account.key_ref}:api_key")
    assert not container.vault.get(f"{account.key_ref}:api_secret")
    with pytest.raises(NotFoundError):
        accounts.remove(admin, account.id)


async def test_connection_to_unreachable_exchange_raises_clear_venue_error(
    accounts: AccountService, admin: Principal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    account = accounts.add(admin, "main", "binance", KEY, SECRET)
    with pytest.raises(VenueError, match="main: fetch balances failed") as info:
        await accounts.test_connection(admin, account.id)
    assert "could not be reached" in str(info.value)
    with pytest.raises(VenueError):
        await accounts.balances(admin, account.id)
    texts = [str(info.value)] + [r.getMessage() for r in caplog.records]
    assert not any(KEY in t or SECRET in t for t in texts)
