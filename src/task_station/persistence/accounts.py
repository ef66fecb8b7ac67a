"""``AccountStore`` on SQL: the ``accounts`` table holds the vault reference only."""

from __future__ import annotations

import builtins

from sqlalchemy import select

from task_station.domain.accounts import Account
from task_station.domain.errors import NotFoundError
from task_station.persistence._tx import SessionFactory, translated
from task_station.persistence.models import AccountRow


def _to_account(row: AccountRow) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        exchange_id=row.venue,
        sandbox=row.sandbox,
        key_ref=row.secret_ref or "",
        created_at=row.created_at,
    )


class SqlAccountStore:
    """Implements ``domain.ports.AccountStore``."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def add(self, account: Account) -> None:
        record = f"account {account.name!r}"
        with (
            translated(record, conflict=f"an account named {account.name!r} already exists"),
            self._sessions.begin() as s,
        ):
            s.add(
                AccountRow(
                    id=account.id,
                    name=account.name,
                    venue=account.exchange_id,
                    sandbox=account.sandbox,
                    secret_ref=account.key_ref,
                    created_at=account.created_at,
                )
            )

    def get(self, account_id: str) -> Account | None:
        with self._sessions.begin() as s:
            row = s.get(AccountRow, account_id)
            return None if row is None else _to_account(row)

    def list(self) -> builtins.list[Account]:
        """Oldest first."""
        with self._sessions.begin() as s:
            rows = s.scalars(select(AccountRow).order_by(AccountRow.created_at, AccountRow.id))
            return [_to_account(r) for r in rows]

    def remove(self, account_id: str) -> None:
        with self._sessions.begin() as s:
            row = s.get(AccountRow, account_id)
            if row is None:
                raise NotFoundError(f"no account with id {account_id!r}")
            s.delete(row)
