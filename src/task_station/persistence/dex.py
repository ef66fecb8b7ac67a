"""``DexStore`` on SQL: chains, wallets, DEXes and followed tokens.

No secret reaches these tables: chains keep their RPC URL's display form and a vault
reference, wallets a vault reference (see ``domain.dex_registry``).
"""

from __future__ import annotations

import builtins
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from task_station.domain.dex import Token
from task_station.domain.dex_registry import ChainRecord, DexRecord, FollowedToken, WalletRecord
from task_station.domain.errors import ConflictError, NotFoundError
from task_station.persistence._tx import SessionFactory, translated
from task_station.persistence.database import Database
from task_station.persistence.models import ChainRow, DexRow, DexTokenRow, WalletRow


def _chain(row: ChainRow) -> ChainRecord:
    return ChainRecord(
        chain_id=row.chain_id,
        name=row.name,
        rpc_url=row.rpc_url,
        native_symbol=row.native_symbol,
        rpc_secret_ref=row.rpc_secret_ref,
        created_at=row.created_at,
    )


def _wallet(row: WalletRow) -> WalletRecord:
    return WalletRecord(
        id=row.id,
        chain_id=row.chain_id,
        address=row.address,
        label=row.label,
        watch_only=row.watch_only,
        secret_ref=row.secret_ref,
        created_at=row.created_at,
    )


def _dex(row: DexRow) -> DexRecord:
    return DexRecord(
        id=row.id,
        chain_id=row.chain_id,
        name=row.name,
        router=row.router,
        factory=row.factory,
        fee_bps=row.fee_bps,
        created_at=row.created_at,
    )


def _token(row: DexTokenRow) -> FollowedToken:
    return FollowedToken(row.dex_id, Token(row.address, row.symbol, row.decimals), row.created_at)


def _require_chain(s: Session, chain_id: int, what: str) -> ChainRow:
    chain = s.get(ChainRow, chain_id)
    if chain is None:
        raise NotFoundError(f"{what}: no chain with id {chain_id}; add the chain first")
    return chain


