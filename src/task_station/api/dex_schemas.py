"""Request and response bodies of the DEX routes (``routers/dex.py``).

Same rules as ``schemas.py``: amounts are exact decimal strings, request bodies refuse
unknown fields. Private keys and RPC URLs arrive as ``SecretStr`` so a validation error
can never echo them, and no response carries a key, a vault reference or a full RPC URL.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from task_station.api.schemas import Money, MoneyIn
from task_station.domain.dex_registry import ChainRecord
from task_station.services.dex import ChainCheck


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- chains ----------------------------------------------------------------------------


class ChainCreate(_Request):
    name: str = Field(min_length=1, max_length=80)
    rpc_url: SecretStr = Field(description="JSON-RPC URL; an API key in it goes to the vault")
    chain_id: int = Field(gt=0, lt=2**63)
    native_symbol: str = Field(default="ETH", min_length=1, max_length=32)


class ChainOut(_Response):
    """``rpc_url`` is the display form: API keys are shown as ``***``."""

    chain_id: int
    name: str
    rpc_url: str
    rpc_url_has_secret: bool
    native_symbol: str
    created_at: datetime

    @classmethod
    def of(cls, chain: ChainRecord) -> ChainOut:
        return cls(
            chain_id=chain.chain_id,
            name=chain.name,
            rpc_url=chain.rpc_url,
            rpc_url_has_secret=chain.rpc_secret_ref is not None,
            native_symbol=chain.native_symbol,
            created_at=chain.created_at,
        )


class ChainCheckOut(_Response):
    chain_id: int
    name: str
    node_chain_id: int
    block: int
    matches: bool
    checked_at: datetime

    @classmethod
    def of(cls, check: ChainCheck) -> ChainCheckOut:
        return cls(
            chain_id=check.chain_id,
            name=check.name,
            node_chain_id=check.node_chain_id,
            block=check.block,
            matches=check.matches,
            checked_at=check.checked_at,
        )


# --- wallets ---------------------------------------------------------------------------


class WalletCreate(_Request):
    """A ``private_key`` for a wallet that trades, or an ``address`` to watch."""

    chain_id: int = Field(gt=0, lt=2**63)
    label: str = Field(min_length=1, max_length=80)
    private_key: SecretStr | None = None
    address: str | None = Field(default=None, max_length=42)


class WalletOut(_Response):
    """The public face of a wallet: no key, no vault reference."""

    id: str
    chain_id: int
    address: str
    label: str
    watch_only: bool
    created_at: datetime


class TokenBalanceOut(_Response):
    symbol: str
    address: str | None
    amount: Money


# --- DEXes, tokens, pools, quotes --------------------------------------------------------


class DexCreate(_Request):
    chain_id: int = Field(gt=0, lt=2**63)
    name: str = Field(min_length=1, max_length=80)
    router: str = Field(min_length=1, max_length=42)
    factory: str = Field(min_length=1, max_length=42)
    fee_bps: int = Field(default=30, ge=0, lt=10_000)


class DexOut(_Response):
    id: str
    chain_id: int
    name: str
    router: str
    factory: str
    fee_bps: int
    created_at: datetime


class TokenCreate(_Request):
    address: str = Field(min_length=1, max_length=42)
    symbol: str | None = Field(default=None, max_length=32)


class TokenRefOut(_Response):
    address: str
    symbol: str
    decimals: int


class FollowedTokenOut(_Response):
    dex_id: str
    address: str
    symbol: str
    decimals: int
    created_at: datetime


class PoolOut(_Response):
    """``price`` is token1 per token0 at the margin (``null`` for an empty pool)."""

    dex_id: str
    pair: str
    name: str
    token0: TokenRefOut
    token1: TokenRefOut
    reserve0: Money
    reserve1: Money
    price: Money | None
    block: int
    fee_bps: int


class QuoteRequest(_Request):
    """Sell ``amount`` of ``token_in`` (a followed token's symbol or address)."""

    token_in: str = Field(min_length=1, max_length=64)
    token_out: str = Field(min_length=1, max_length=64)
    amount: MoneyIn
    wallet_id: str | None = Field(default=None, max_length=64)


class QuoteOut(_Response):
    """``price_impact`` is a fraction (``0.004`` = 0.4 %), LP fee included."""

    dex_id: str
    token_in: TokenRefOut
    token_out: TokenRefOut
    amount_in: Money
    router_amount_out: Money
    exact_amount_out: Money
    agrees: bool
    price: Money
    mid_price: Money
    price_impact: Money
    pair: str
    block: int
    wallet_id: str | None
    balances: list[TokenBalanceOut]
