"""DEX registry and reads: chains, wallets, DEXes, followed tokens, pools and quotes.

Secrets go to the vault and nowhere else:

* a wallet's private key is stored under ``wallet:<id>:private_key``; the database keeps
  the reference, the address is derived from the key, and nothing here returns, logs or
  echoes the key (a malformed one gives an error that does not repeat it);
* an RPC URL's secret parts (an API key in the path, the query or the user info, see
  ``domain.dex_registry.split_rpc_url``) make the full URL go to the vault under
  ``chain:<ref>:rpc_url``; the database keeps the display form with ``***`` in their
  place. Errors from the node are scrubbed of the URL before they reach the trader, and
  web3's own log records are scrubbed by a filter on its loggers.

Nodes are reached through a ``ChainNodeFactory`` passed in by the container, so this
module never imports web3 (``Web3ChainNodes`` adapts ``venues.dex.client``).
"""

from __future__ import annotations

import builtins
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal
from itertools import combinations
from typing import Any, Protocol

from task_station.domain.clock import Clock
from task_station.domain.dex import UNISWAP_V2_FEE_BPS, DexSpec, PoolState, Token
from task_station.domain.dex_registry import (
    ChainRecord,
    DexRecord,
    FollowedToken,
    RpcUrl,
    WalletRecord,
    same_address,
    split_rpc_url,
)
from task_station.domain.errors import (
    ConflictError,
    NotFoundError,
    SecretStoreError,
    ValidationError,
    VenueError,
)
from task_station.domain.ports import AuditLog, DexStore
from task_station.services.accounts import SecretStore
from task_station.services.principal import Principal
from task_station.venues.dex.client import ZERO_ADDRESS, Quote, UniswapV2Client, http_web3
from task_station.venues.dex.contracts import abi
from task_station.venues.dex.errors import node_error
from task_station.venues.dex.wallet import Wallet

log = logging.getLogger(__name__)

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SYMBOL = re.compile(r"^[A-Za-z0-9.$_+-]{1,32}$")
_ONE = Decimal(1)
#: Wide enough for any uint256: trailing zeros go, digits never do.
_EXACT = Context(prec=100)


