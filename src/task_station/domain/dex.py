"""Chains, tokens, AMM pools and the swaps on them, as plain values.

On-chain amounts are integers of the token's smallest unit (wei for 18 decimals);
they are converted to ``Decimal`` exactly with ``Token.to_units`` / ``from_units`` at the
edge where a swap becomes a domain ``Fill``. Conversion towards the chain rounds down,
so we never ask to spend a wei we did not mean to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Context, Decimal

from task_station.domain.errors import ValidationError
from task_station.domain.money import ZERO

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")

#: uint256 has up to 78 digits: unit conversions use this precision, never the default
#: 28 digits (which would round a large balance, and round *up* towards the chain).
WIDE_PRECISION = 100
_WIDE = Context(prec=WIDE_PRECISION)

#: Uniswap V2 charges 0.30 % to the liquidity providers (``997/1000`` in its math).
UNISWAP_V2_FEE_BPS = 30


def check_address(value: str, what: str = "address") -> str:
    """Return ``value`` if it looks like an EVM address, else raise a helpful error."""
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise ValidationError(f"{what} {value!r} is not an EVM address (0x followed by 40 hex)")
    return value


@dataclass(frozen=True, slots=True)
class Chain:
    """An EVM chain the station talks to through one JSON-RPC endpoint."""

    chain_id: int
    name: str
    rpc_url: str
    native_symbol: str = "ETH"

    def __post_init__(self) -> None:
        if self.chain_id <= 0:
            raise ValidationError(f"chain id must be positive, got {self.chain_id}")
        if not self.name.strip():
            raise ValidationError("a chain needs a name")
        if not self.rpc_url.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValidationError(
                f"RPC URL {self.rpc_url!r} must start with http://, https://, ws:// or wss://"
            )


@dataclass(frozen=True, slots=True)
class Token:
    """An ERC-20 token (or the wrapped native token) on one chain."""

    address: str
    symbol: str
    decimals: int

    def __post_init__(self) -> None:
        check_address(self.address, f"token {self.symbol}")
        if not 0 <= self.decimals <= 36:
            raise ValidationError(f"token {self.symbol}: decimals {self.decimals} out of range")

    def to_units(self, amount: Decimal) -> int:
        """Decimal amount -> integer smallest units, rounded down."""
        if amount < ZERO:
            raise ValidationError(f"{self.symbol} amount cannot be negative, got {amount}")
        return int(
            amount.scaleb(self.decimals, context=_WIDE).to_integral_value(rounding=ROUND_DOWN)
        )

    def from_units(self, units: int) -> Decimal:
        """Integer smallest units -> exact Decimal amount."""
        return Decimal(units).scaleb(-self.decimals, context=_WIDE)


@dataclass(frozen=True, slots=True)
class DexSpec:
    """A Uniswap V2-compatible exchange: its router, its factory and its LP fee.

    Forks (SushiSwap, PancakeSwap...) differ only in these addresses and the fee, so one
    venue class serves them all.
    """

    name: str
    chain_id: int
    router: str
    factory: str
    fee_bps: int = UNISWAP_V2_FEE_BPS

    def __post_init__(self) -> None:
        check_address(self.router, f"{self.name} router")
        check_address(self.factory, f"{self.name} factory")
        if not 0 <= self.fee_bps < 10_000:
            raise ValidationError(f"{self.name}: LP fee {self.fee_bps} bps is out of range")


@dataclass(frozen=True, slots=True)
class WalletRef:
    """A wallet as the database knows it: the address, and whether we can sign.

    The private key of a signing wallet lives in the secrets vault under ``secret_ref``;
    a watch-only wallet has none and can only be read.
    """

    address: str
    label: str
    watch_only: bool
    secret_ref: str | None = None

    def __post_init__(self) -> None:
        check_address(self.address, f"wallet {self.label}")
        if self.watch_only and self.secret_ref is not None:
            raise ValidationError(f"wallet {self.label} is watch-only and cannot hold a key")
        if not self.watch_only and self.secret_ref is None:
            raise ValidationError(f"wallet {self.label} signs swaps and needs a key reference")


@dataclass(frozen=True, slots=True)
class PoolState:
    """A constant-product pool's reserves at one block, in smallest units."""

    pair: str
    token0: Token
    token1: Token
    reserve0: int
    reserve1: int
    block: int = 0
    fee_bps: int = UNISWAP_V2_FEE_BPS

    def reserves_for(self, token_in: str) -> tuple[int, int]:
        """``(reserve_in, reserve_out)`` when swapping ``token_in`` (an address) in."""
        if token_in.lower() == self.token0.address.lower():
            return self.reserve0, self.reserve1
        if token_in.lower() == self.token1.address.lower():
            return self.reserve1, self.reserve0
        raise ValidationError(f"token {token_in} is not in pool {self.pair}")

    def token(self, symbol_or_address: str) -> Token:
        for tok in (self.token0, self.token1):
            if symbol_or_address in (tok.symbol, tok.address) or (
                symbol_or_address.lower() == tok.address.lower()
            ):
                return tok
        raise ValidationError(f"{symbol_or_address} is not a token of pool {self.pair}")

    def mid_price(self, base: Token) -> Decimal:
        """Quote per base at the margin, ignoring the fee (reserves ratio)."""
        quote = self.token1 if base == self.token0 else self.token0
        r_base, r_quote = self.reserves_for(base.address)
        if r_base == 0:
            raise ValidationError(f"pool {self.pair} has no liquidity")
        return quote.from_units(r_quote) / base.from_units(r_base)


@dataclass(frozen=True, slots=True)
class SwapEvent:
    """A ``Swap`` log of a Uniswap V2 pair, decoded."""

    pair: str
    block: int
    tx_hash: str
    log_index: int
    sender: str
    to: str
    amount0_in: int
    amount1_in: int
    amount0_out: int
    amount1_out: int


@dataclass(frozen=True, slots=True)
class SyncEvent:
    """A ``Sync`` log: the pair's reserves after a mint, burn or swap."""

    pair: str
    block: int
    tx_hash: str
    log_index: int
    reserve0: int
    reserve1: int