class SqlDexStore:
    """Implements ``domain.ports.DexStore``. Each method is its own transaction."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @classmethod
    def on(cls, database: Database) -> SqlDexStore:
        """A store over ``database``'s engine (its connection pool is shared)."""
        return cls(sessionmaker(database.engine, expire_on_commit=False))

    # -- chains ------------------------------------------------------------------------

    def add_chain(self, chain: ChainRecord) -> None:
        record = f"chain {chain.name!r} (id {chain.chain_id})"
        with translated(record), self._sessions.begin() as s:
            if s.get(ChainRow, chain.chain_id) is not None:
                raise ConflictError(f"chain id {chain.chain_id} is already registered")
            if s.scalar(select(ChainRow.chain_id).where(ChainRow.name == chain.name)) is not None:
                raise ConflictError(f"a chain named {chain.name!r} already exists")
            s.add(
                ChainRow(
                    chain_id=chain.chain_id,
                    name=chain.name,
                    rpc_url=chain.rpc_url,
                    native_symbol=chain.native_symbol,
                    rpc_secret_ref=chain.rpc_secret_ref,
                    created_at=chain.created_at,
                )
            )

    def get_chain(self, chain_id: int) -> ChainRecord | None:
        with self._sessions.begin() as s:
            row = s.get(ChainRow, chain_id)
            return None if row is None else _chain(row)

    def list_chains(self) -> builtins.list[ChainRecord]:
        query = select(ChainRow).order_by(ChainRow.created_at, ChainRow.chain_id)
        with self._sessions.begin() as s:
            return [_chain(r) for r in s.scalars(query)]

    def remove_chain(self, chain_id: int) -> None:
        with self._sessions.begin() as s:
            row = _require_chain(s, chain_id, "remove chain")
            wallets = s.scalar(
                select(func.count()).select_from(WalletRow).where(WalletRow.chain_id == chain_id)
            )
            dexes = s.scalar(
                select(func.count()).select_from(DexRow).where(DexRow.chain_id == chain_id)
            )
            if wallets or dexes:
                raise ConflictError(
                    f"chain {row.name!r} still has {wallets or 0} wallet(s) and {dexes or 0} "
                    "DEX(es); remove them first"
                )
            s.delete(row)

    # -- wallets -----------------------------------------------------------------------

    def add_wallet(self, wallet: WalletRecord) -> None:
        record = f"wallet {wallet.label!r}"
        with translated(record), self._sessions.begin() as s:
            chain = _require_chain(s, wallet.chain_id, f"add {record}")
            taken = s.scalar(
                select(WalletRow.label).where(
                    WalletRow.chain_id == wallet.chain_id,
                    func.lower(WalletRow.address) == wallet.address.lower(),
                )
            )
            if taken is not None:
                raise ConflictError(
                    f"wallet {wallet.address} is already on {chain.name} as {taken!r}"
                )
            s.add(
                WalletRow(
                    id=wallet.id,
                    chain_id=wallet.chain_id,
                    address=wallet.address,
                    label=wallet.label,
                    watch_only=wallet.watch_only,
                    secret_ref=wallet.secret_ref,
                    created_at=wallet.created_at,
                )
            )

    def get_wallet(self, wallet_id: str) -> WalletRecord | None:
        with self._sessions.begin() as s:
            row = s.get(WalletRow, wallet_id)
            return None if row is None else _wallet(row)

    def list_wallets(self, chain_id: int | None = None) -> builtins.list[WalletRecord]:
        query = select(WalletRow).order_by(WalletRow.created_at, WalletRow.id)
        if chain_id is not None:
            query = query.where(WalletRow.chain_id == chain_id)
        with self._sessions.begin() as s:
            return [_wallet(r) for r in s.scalars(query)]

    def remove_wallet(self, wallet_id: str) -> None:
        with self._sessions.begin() as s:
            row = s.get(WalletRow, wallet_id)
            if row is None:
                raise NotFoundError(f"no wallet with id {wallet_id!r}")
            s.delete(row)

    # -- DEXes -------------------------------------------------------------------------

    def add_dex(self, dex: DexRecord) -> None:
        record = f"DEX {dex.name!r}"
        with translated(record), self._sessions.begin() as s:
            chain = _require_chain(s, dex.chain_id, f"add {record}")
            taken = s.scalar(
                select(DexRow.id).where(DexRow.chain_id == dex.chain_id, DexRow.name == dex.name)
            )
            if taken is not None:
                raise ConflictError(f"{chain.name} already has a DEX named {dex.name!r}")
            s.add(
                DexRow(
                    id=dex.id,
                    chain_id=dex.chain_id,
                    name=dex.name,
                    router=dex.router,
                    factory=dex.factory,
                    fee_bps=dex.fee_bps,
                    created_at=dex.created_at,
                )
            )

    def get_dex(self, dex_id: str) -> DexRecord | None:
        with self._sessions.begin() as s:
            row = s.get(DexRow, dex_id)
            return None if row is None else _dex(row)

    def list_dexes(self, chain_id: int | None = None) -> builtins.list[DexRecord]:
        query = select(DexRow).order_by(DexRow.created_at, DexRow.id)
        if chain_id is not None:
            query = query.where(DexRow.chain_id == chain_id)
        with self._sessions.begin() as s:
            return [_dex(r) for r in s.scalars(query)]

    def remove_dex(self, dex_id: str) -> None:
        with self._sessions.begin() as s:
            row = s.get(DexRow, dex_id)
            if row is None:
                raise NotFoundError(f"no DEX with id {dex_id!r}")
            # what ON DELETE CASCADE does, without relying on the backend enforcing it
            s.execute(delete(DexTokenRow).where(DexTokenRow.dex_id == dex_id))
            s.delete(row)

    # -- followed tokens ---------------------------------------------------------------

    def add_token(self, dex_id: str, token: Token, when: datetime) -> FollowedToken:
        record = f"token {token.symbol}"
        with translated(record), self._sessions.begin() as s:
            dex = s.get(DexRow, dex_id)
            if dex is None:
                raise NotFoundError(f"no DEX with id {dex_id!r}")
            rows = s.scalars(select(DexTokenRow).where(DexTokenRow.dex_id == dex_id)).all()
            for row in rows:
                if row.address.lower() == token.address.lower():
                    raise ConflictError(f"{dex.name} already follows {row.symbol} ({row.address})")
                if row.symbol == token.symbol:
                    raise ConflictError(
                        f"{dex.name} already follows a token called {token.symbol} "
                        f"({row.address}); give this one another symbol"
                    )
            s.add(
                DexTokenRow(
                    dex_id=dex_id,
                    address=token.address,
                    symbol=token.symbol,
                    decimals=token.decimals,
                    created_at=when,
                )
            )
        return FollowedToken(dex_id, token, when)

    def list_tokens(self, dex_id: str) -> builtins.list[FollowedToken]:
        query = select(DexTokenRow).where(DexTokenRow.dex_id == dex_id).order_by(DexTokenRow.id)
        with self._sessions.begin() as s:
            return [_token(r) for r in s.scalars(query)]

    def remove_token(self, dex_id: str, address: str) -> None:
        with self._sessions.begin() as s:
            rows = s.scalars(select(DexTokenRow).where(DexTokenRow.dex_id == dex_id)).all()
            match = [r for r in rows if r.address.lower() == address.lower()]
            if not match:
                raise NotFoundError(f"the DEX does not follow the token {address}")
            s.delete(match[0])


__all__ = ["SqlDexStore"]