def _plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros (``100``, not ``100.000000000000000000``)."""
    return value.normalize(_EXACT)


def _amount(token: Token, units: int) -> Decimal:
    return _plain(token.from_units(units))


# --- what the service needs from a node ------------------------------------------------


class DexReader(Protocol):
    """One DEX on a node (implemented by ``venues.dex.client.UniswapV2Client``)."""

    async def pair_address(self, token_a: str, token_b: str) -> str: ...
    async def pool(self, pair: str, *, block: int | str = "latest") -> PoolState: ...
    async def quote(self, amount_in: int, token_in: str, token_out: str) -> Quote: ...


class ChainNode(Protocol):
    """One JSON-RPC endpoint of one chain, open until ``close``."""

    async def chain_id(self) -> int: ...
    async def block_number(self) -> int: ...
    async def is_contract(self, address: str) -> bool: ...
    async def router_factory(self, router: str) -> str: ...
    async def token(self, address: str, symbol: str | None = None) -> Token: ...
    async def balance_of(self, token: str, owner: str) -> int: ...
    async def native_balance(self, owner: str) -> int: ...
    def dex(self, spec: DexSpec) -> DexReader: ...
    async def close(self) -> None: ...


class ChainNodeFactory(Protocol):
    def open(self, rpc_url: str) -> ChainNode: ...


# --- results --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """A node answered: its chain id (``matches`` ours) and latest block."""

    chain_id: int
    name: str
    node_chain_id: int
    block: int
    checked_at: datetime

    @property
    def matches(self) -> bool:
        return self.node_chain_id == self.chain_id


@dataclass(frozen=True, slots=True)
class PoolView:
    """A pool of two followed tokens: reserves in token units, ``price`` in token1 per
    token0 at the margin (``None`` while the pool is empty)."""

    dex_id: str
    pair: str
    token0: Token
    token1: Token
    reserve0: Decimal
    reserve1: Decimal
    price: Decimal | None
    block: int
    fee_bps: int

    @property
    def name(self) -> str:
        return f"{self.token0.symbol}/{self.token1.symbol}"


@dataclass(frozen=True, slots=True)
class TokenBalance:
    symbol: str
    address: str | None  # None for the chain's native coin
    amount: Decimal


@dataclass(frozen=True, slots=True)
class QuoteView:
    """What ``amount_in`` of ``token_in`` buys now on one DEX.

    ``router_amount_out`` is the router's ``getAmountsOut``; ``exact_amount_out`` our own
    integer math on the same reserves (``agrees`` when equal). ``price`` is the executed
    price (token_out per token_in), ``mid_price`` the pool's marginal price before the
    swap, and ``price_impact`` the fraction lost against it, LP fee included
    (``1 - price / mid_price``). ``balances`` are the wallet's, when one was named.
    """

    dex_id: str
    token_in: Token
    token_out: Token
    amount_in: Decimal
    router_amount_out: Decimal
    exact_amount_out: Decimal
    agrees: bool
    price: Decimal
    mid_price: Decimal
    price_impact: Decimal
    pair: str
    block: int
    wallet_id: str | None = None
    balances: tuple[TokenBalance, ...] = ()


# --- keeping URLs with keys out of web3's log records ----------------------------------


class _UrlScrubber(logging.Filter):
    """Masks watched RPC URLs (and their secret parts) in web3's and aiohttp's records.

    web3 logs its endpoint URI (``Making request HTTP. URI: ...``); a logger's filters
    run before any handler sees the record, including handlers added by tests or tools.
    """

    def __init__(self) -> None:
        super().__init__()
        self._urls: dict[str, RpcUrl] = {}
        self._attached: set[str] = set()

    def watch(self, url: RpcUrl) -> None:
        if url.has_secret:
            self._urls[url.full] = url
        for name in list(logging.root.manager.loggerDict):
            if name.startswith(("web3", "aiohttp")) and name not in self._attached:
                logging.getLogger(name).addFilter(self)
                self._attached.add(name)

    def scrub(self, text: str) -> str:
        for url in self._urls.values():
            text = url.scrub(text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._urls:
            return True
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_SCRUBBER = _UrlScrubber()


# --- the service ----------------------------------------------------------------------


def _name(value: str, what: str, limit: int = 80) -> str:
    value = (value or "").strip()
    if not value or len(value) > limit:
        raise ValidationError(f"the {what} must have 1-{limit} characters")
    return value


def _address(value: str, what: str) -> str:
    """An EVM address, with an error that never repeats the value (it may be a key)."""
    value = (value or "").strip()
    if not _ADDRESS.match(value):
        raise ValidationError(f"the {what} must be 0x followed by 40 hex digits")
    return value


def _positive_int(value: object, what: str, upper: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(f"the {what} must be a positive whole number")
    if upper is not None and value > upper:
        raise ValidationError(f"the {what} must be at most {upper}")
    return value


class DexService:
    """Viewers read; traders and admins add and remove. Reads that reach a node are
    ``async``; registry writes that do not are plain methods."""

    def __init__(
        self,
        store: DexStore,
        vault: SecretStore,
        clock: Clock,
        audit: AuditLog,
        nodes: ChainNodeFactory,
    ) -> None:
        self._store = store
        self._vault = vault
        self._clock = clock
        self._audit = audit
        self._nodes = nodes

    # -- chains ------------------------------------------------------------------------

    def list_chains(self) -> builtins.list[ChainRecord]:
        return self._store.list_chains()

    def get_chain(self, chain_id: int) -> ChainRecord:
        chain = self._store.get_chain(chain_id)
        if chain is None:
            raise NotFoundError(f"no chain with id {chain_id}")
        return chain

    def add_chain(
        self,
        actor: Principal,
        name: str,
        rpc_url: str,
        chain_id: int,
        native_symbol: str = "ETH",
    ) -> ChainRecord:
        """Register a chain. A URL with an API key goes to the vault; the database keeps
        its display form. Nothing is asked of the node yet (``check_chain`` does)."""
        actor.require_trader("add chains")
        name = _name(name, "chain name")
        chain_id = _positive_int(chain_id, "chain id", 2**63 - 1)
        native_symbol = (native_symbol or "").strip()
        if not _SYMBOL.match(native_symbol):
            raise ValidationError("the native symbol must have 1-32 letters or digits, e.g. ETH")
        url = split_rpc_url(rpc_url)
        if len(url.display) > 1024:
            raise ValidationError("the RPC URL is too long (at most 1024 characters)")
        for known in self._store.list_chains():  # refuse before touching the vault
            if known.chain_id == chain_id:
                raise ConflictError(f"chain id {chain_id} is already registered as {known.name!r}")
            if known.name == name:
                raise ConflictError(f"a chain named {name!r} already exists")
        ref = f"chain:{uuid.uuid4().hex}" if url.has_secret else None
        record = ChainRecord(chain_id, name, url.display, native_symbol, ref, self._clock.now())
        if ref is not None:
            self._vault.set(f"{ref}:rpc_url", url.full)
        try:
            self._store.add_chain(record)
        except Exception:
            if ref is not None:
                self._vault.delete(f"{ref}:rpc_url")
            raise
        self._audit.record(
            record.created_at, actor.username, "chain.add", str(chain_id), f"{name} {url.display}"
        )
        log.info("chain %s (id %d) added at %s", name, chain_id, url.display)
        return record

    def remove_chain(self, actor: Principal, chain_id: int) -> None:
        """Refused while wallets or DEXes still use the chain."""
        actor.require_trader("remove chains")
        chain = self.get_chain(chain_id)
        self._store.remove_chain(chain_id)
        if chain.rpc_secret_ref is not None:
            self._vault.delete(f"{chain.rpc_secret_ref}:rpc_url")
        self._audit.record(
            self._clock.now(), actor.username, "chain.remove", str(chain_id), chain.name
        )

    async def check_chain(self, chain_id: int) -> ChainCheck:
        """Ask the chain's node for its chain id and latest block."""
        chain = self.get_chain(chain_id)
        async with self._node(chain) as node:
            node_chain_id = await node.chain_id()
            block = await node.block_number()
        return ChainCheck(chain_id, chain.name, node_chain_id, block, self._clock.now())

    def _rpc_url(self, chain: ChainRecord) -> RpcUrl:
        if chain.rpc_secret_ref is None:
            return split_rpc_url(chain.rpc_url)
        full = self._vault.get(f"{chain.rpc_secret_ref}:rpc_url")
        if not full:
            raise SecretStoreError(
                f"the vault has no RPC URL for chain {chain.name!r}; remove and add it again"
            )
        return split_rpc_url(full)

    @asynccontextmanager
    async def _node(self, chain: ChainRecord) -> AsyncIterator[ChainNode]:
        """An open node of ``chain``; its errors name the chain and never the URL's key."""
        url = self._rpc_url(chain)
        _SCRUBBER.watch(url)
        try:
            node = self._nodes.open(url.full)
        except ValidationError:
            raise ValidationError(
                f"chain {chain.name!r}: the RPC URL {url.display} cannot be used "
                "(only http:// and https:// nodes are supported for now)"
            ) from None
        try:
            yield node
        except VenueError as exc:
            message = url.scrub(str(exc))
            raise VenueError(f"chain {chain.name!r} (id {chain.chain_id}): {message}") from None
        finally:
            await node.close()

    # -- wallets -----------------------------------------------------------------------

    def list_wallets(self, chain_id: int | None = None) -> builtins.list[WalletRecord]:
        return self._store.list_wallets(chain_id)

    def get_wallet(self, wallet_id: str) -> WalletRecord:
        wallet = self._store.get_wallet(wallet_id)
        if wallet is None:
            raise NotFoundError(f"no wallet with id {wallet_id!r}")
        return wallet

    def add_wallet(
        self,
        actor: Principal,
        chain_id: int,
        label: str,
        private_key: str | None = None,
        address: str | None = None,
    ) -> WalletRecord:
        """A signing wallet from its private key (the key goes to the vault, the address
        is derived from it), or a watch-only wallet from its address."""
        actor.require_trader("add wallets")
        chain = self.get_chain(chain_id)
        label = _name(label, "wallet label")
        key = (private_key or "").strip()
        watched = (address or "").strip()
        if not key and not watched:
            raise ValidationError(
                "give a private key to trade from the wallet, or an address to watch"
            )
        wallet_id = uuid.uuid4().hex
        now = self._clock.now()
        if not key:
            watched = _address(watched, "watch-only address")
            record = WalletRecord(wallet_id, chain.chain_id, watched, label, True, None, now)
            self._store.add_wallet(record)
        else:
            signer = Wallet.from_key(key)  # validates; its error never echoes the key
            if watched and not same_address(_address(watched, "address"), signer.address):
                raise ValidationError(
                    f"that private key belongs to {signer.address}, not to {watched}"
                )
            ref = f"wallet:{wallet_id}"
            record = WalletRecord(wallet_id, chain.chain_id, signer.address, label, False, ref, now)
            self._vault.set(f"{ref}:private_key", key)
            try:
                self._store.add_wallet(record)
            except Exception:
                self._vault.delete(f"{ref}:private_key")
                raise
        kind = "watch-only" if record.watch_only else "signing"
        self._audit.record(
            now, actor.username, "wallet.add", wallet_id, f"{label} {record.address} ({kind})"
        )
        log.info("%s wallet %s (%s) added on %s", kind, label, record.address, chain.name)
        return record

    def remove_wallet(self, actor: Principal, wallet_id: str) -> None:
        """Forget the wallet and delete its key from the vault."""
        actor.require_trader("remove wallets")
        wallet = self.get_wallet(wallet_id)
        self._store.remove_wallet(wallet_id)
        if wallet.secret_ref is not None:
            self._vault.delete(f"{wallet.secret_ref}:private_key")
        self._audit.record(
            self._clock.now(), actor.username, "wallet.remove", wallet_id, wallet.label
        )

    async def wallet_balances(self, wallet_id: str) -> builtins.list[TokenBalance]:
        """The native coin, then every token followed by a DEX of the wallet's chain."""
        wallet = self.get_wallet(wallet_id)
        chain = self.get_chain(wallet.chain_id)
        tokens: dict[str, Token] = {}
        for dex in self._store.list_dexes(chain.chain_id):
            for followed in self._store.list_tokens(dex.id):
                tokens.setdefault(followed.address.lower(), followed.token)
        async with self._node(chain) as node:
            native = await node.native_balance(wallet.address)
            amounts = [await node.balance_of(t.address, wallet.address) for t in tokens.values()]
        balances = [TokenBalance(chain.native_symbol, None, _plain(Decimal(native).scaleb(-18)))]
        balances += [
            TokenBalance(t.symbol, t.address, _amount(t, units))
            for t, units in zip(tokens.values(), amounts, strict=True)
        ]
        return balances

    # -- DEXes -------------------------------------------------------------------------

    def list_dexes(self, chain_id: int | None = None) -> builtins.list[DexRecord]:
        return self._store.list_dexes(chain_id)

    def get_dex(self, dex_id: str) -> DexRecord:
        dex = self._store.get_dex(dex_id)
        if dex is None:
            raise NotFoundError(f"no DEX with id {dex_id!r}")
        return dex

    async def add_dex(
        self,
        actor: Principal,
        chain_id: int,
        name: str,
        router: str,
        factory: str,
        fee_bps: int = UNISWAP_V2_FEE_BPS,
    ) -> DexRecord:
        """Register a Uniswap V2-compatible DEX after checking, on the chain's node, that
        the node is that chain, that router and factory are contracts, and that the
        router works with that factory."""
        actor.require_trader("add DEXes")
        chain = self.get_chain(chain_id)
        name = _name(name, "DEX name")
        router = _address(router, "router address")
        factory = _address(factory, "factory address")
        if isinstance(fee_bps, bool) or not isinstance(fee_bps, int) or not 0 <= fee_bps < 10_000:
            raise ValidationError("the LP fee must be a whole number of basis points, 0-9999")
        if any(d.name == name for d in self._store.list_dexes(chain_id)):
            raise ConflictError(f"{chain.name} already has a DEX named {name!r}")
        record = DexRecord(
            uuid.uuid4().hex, chain_id, name, router, factory, fee_bps, self._clock.now()
        )
        async with self._node(chain) as node:
            node_chain_id = await node.chain_id()
            if node_chain_id != chain_id:
                raise ValidationError(
                    f"the node of {chain.name} reports chain id {node_chain_id}, not {chain_id}: "
                    "check the chain's RPC URL and id"
                )
            for what, address in (("router", router), ("factory", factory)):
                if not await node.is_contract(address):
                    raise ValidationError(
                        f"there is no contract at the {what} address {address} on {chain.name}"
                    )
            try:
                actual = await node.router_factory(router)
            except VenueError:
                raise ValidationError(
                    f"the contract at {router} does not answer factory(): "
                    "it is not a Uniswap V2-style router"
                ) from None
        if not same_address(actual, factory):
            raise ValidationError(
                f"the router {router} works with the factory {actual}, not {factory}"
            )
        self._store.add_dex(record)
        self._audit.record(
            record.created_at, actor.username, "dex.add", record.id, f"{name} on {chain.name}"
        )
        log.info("DEX %s added on %s (router %s)", name, chain.name, router)
        return record

    def remove_dex(self, actor: Principal, dex_id: str) -> None:
        """Forget the DEX and the tokens it follows."""
        actor.require_trader("remove DEXes")
        dex = self.get_dex(dex_id)
        self._store.remove_dex(dex_id)
        self._audit.record(self._clock.now(), actor.username, "dex.remove", dex_id, dex.name)

    # -- followed tokens ---------------------------------------------------------------

    def list_tokens(self, dex_id: str) -> builtins.list[FollowedToken]:
        self.get_dex(dex_id)
        return self._store.list_tokens(dex_id)

    async def add_token(
        self, actor: Principal, dex_id: str, address: str, symbol: str | None = None
    ) -> FollowedToken:
        """Follow a token on a DEX; decimals (and the symbol, unless given) are read from
        its contract."""
        actor.require_trader("follow tokens")
        dex = self.get_dex(dex_id)
        chain = self.get_chain(dex.chain_id)
        address = _address(address, "token address")
        wanted = (symbol or "").strip() or None
        if wanted is not None and not _SYMBOL.match(wanted):
            raise ValidationError("a token symbol has 1-32 letters, digits or . $ _ + -")
        known = self._store.list_tokens(dex_id)
        for followed in known:
            if same_address(followed.address, address):
                raise ConflictError(f"{dex.name} already follows {followed.symbol} ({address})")
        async with self._node(chain) as node:
            await node.chain_id()  # an unreachable node is the chain's error, not the token's
            try:
                token = await node.token(address, wanted)
            except NotFoundError:
                raise ValidationError(
                    f"there is no contract at {address} on {chain.name}: is it the right chain?"
                ) from None
            except VenueError:
                raise ValidationError(
                    f"the contract at {address} does not answer decimals() and symbol(): "
                    "is it an ERC-20 token?"
                ) from None
        if not _SYMBOL.match(token.symbol):
            raise ValidationError(
                f"the token at {address} calls itself {token.symbol[:40]!r}; give it a symbol"
            )
        if any(f.symbol == token.symbol for f in known):
            raise ConflictError(
                f"{dex.name} already follows a token called {token.symbol}; "
                "give this one another symbol"
            )
        followed = self._store.add_token(dex_id, token, self._clock.now())
        self._audit.record(
            followed.created_at,
            actor.username,
            "dex.token.add",
            dex_id,
            f"{token.symbol} {token.address}",
        )
        return followed

    def remove_token(self, actor: Principal, dex_id: str, address: str) -> None:
        actor.require_trader("unfollow tokens")
        dex = self.get_dex(dex_id)
        followed = self._followed(dex, address)
        self._store.remove_token(dex_id, followed.address)
        self._audit.record(
            self._clock.now(),
            actor.username,
            "dex.token.remove",
            dex_id,
            f"{followed.symbol} {followed.address}",
        )

    def _followed(self, dex: DexRecord, symbol_or_address: str) -> FollowedToken:
        wanted = (symbol_or_address or "").strip()
        for followed in self._store.list_tokens(dex.id):
            if followed.symbol == wanted or (
                _ADDRESS.match(wanted) and same_address(followed.address, wanted)
            ):
                return followed
        raise NotFoundError(f"{dex.name} does not follow a token {wanted[:64]!r}; add it first")

    # -- pools and quotes --------------------------------------------------------------

    async def list_pools(self, dex_id: str) -> builtins.list[PoolView]:
        """Every existing pool between two followed tokens, with reserves and price."""
        dex = self.get_dex(dex_id)
        chain = self.get_chain(dex.chain_id)
        tokens = {f.address.lower(): f.token for f in self._store.list_tokens(dex_id)}
        pools: list[PoolState] = []
        async with self._node(chain) as node:
            reader = node.dex(dex.spec)
            for a, b in combinations(tokens.values(), 2):
                try:
                    pair = await reader.pair_address(a.address, b.address)
                except NotFoundError:
                    continue  # no pool for this pair on this DEX
                pools.append(await reader.pool(pair))
        views = [self._pool_view(dex, p, tokens) for p in pools]
        return sorted(views, key=lambda v: (v.name, v.pair))

    @staticmethod
    def _pool_view(dex: DexRecord, pool: PoolState, tokens: dict[str, Token]) -> PoolView:
        # the trader's symbols, not whatever the contracts call themselves
        t0 = tokens.get(pool.token0.address.lower(), pool.token0)
        t1 = tokens.get(pool.token1.address.lower(), pool.token1)
        r0, r1 = _amount(t0, pool.reserve0), _amount(t1, pool.reserve1)
        return PoolView(
            dex_id=dex.id,
            pair=pool.pair,
            token0=t0,
            token1=t1,
            reserve0=r0,
            reserve1=r1,
            price=_plain(r1 / r0) if pool.reserve0 and pool.reserve1 else None,
            block=pool.block,
            fee_bps=pool.fee_bps,
        )

    async def quote(
        self,
        dex_id: str,
        token_in: str,
        token_out: str,
        amount: Decimal,
        wallet_id: str | None = None,
    ) -> QuoteView:
        """Quote selling ``amount`` of ``token_in`` (a followed token's symbol or address)
        for ``token_out``: the router's answer, ours, the price and its impact; with a
        wallet, its balances of both tokens."""
        dex = self.get_dex(dex_id)
        chain = self.get_chain(dex.chain_id)
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            raise ValidationError("the amount to quote must be a positive number")
        tin = self._followed(dex, token_in).token
        tout = self._followed(dex, token_out).token
        if same_address(tin.address, tout.address):
            raise ValidationError("pick two different tokens to quote")
        units = tin.to_units(amount)
        if units <= 0:
            raise ValidationError(
                f"{amount} {tin.symbol} is less than its smallest unit (1e-{tin.decimals})"
            )
        wallet = None if wallet_id is None else self.get_wallet(wallet_id)
        if wallet is not None and wallet.chain_id != chain.chain_id:
            raise ValidationError(f"wallet {wallet.label!r} is not on {chain.name}")
        balances: tuple[TokenBalance, ...] = ()
        async with self._node(chain) as node:
            try:
                quote = await node.dex(dex.spec).quote(units, tin.address, tout.address)
            except NotFoundError:
                raise NotFoundError(f"{dex.name} has no {tin.symbol}/{tout.symbol} pool") from None
            if wallet is not None:
                held_in = await node.balance_of(tin.address, wallet.address)
                held_out = await node.balance_of(tout.address, wallet.address)
                balances = (
                    TokenBalance(tin.symbol, tin.address, _amount(tin, held_in)),
                    TokenBalance(tout.symbol, tout.address, _amount(tout, held_out)),
                )
        reserve_in, reserve_out = quote.pool.reserves_for(quote.token_in.address)
        if reserve_in == 0 or reserve_out == 0:
            raise ValidationError(f"the {tin.symbol}/{tout.symbol} pool has no liquidity")
        amount_in = _amount(tin, units)
        router_out = _amount(tout, quote.router_amount_out)
        mid = _plain(_amount(tout, reserve_out) / _amount(tin, reserve_in))
        price = _plain(router_out / amount_in)
        return QuoteView(
            dex_id=dex.id,
            token_in=tin,
            token_out=tout,
            amount_in=amount_in,
            router_amount_out=router_out,
            exact_amount_out=_amount(tout, quote.exact_amount_out),
            agrees=quote.agrees,
            price=price,
            mid_price=mid,
            price_impact=_plain(_ONE - price / mid),
            pair=quote.pool.pair,
            block=quote.pool.block,
            wallet_id=None if wallet is None else wallet.id,
            balances=balances,
        )


