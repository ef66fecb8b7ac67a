"""The DEX registry (chains, wallets, DEXes, followed tokens) on both backends."""

from __future__ import annotations

from dataclasses import replace

import pytest

from task_station.domain.dex import Token
from task_station.domain.dex_registry import ChainRecord, DexRecord, WalletRecord
from task_station.domain.errors import ConflictError, NotFoundError, ValidationError
from task_station.persistence import Database
from task_station.persistence.dex import SqlDexStore

from .factories import PLUS_TWO, T0, at

#: eth-tester's chain id does not fit 32 bits: the column must be a BIGINT.
BIG_CHAIN = 131277322940537
ROUTER = "0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D"
FACTORY = "0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f"
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
ADDRESS = "0x00000000219ab540356cBB839Cbe05303d7705Fa"


@pytest.fixture
def store(database: Database) -> SqlDexStore:
    return SqlDexStore.on(database)


def chain(chain_id: int = BIG_CHAIN, name: str = "dev", **changes: object) -> ChainRecord:
    record = ChainRecord(chain_id, name, "https://rpc.example/v3/***", "ETH", "chain:r1", T0)
    return replace(record, **changes)  # type: ignore[arg-type]


def wallet(wallet_id: str = "w-1", address: str = ADDRESS, **changes: object) -> WalletRecord:
    record = WalletRecord(wallet_id, BIG_CHAIN, address, "hot", False, f"wallet:{wallet_id}", T0)
    return replace(record, **changes)  # type: ignore[arg-type]


def dex(dex_id: str = "d-1", name: str = "uniswap", **changes: object) -> DexRecord:
    record = DexRecord(dex_id, BIG_CHAIN, name, ROUTER, FACTORY, 30, T0)
    return replace(record, **changes)  # type: ignore[arg-type]


def test_chain_round_trips_with_a_big_chain_id_and_utc_time(store: SqlDexStore) -> None:
    store.add_chain(chain(created_at=at(5).astimezone(PLUS_TWO)))
    back = store.get_chain(BIG_CHAIN)
    assert back == chain(created_at=at(5))
    assert store.list_chains() == [back]
    assert store.get_chain(1) is None


def test_duplicate_chain_id_or_name_conflicts_and_keeps_the_first(store: SqlDexStore) -> None:
    store.add_chain(chain())
    with pytest.raises(ConflictError, match=f"chain id {BIG_CHAIN}"):
        store.add_chain(chain(name="other"))
    with pytest.raises(ConflictError, match="'dev' already exists"):
        store.add_chain(chain(chain_id=1))
    assert store.list_chains() == [chain()]


def test_chains_list_oldest_first(store: SqlDexStore) -> None:
    store.add_chain(chain(1, "later", created_at=at(10)))
    store.add_chain(chain(2, "sooner"))
    assert [c.name for c in store.list_chains()] == ["sooner", "later"]


def test_wallets_round_trip_filter_by_chain_and_refuse_the_same_address(
    store: SqlDexStore,
) -> None:
    store.add_chain(chain())
    store.add_chain(chain(1, "mainnet"))
    signing = wallet()
    watch = wallet("w-2", WETH, chain_id=1, label="whale", watch_only=True, secret_ref=None)
    store.add_wallet(signing)
    store.add_wallet(watch)
    assert store.get_wallet("w-1") == signing
    assert store.list_wallets() == [signing, watch]
    assert store.list_wallets(1) == [watch]
    with pytest.raises(ConflictError, match="already on dev as 'hot'"):
        store.add_wallet(wallet("w-3", ADDRESS.lower(), label="again"))
    store.add_wallet(wallet("w-4", chain_id=1))  # the same address on another chain is fine
    assert len(store.list_wallets()) == 3


def test_wallet_on_unknown_chain_is_not_found(store: SqlDexStore) -> None:
    with pytest.raises(NotFoundError, match="add the chain first"):
        store.add_wallet(wallet())
    assert store.list_wallets() == []


def test_remove_wallet(store: SqlDexStore) -> None:
    store.add_chain(chain())
    store.add_wallet(wallet())
    store.remove_wallet("w-1")
    assert store.list_wallets() == []
    with pytest.raises(NotFoundError):
        store.remove_wallet("w-1")


def test_dex_round_trips_and_names_are_unique_per_chain(store: SqlDexStore) -> None:
    store.add_chain(chain())
    store.add_chain(chain(1, "mainnet"))
    store.add_dex(dex())
    store.add_dex(dex("d-2", chain_id=1))
    assert store.get_dex("d-1") == dex()
    assert store.list_dexes(BIG_CHAIN) == [dex()]
    with pytest.raises(ConflictError, match="dev already has a DEX named 'uniswap'"):
        store.add_dex(dex("d-3"))
    assert len(store.list_dexes()) == 2


def test_tokens_follow_a_dex_unique_by_address_and_symbol(store: SqlDexStore) -> None:
    store.add_chain(chain())
    store.add_dex(dex())
    weth, usdc = Token(WETH, "WETH", 18), Token(USDC, "USDC", 6)
    followed = store.add_token("d-1", weth, T0)
    store.add_token("d-1", usdc, at(1))
    assert followed.token == weth and followed.dex_id == "d-1"
    assert [t.token for t in store.list_tokens("d-1")] == [weth, usdc]
    with pytest.raises(ConflictError, match="already follows WETH"):
        store.add_token("d-1", Token(WETH.lower(), "W", 18), T0)
    with pytest.raises(ConflictError, match="another symbol"):
        store.add_token("d-1", Token(ADDRESS, "USDC", 6), T0)
    with pytest.raises(NotFoundError):
        store.add_token("nope", weth, T0)
    store.remove_token("d-1", USDC.lower())
    assert [t.symbol for t in store.list_tokens("d-1")] == ["WETH"]
    with pytest.raises(NotFoundError, match="does not follow"):
        store.remove_token("d-1", USDC)


def test_removing_a_dex_removes_its_tokens(store: SqlDexStore) -> None:
    store.add_chain(chain())
    store.add_dex(dex())
    store.add_token("d-1", Token(WETH, "WETH", 18), T0)
    store.remove_dex("d-1")
    assert store.list_dexes() == [] and store.list_tokens("d-1") == []
    with pytest.raises(NotFoundError):
        store.remove_dex("d-1")


def test_a_chain_in_use_cannot_be_removed(store: SqlDexStore) -> None:
    store.add_chain(chain())
    store.add_wallet(wallet())
    store.add_dex(dex())
    with pytest.raises(ConflictError, match="1 wallet\\(s\\) and 1 DEX\\(es\\); remove them first"):
        store.remove_chain(BIG_CHAIN)
    store.remove_wallet("w-1")
    store.remove_dex("d-1")
    store.remove_chain(BIG_CHAIN)
    assert store.list_chains() == []
    with pytest.raises(NotFoundError):
        store.remove_chain(BIG_CHAIN)


def test_records_refuse_bad_values_before_the_database() -> None:
    with pytest.raises(ValidationError, match="router"):
        dex(router="0x123")
    with pytest.raises(ValidationError, match="watch-only and cannot hold a key"):
        wallet(watch_only=True)
    with pytest.raises(ValidationError, match="RPC URL"):
        chain(rpc_url="ftp://x")
