"""DexService over the real container (SQLite file, encrypted-file vault) and a real
py-evm chain with the real Uniswap V2 contracts, served as JSON-RPC on loopback HTTP."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account

from task_station.container import Container
from task_station.domain.dex_registry import ChainRecord, DexRecord, split_rpc_url
from task_station.domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    TaskStationError,
    ValidationError,
    VenueError,
)
from task_station.domain.users import Role
from task_station.services.dex import DexService
from task_station.services.principal import Principal
from task_station.venues.dex.devchain import deploy, load_artifact
from tests.support.uniswap import E18, UniswapWorld, uniswap_world

RPC_KEY = "RPCKEY0d15ea5e0ddba11cafe"
VIEWER = Principal("u-viewer", "vera", Role.VIEWER)


@pytest.fixture
async def world() -> AsyncIterator[UniswapWorld]:
    w = await uniswap_world()
    try:
        yield w
    finally:
        await w.chain.stop()


@pytest.fixture
def dex(container: Container) -> DexService:
    return container.services.dex


def _db_bytes(container: Container) -> bytes:
    return b"".join(p.read_bytes() for p in Path(container.settings.data_dir).glob("*.db*"))


async def _registry(
    dex: DexService, admin: Principal, world: UniswapWorld, url: str | None = None
) -> tuple[ChainRecord, DexRecord]:
    """The dev chain, its Uniswap V2 and the WETH and USD tokens followed."""
    chain = dex.add_chain(admin, "dev", url or world.chain.url, world.chain.chain_id)
    spec = world.dex
    record = await dex.add_dex(admin, chain.chain_id, "uniswap-v2", spec.router, spec.factory)
    await dex.add_token(admin, record.id, world.weth.address)
    await dex.add_token(admin, record.id, world.usd.address, "USD")
    return chain, record


def _router_amount_out(world: UniswapWorld, amount: int, path: list[str]) -> int:
    router = world.contract("router", world.deployment.router)
    return int(world.call(router.functions.getAmountsOut(amount, path))[-1])


# --- RPC URLs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "display"),
    [
        (
            "https://mainnet.infura.io/v3/2c0f8d1a9b7e4c6d8f0a1b2c3d4e5f60",
            "https://mainnet.infura.io/v3/***",
        ),
        (
            "https://eth-mainnet.g.alchemy.com/v2/AbCdEfGhIjKlMnOpQrStUvWx",
            "https://eth-mainnet.g.alchemy.com/v2/***",
        ),
        ("https://rpc.ankr.com/eth/" + "ab" * 32, "https://rpc.ankr.com/eth/***"),
        (
            "https://node.io/rpc?apikey=SECRET123&chain=main",
            "https://node.io/rpc?apikey=***&chain=***",
        ),
        ("https://me:pa55word@node.io:8443/rpc", "https://***@node.io:8443/rpc"),
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("https://bsc-dataseed.binance.org/", "https://bsc-dataseed.binance.org/"),
    ],
)
def test_rpc_url_display_form_masks_every_key(url: str, display: str) -> None:
    split = split_rpc_url(url)
    assert split.display == display
    assert split.has_secret == (url != display)
    for secret in split.secrets:
        assert secret not in split.display
    longest = max(split.secrets, key=len, default="")
    assert split.scrub(f"failed at {url} (key {longest})") == (
        f"failed at {display} (key {'***' if longest else ''})"
    )


# --- chains, DEXes, tokens, pools, quotes ------------------------------------------------


async def test_pools_equal_the_chain_reserves(
    dex: DexService, admin: Principal, world: UniswapWorld
) -> None:
    chain, record = await _registry(dex, admin, world)
    assert [c.chain_id for c in dex.list_chains()] == [world.chain.chain_id]
    assert chain.rpc_secret_ref is None and chain.rpc_url == world.chain.url
    assert [d.id for d in dex.list_dexes()] == [record.id]
    tokens = dex.list_tokens(record.id)
    assert [(t.symbol, t.token.decimals) for t in tokens] == [("WETH", 18), ("USD", 18)]

    (pool,) = await dex.list_pools(record.id)
    r0, r1, t0, t1 = world.reserves()
    assert (pool.token0.address, pool.token1.address) == (t0, t1)
    assert pool.reserve0 == Decimal(r0).scaleb(-18)
    assert pool.reserve1 == Decimal(r1).scaleb(-18)
    assert pool.price == Decimal(r1) / Decimal(r0)
    assert pool.pair == world.pair_address()
    assert {pool.token0.symbol, pool.token1.symbol} == {"WETH", "USD"}

    world.swap_exact_in(world.owner, world.usd, world.weth, 50_000 * E18)  # someone trades
    (moved,) = await dex.list_pools(record.id)
    assert (moved.reserve0, moved.reserve1) == tuple(
        Decimal(r).scaleb(-18) for r in world.reserves()[:2]
    )
    assert moved.block > pool.block

    check = await dex.check_chain(chain.chain_id)
    assert check.matches and check.block == moved.block


async def test_pairs_without_a_pool_are_left_out(
    dex: DexService, admin: Principal, world: UniswapWorld
) -> None:
    _, record = await _registry(dex, admin, world)
    lonely = world.chain.run_sync(
        lambda: deploy(
            world.chain.w3,
            load_artifact(world.artifacts, "v2-core", "ERC20"),
            world.owner,
            10**24,
        )
    )
    followed = await dex.add_token(admin, record.id, lonely, "LONE")
    assert followed.token.decimals == 18
    pools = await dex.list_pools(record.id)
    assert [p.name for p in pools] in (["WETH/USD"], ["USD/WETH"])
    with pytest.raises(NotFoundError, match="has no LONE/WETH pool"):
        await dex.quote(record.id, "LONE", "WETH", Decimal(1))


@pytest.mark.parametrize("amount", ["0.000001", "1", "37.5", "500"])
async def test_quote_equals_the_routers_getAmountsOut(
    dex: DexService, admin: Principal, world: UniswapWorld, amount: str
) -> None:
    _, record = await _registry(dex, admin, world)
    units = int(Decimal(amount).scaleb(18))
    quote = await dex.quote(record.id, "WETH", "USD", Decimal(amount))
    expected = _router_amount_out(world, units, [world.weth.address, world.usd.address])
    assert quote.router_amount_out == Decimal(expected).scaleb(-18)
    assert quote.exact_amount_out == quote.router_amount_out and quote.agrees
    assert quote.amount_in == Decimal(amount)
    r0, r1, t0, _ = world.reserves()
    r_weth, r_usd = (r0, r1) if t0 == world.weth.address else (r1, r0)
    assert quote.mid_price == Decimal(r_usd) / Decimal(r_weth)
    assert quote.price == quote.router_amount_out / Decimal(amount)
    assert quote.price_impact == 1 - quote.price / quote.mid_price
    assert Decimal("0.003") <= quote.price_impact < Decimal("0.5")  # the 0.30 % fee, at least
    assert quote.balances == ()


async def test_quote_by_address_the_other_way_with_wallet_balances(
    dex: DexService, admin: Principal, world: UniswapWorld
) -> None:
    chain, record = await _registry(dex, admin, world)
    holder = world.chain.address(4)
    world.fund(holder, weth=3 * E18, usd=1234 * E18)
    wallet = dex.add_wallet(admin, chain.chain_id, "watched", address=holder)
    quote = await dex.quote(
        record.id, world.usd.address.lower(), world.weth.address, Decimal("2000"), wallet.id
    )
    expected = _router_amount_out(world, 2000 * E18, [world.usd.address, world.weth.address])
    assert quote.router_amount_out == Decimal(expected).scaleb(-18)
    assert (quote.token_in.symbol, quote.token_out.symbol) == ("USD", "WETH")
    assert [(b.symbol, b.amount) for b in quote.balances] == [
        ("USD", Decimal(1234)),
        ("WETH", Decimal(3)),
    ]
    balances = await dex.wallet_balances(wallet.id)
    assert [b.symbol for b in balances] == ["ETH", "WETH", "USD"]
    assert balances[1].amount == Decimal(3) and balances[2].amount == Decimal(1234)
    assert balances[0].amount == Decimal(world.chain.w3.eth.get_balance(holder)).scaleb(-18)


async def test_bad_quotes_are_refused_with_reasons(
    dex: DexService, admin: Principal, world: UniswapWorld
) -> None:
    _, record = await _registry(dex, admin, world)
    with pytest.raises(ValidationError, match="positive"):
        await dex.quote(record.id, "WETH", "USD", Decimal(0))
    with pytest.raises(ValidationError, match="smallest unit"):
        await dex.quote(record.id, "WETH", "USD", Decimal("1e-19"))
    with pytest.raises(ValidationError, match="two different tokens"):
        await dex.quote(record.id, "WETH", world.weth.address, Decimal(1))
    with pytest.raises(NotFoundError, match="does not follow a token 'DOGE'; add it first"):
        await dex.quote(record.id, "DOGE", "USD", Decimal(1))
    with pytest.raises(NotFoundError, match="no DEX"):
        await dex.quote("missing", "WETH", "USD", Decimal(1))


# --- adding a DEX checks the chain ---------------------------------------------------------


async def test_add_dex_checks_chain_id_contracts_and_factory(
    dex: DexService, admin: Principal, world: UniswapWorld, container: Container
) -> None:
    spec = world.dex
    wrong = dex.add_chain(admin, "wrong id", world.chain.url, 5)
    with pytest.raises(ValidationError, match=f"reports chain id {world.chain.chain_id}, not 5"):
        await dex.add_dex(admin, wrong.chain_id, "u", spec.router, spec.factory)
    chain = dex.add_chain(admin, "dev", world.chain.url, world.chain.chain_id)
    eoa = world.chain.address(5)
    with pytest.raises(ValidationError, match=f"no contract at the router address {eoa}"):
        await dex.add_dex(admin, chain.chain_id, "u", eoa, spec.factory)
    with pytest.raises(ValidationError, match="not a Uniswap V2-style router"):
        await dex.add_dex(admin, chain.chain_id, "u", spec.factory, spec.factory)
    with pytest.raises(ValidationError, match="works with the factory"):
        await dex.add_dex(admin, chain.chain_id, "u", spec.router, world.weth.address)
    with pytest.raises(ValidationError, match="LP fee"):
        await dex.add_dex(admin, chain.chain_id, "u", spec.router, spec.factory, 10_000)
    with pytest.raises(ValidationError, match="factory address must be 0x"):
        await dex.add_dex(admin, chain.chain_id, "u", spec.router, "0x12")
    assert dex.list_dexes() == []
    assert not [e for e in container.database.audit.list_recent() if e.action == "dex.add"]
    record = await dex.add_dex(admin, chain.chain_id, "u", spec.router, spec.factory, 25)
    assert record.fee_bps == 25
    with pytest.raises(ConflictError, match="already has a DEX named 'u'"):
        await dex.add_dex(admin, chain.chain_id, "u", spec.router, spec.factory)


async def test_add_token_reads_the_contract_and_refuses_non_tokens(
    dex: DexService, admin: Principal, world: UniswapWorld
) -> None:
    _, record = await _registry(dex, admin, world)
    with pytest.raises(ConflictError, match="already follows WETH"):
        await dex.add_token(admin, record.id, world.weth.address.lower())
    with pytest.raises(ValidationError, match="no contract at"):
        await dex.add_token(admin, record.id, world.chain.address(6))
    with pytest.raises(ValidationError, match="is it an ERC-20 token"):
        await dex.add_token(admin, record.id, world.deployment.factory)
    with pytest.raises(ValidationError, match="token address must be 0x"):
        await dex.add_token(admin, record.id, "WETH")
    assert [t.symbol for t in dex.list_tokens(record.id)] == ["WETH", "USD"]
    dex.remove_token(admin, record.id, "USD")
    assert [t.symbol for t in dex.list_tokens(record.id)] == ["WETH"]


# --- wallets and the vault -----------------------------------------------------------------


async def test_wallet_key_goes_to_the_vault_and_nowhere_else(
    dex: DexService,
    admin: Principal,
    world: UniswapWorld,
    container: Container,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    bare = secrets.token_hex(32)  # dev keys are mostly zeros: too easy to find by chance
    key = "0x" + bare
    chain, record = await _registry(dex, admin, world)
    wallet = dex.add_wallet(admin, chain.chain_id, "hot", private_key=key)
    assert wallet.address == Account.from_key(key).address and not wallet.watch_only
    assert wallet.secret_ref == f"wallet:{wallet.id}"
    assert container.vault.get(f"{wallet.secret_ref}:private_key") == key
    quote = await dex.quote(record.id, "WETH", "USD", Decimal(1), wallet.id)
    assert [b.amount for b in quote.balances] == [0, 0]
    with pytest.raises(ConflictError, match="already on dev as 'hot'"):
        dex.add_wallet(admin, chain.chain_id, "again", private_key=key)
    with pytest.raises(ValidationError, match="belongs to") as mismatch:
        dex.add_wallet(admin, chain.chain_id, "x", private_key=key, address=world.chain.address(1))
    texts = [repr(w) for w in dex.list_wallets()] + [repr(wallet), str(mismatch.value)]
    texts += [r.getMessage() for r in caplog.records]
    texts += [f"{e.subject} {e.detail}" for e in container.database.audit.list_recent()]
    leaks = [t for t in texts if bare in t or bare.upper() in t]
    assert not leaks
    raw = _db_bytes(container)
    assert raw and bare.encode() not in raw and bare.upper().encode() not in raw
    assert len(dex.list_wallets()) == 1

    dex.remove_wallet(admin, wallet.id)
    assert dex.list_wallets() == []
    assert not container.vault.get(f"{wallet.secret_ref}:private_key")
    with pytest.raises(NotFoundError):
        dex.remove_wallet(admin, wallet.id)


def test_bad_private_key_is_refused_without_echo_and_changes_nothing(
    dex: DexService, admin: Principal, container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    chain = dex.add_chain(admin, "dev", "http://127.0.0.1:9", 1337)
    bad = "0x" + "zz" * 32
    short = "0x" + "ab" * 31
    for key in (bad, short):
        with pytest.raises(ValidationError, match="not a valid private key") as info:
            dex.add_wallet(admin, chain.chain_id, "hot", private_key=key)
        assert key not in str(info.value) and key[2:] not in str(info.value)
    # a key pasted into the address field is not echoed either
    with pytest.raises(ValidationError, match="must be 0x followed by 40 hex") as info:
        dex.add_wallet(admin, chain.chain_id, "oops", address="0x" + "ab" * 32)
    assert "ab" * 32 not in str(info.value)
    with pytest.raises(ValidationError, match="private key to trade"):
        dex.add_wallet(admin, chain.chain_id, "none")
    with pytest.raises(ValidationError, match="label"):
        dex.add_wallet(admin, chain.chain_id, " ", address="0x" + "11" * 20)
    with pytest.raises(NotFoundError, match="no chain with id 9"):
        dex.add_wallet(admin, 9, "w", address="0x" + "11" * 20)
    assert dex.list_wallets() == []
    assert not any("ab" * 31 in r.getMessage() for r in caplog.records)
    actions = [e.action for e in container.database.audit.list_recent()]
    assert [a for a in actions if a.startswith(("chain.", "wallet."))] == ["chain.add"]


def test_watch_only_wallet_has_no_secret(dex: DexService, admin: Principal) -> None:
    chain = dex.add_chain(admin, "dev", "http://127.0.0.1:9", 1337)
    address = "0x00000000219ab540356cBB839Cbe05303d7705Fa"
    wallet = dex.add_wallet(admin, chain.chain_id, "deposit contract", address=address)
    assert wallet.watch_only and wallet.secret_ref is None and wallet.address == address
    assert dex.list_wallets(chain.chain_id) == [wallet]
    dex.remove_wallet(admin, wallet.id)


# --- chains with keys in their RPC URL ---------------------------------------------------


async def test_rpc_key_is_kept_in_the_vault_and_used_but_never_stored_or_logged(
    dex: DexService,
    admin: Principal,
    world: UniswapWorld,
    container: Container,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"{world.chain.url}/?apikey={RPC_KEY}"
    chain, record = await _registry(dex, admin, world, url)
    assert chain.rpc_url == f"{world.chain.url}/?apikey=***"
    assert chain.rpc_secret_ref is not None
    assert container.vault.get(f"{chain.rpc_secret_ref}:rpc_url") == url
    assert (await dex.list_pools(record.id))[0].reserve0 > 0  # the node was reached
    assert RPC_KEY.encode() not in _db_bytes(container)
    texts = [r.getMessage() for r in caplog.records]
    assert any(world.chain.url in t for t in texts)  # web3 did log its URI...
    assert not any(RPC_KEY in t for t in texts)  # ...with the key masked
    assert not any(
        RPC_KEY in f"{e.subject} {e.detail}" for e in container.database.audit.list_recent()
    )

    with pytest.raises(ConflictError, match="remove them first"):
        dex.remove_chain(admin, chain.chain_id)
    dex.remove_dex(admin, record.id)
    dex.remove_chain(admin, chain.chain_id)
    assert dex.list_chains() == []
    assert not container.vault.get(f"{chain.rpc_secret_ref}:rpc_url")


async def test_unreachable_node_is_a_venue_error_naming_the_chain_not_the_key(
    dex: DexService,
    admin: Principal,
    world: UniswapWorld,
    container: Container,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key_path = "http://user:" + RPC_KEY + "@127.0.0.1:9/v3/" + RPC_KEY
    chain = dex.add_chain(admin, "mainnet", key_path, 1)
    assert chain.rpc_url == "http://***@127.0.0.1:9/v3/***"
    spec = world.dex
    with pytest.raises(VenueError, match="chain 'mainnet' \\(id 1\\)") as info:
        await dex.add_dex(admin, 1, "uniswap", spec.router, spec.factory)
    assert "unreachable" in str(info.value) and RPC_KEY not in str(info.value)
    with pytest.raises(VenueError) as check:
        await dex.check_chain(1)
    assert RPC_KEY not in str(check.value)
    assert dex.list_dexes() == []
    assert not any(RPC_KEY in r.getMessage() for r in caplog.records)
    assert RPC_KEY.encode() not in _db_bytes(container)


def test_bad_chains_are_refused_and_change_nothing(dex: DexService, admin: Principal) -> None:
    dex.add_chain(admin, "dev", "http://127.0.0.1:8545", 1337)
    cases: list[tuple[dict[str, object], type[TaskStationError], str]] = [
        ({"rpc_url": "ftp://node"}, ValidationError, "must start with http"),
        ({"rpc_url": "http://"}, ValidationError, "no host"),
        ({"chain_id": 0}, ValidationError, "chain id must be a positive"),
        ({"chain_id": True}, ValidationError, "chain id must be a positive"),
        ({"name": ""}, ValidationError, "chain name"),
        ({"native_symbol": "E T H"}, ValidationError, "native symbol"),
        ({"chain_id": 1337}, ConflictError, "already registered as 'dev'"),
        ({"name": "dev"}, ConflictError, "'dev' already exists"),
    ]
    for changes, error, message in cases:
        args: dict[str, object] = {"name": "other", "rpc_url": "http://127.0.0.1:1", "chain_id": 7}
        args.update(changes)
        with pytest.raises(error, match=message):
            dex.add_chain(admin, **args)  # type: ignore[arg-type]
    assert [c.name for c in dex.list_chains()] == ["dev"]


# --- permissions and audit ---------------------------------------------------------------


async def test_viewers_read_and_quote_but_cannot_change_anything(
    dex: DexService, admin: Principal, world: UniswapWorld, container: Container
) -> None:
    chain, record = await _registry(dex, admin, world)
    assert dex.list_chains() and dex.list_dexes() and dex.list_tokens(record.id)
    assert await dex.list_pools(record.id)
    assert (await dex.quote(record.id, "WETH", "USD", Decimal(1))).agrees
    spec = world.dex
    with pytest.raises(PermissionDeniedError, match="vera"):
        dex.add_chain(VIEWER, "x", "http://127.0.0.1:1", 7)
    with pytest.raises(PermissionDeniedError):
        dex.add_wallet(VIEWER, chain.chain_id, "w", address=world.chain.address(1))
    with pytest.raises(PermissionDeniedError):
        await dex.add_dex(VIEWER, chain.chain_id, "y", spec.router, spec.factory)
    with pytest.raises(PermissionDeniedError):
        await dex.add_token(VIEWER, record.id, world.weth.address)
    with pytest.raises(PermissionDeniedError):
        dex.remove_dex(VIEWER, record.id)
    with pytest.raises(PermissionDeniedError):
        dex.remove_chain(VIEWER, chain.chain_id)
    trader = Principal("u-t", "tom", Role.TRADER)
    wallet = dex.add_wallet(trader, chain.chain_id, "w", address=world.chain.address(1))
    with pytest.raises(PermissionDeniedError):
        dex.remove_wallet(VIEWER, wallet.id)
    entries = container.database.audit.list_recent()[::-1]
    dex_areas = ("chain.", "wallet.", "dex.")
    assert [(e.actor, e.action) for e in entries if e.action.startswith(dex_areas)] == [
        ("admin", "chain.add"),
        ("admin", "dex.add"),
        ("admin", "dex.token.add"),
        ("admin", "dex.token.add"),
        ("tom", "wallet.add"),
    ]
