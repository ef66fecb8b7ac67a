"""Read side of a Uniswap V2-compatible DEX: tokens, pairs, reserves and quotes.

Works with any router and factory (SushiSwap, PancakeSwap-style forks), over any web3
provider. Quotes come twice, from the router's ``getAmountsOut`` and from our own exact
integer math on the reserves, so a disagreement (a fee-on-transfer token, a fork with
another fee) is visible instead of silently costing money.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from web3 import AsyncHTTPProvider, AsyncWeb3, WebSocketProvider

from task_station.domain import amm
from task_station.domain.dex import DexSpec, PoolState, Token, check_address
from task_station.domain.errors import NotFoundError, ValidationError
from task_station.venues.dex.contracts import abi
from task_station.venues.dex.errors import node_error

ZERO_ADDRESS = "0x" + "0" * 40


def http_web3(rpc_url: str, *, timeout: float = 10.0) -> AsyncWeb3[Any]:
    """An async web3 over HTTP(S) JSON-RPC."""
    if not rpc_url.startswith(("http://", "https://")):
        raise ValidationError(f"{rpc_url!r} is not an HTTP(S) RPC URL")
    return AsyncWeb3(AsyncHTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))


def websocket_provider(rpc_url: str) -> WebSocketProvider:
    """A persistent WebSocket provider (``async with AsyncWeb3(provider) as w3``)."""
    if not rpc_url.startswith(("ws://", "wss://")):
        raise ValidationError(f"{rpc_url!r} is not a WebSocket RPC URL")
    return WebSocketProvider(rpc_url)


@dataclass(frozen=True, slots=True)
class Quote:
    """What ``amount_in`` of ``token_in`` buys now, from the router and from our math."""

    token_in: Token
    token_out: Token
    amount_in: int
    router_amount_out: int
    exact_amount_out: int
    pool: PoolState

    @property
    def agrees(self) -> bool:
        return self.router_amount_out == self.exact_amount_out


class UniswapV2Client:
    """Reads one DEX (router + factory) on one chain."""

    def __init__(self, w3: AsyncWeb3[Any], dex: DexSpec) -> None:
        self.w3 = w3
        self.dex = dex
        self.router = w3.eth.contract(address=self.checksum(dex.router), abi=abi("router"))
        self.factory = w3.eth.contract(address=self.checksum(dex.factory), abi=abi("factory"))
        self._tokens: dict[str, Token] = {}
        self._pairs: dict[tuple[str, str], str] = {}

    def checksum(self, address: str) -> ChecksumAddress:
        return self.w3.to_checksum_address(check_address(address))

    def erc20(self, address: str) -> Any:
        return self.w3.eth.contract(address=self.checksum(address), abi=abi("erc20"))

    def pair_contract(self, address: str) -> Any:
        return self.w3.eth.contract(address=self.checksum(address), abi=abi("pair"))

    async def chain_id(self) -> int:
        try:
            return int(await self.w3.eth.chain_id)
        except Exception as exc:
            raise node_error("reading the chain id", exc) from exc

    async def block_number(self) -> int:
        try:
            return int(await self.w3.eth.block_number)
        except Exception as exc:
            raise node_error("reading the block number", exc) from exc

    async def token(self, address: str, symbol: str | None = None) -> Token:
        """Token metadata, read once; ``symbol`` overrides what the contract says."""
        key = self.checksum(address)
        known = self._tokens.get(key)
        if known is not None and (symbol is None or known.symbol == symbol):
            return known
        contract = self.erc20(key)
        try:
            if await self.w3.eth.get_code(key) in (b"", None):
                raise NotFoundError(f"no contract at {key}: is this the right chain?")
            decimals = int(await contract.functions.decimals().call())
            if symbol is None:
                symbol = str(await contract.functions.symbol().call())
        except NotFoundError:
            raise
        except Exception as exc:
            raise node_error(f"reading token {key}", exc) from exc
        token = Token(address=key, symbol=symbol, decimals=decimals)
        self._tokens[key] = token
        return token

    async def pair_address(self, token_a: str, token_b: str) -> str:
        a, b = self.checksum(token_a), self.checksum(token_b)
        cached = self._pairs.get((a, b))
        if cached is not None:
            return cached
        try:
            pair = str(await self.factory.functions.getPair(a, b).call())
        except Exception as exc:
            raise node_error(f"asking {self.dex.name}'s factory for a pair", exc) from exc
        if int(pair, 16) == 0:
            raise NotFoundError(f"{self.dex.name} has no pool for {a} and {b}")
        self._pairs[(a, b)] = self._pairs[(b, a)] = pair
        return pair

    async def pool(self, pair: str, *, block: int | str = "latest") -> PoolState:
        """Tokens and reserves of ``pair`` at ``block``."""
        contract = self.pair_contract(pair)
        try:
            t0 = str(await contract.functions.token0().call())
            t1 = str(await contract.functions.token1().call())
            r0, r1, _ = await contract.functions.getReserves().call(block_identifier=block)
            number = int(await self.w3.eth.block_number) if block == "latest" else int(block)
        except Exception as exc:
            raise node_error(f"reading pool {pair}", exc) from exc
        token0, token1 = await self.token(t0), await self.token(t1)
        return PoolState(
            pair=self.checksum(pair),
            token0=token0,
            token1=token1,
            reserve0=int(r0),
            reserve1=int(r1),
            block=number,
            fee_bps=self.dex.fee_bps,
        )

    async def pool_for(self, token_a: str, token_b: str) -> PoolState:
        return await self.pool(await self.pair_address(token_a, token_b))

    async def router_amounts_out(self, amount_in: int, path: list[str]) -> list[int]:
        try:
            amounts = await self.router.functions.getAmountsOut(
                amount_in, [self.checksum(p) for p in path]
            ).call()
        except Exception as exc:
            raise node_error(f"asking {self.dex.name}'s router for a quote", exc) from exc
        return [int(a) for a in amounts]

    async def quote(self, amount_in: int, token_in: str, token_out: str) -> Quote:
        """``amount_in`` smallest units of ``token_in`` -> ``token_out``, both ways."""
        if amount_in <= 0:
            raise ValidationError("a quote needs a positive amount")
        pool = await self.pool_for(token_in, token_out)
        r_in, r_out = pool.reserves_for(self.checksum(token_in))
        exact = amm.get_amount_out(amount_in, r_in, r_out, self.dex.fee_bps)
        router = (await self.router_amounts_out(amount_in, [token_in, token_out]))[-1]
        return Quote(
            token_in=pool.token(self.checksum(token_in)),
            token_out=pool.token(self.checksum(token_out)),
            amount_in=amount_in,
            router_amount_out=router,
            exact_amount_out=exact,
            pool=pool,
        )

    async def balance_of(self, token: str, owner: str) -> int:
        try:
            return int(await self.erc20(token).functions.balanceOf(self.checksum(owner)).call())
        except Exception as exc:
            raise node_error(f"reading the {token} balance", exc) from exc

    async def native_balance(self, owner: str) -> int:
        try:
            return int(await self.w3.eth.get_balance(self.checksum(owner)))
        except Exception as exc:
            raise node_error("reading the native balance", exc) from exc

    async def allowance(self, token: str, owner: str, spender: str) -> int:
        try:
            value = (
                await self.erc20(token)
                .functions.allowance(self.checksum(owner), self.checksum(spender))
                .call()
            )
        except Exception as exc:
            raise node_error(f"reading the {token} allowance", exc) from exc
        return int(value)