# --- the default nodes: web3 over HTTP, through venues.dex.client ----------------------

#: Placeholder DEX for chain-level reads (tokens, balances) that need no router.
_NO_DEX = DexSpec("chain", 1, ZERO_ADDRESS, ZERO_ADDRESS, 0)


class Web3ChainNode:
    """``ChainNode`` over ``venues.dex.client`` (async web3, HTTP JSON-RPC)."""

    def __init__(self, rpc_url: str, timeout: float) -> None:
        self._w3 = http_web3(rpc_url, timeout=timeout)
        self._chain = UniswapV2Client(self._w3, _NO_DEX)

    async def chain_id(self) -> int:
        return await self._chain.chain_id()

    async def block_number(self) -> int:
        return await self._chain.block_number()

    async def is_contract(self, address: str) -> bool:
        try:
            code = await self._w3.eth.get_code(self._chain.checksum(address))
        except Exception as exc:
            raise node_error(f"reading the code at {address}", exc) from exc
        return bool(code)

    async def router_factory(self, router: str) -> str:
        contract: Any = self._w3.eth.contract(
            address=self._chain.checksum(router), abi=abi("router")
        )
        try:
            return str(await contract.functions.factory().call())
        except Exception as exc:
            raise node_error(f"asking the router {router} for its factory", exc) from exc

    async def token(self, address: str, symbol: str | None = None) -> Token:
        return await self._chain.token(address, symbol)

    async def balance_of(self, token: str, owner: str) -> int:
        return await self._chain.balance_of(token, owner)

    async def native_balance(self, owner: str) -> int:
        return await self._chain.native_balance(owner)

    def dex(self, spec: DexSpec) -> DexReader:
        return UniswapV2Client(self._w3, spec)

    async def close(self) -> None:
        await self._w3.provider.disconnect()


class Web3ChainNodes:
    """``ChainNodeFactory`` for real nodes (and the loopback dev chain)."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._timeout = timeout

    def open(self, rpc_url: str) -> ChainNode:
        return Web3ChainNode(rpc_url, self._timeout)


__all__ = [
    "ChainCheck",
    "ChainNode",
    "ChainNodeFactory",
    "DexReader",
    "DexService",
    "PoolView",
    "QuoteView",
    "TokenBalance",
    "Web3ChainNodes",
]
