"""The trader's DEX registry: chains, wallets, DEXes and the tokens they follow.

These are the stored forms of ``domain.dex``'s values, with the ids and timestamps the
database gives them. Secrets never live here: a chain's RPC URL is kept in its
*display* form (API keys replaced by ``***``) and a wallet holds a vault reference.

``split_rpc_url`` decides what in an RPC URL is secret. Providers put their key in the
path (``https://mainnet.infura.io/v3/KEY``, ``https://rpc.ankr.com/eth/KEY``), in the
query (``?apikey=KEY``) or in the user info (``https://user:KEY@host``); all of them are
replaced, and the full URL goes to the vault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from task_station.domain.dex import Chain, DexSpec, Token, WalletRef, check_address
from task_station.domain.errors import ValidationError

#: What replaces a secret part of an RPC URL in its display form.
MASK = "***"

_MIN_SCRUBBED = 6
_PLAIN_SEGMENT = re.compile(r"^[A-Za-z0-9_.-]+$")
_HAS_DIGIT = re.compile(r"\d")


def _secret_segment(segment: str) -> bool:
    """A path segment that looks like an API key rather than a route name."""
    if not segment:
        return False
    if not _PLAIN_SEGMENT.match(segment) or len(segment) >= 20:
        return True
    return len(segment) >= 8 and bool(_HAS_DIGIT.search(segment))


@dataclass(frozen=True, slots=True)
class RpcUrl:
    """An RPC URL split into what may be shown and stored, and what may not."""

    full: str
    display: str
    secrets: tuple[str, ...]

    @property
    def has_secret(self) -> bool:
        return self.display != self.full

    def scrub(self, text: str) -> str:
        """``text`` with the full URL and every secret part masked.

        Parts shorter than ``_MIN_SCRUBBED`` (``?net=main``) are masked only inside the
        URL: replacing them everywhere would garble the message and protect nothing.
        """
        if self.has_secret:
            text = text.replace(self.full, self.display)
            for secret in sorted(self.secrets, key=len, reverse=True):
                if len(secret) >= _MIN_SCRUBBED:
                    text = text.replace(secret, MASK)
        return text


def split_rpc_url(url: str) -> RpcUrl:
    """Split ``url`` into its display form and its secret parts (see the module doc)."""
    url = url.strip()
    if not url.startswith(("http://", "https://", "ws://", "wss://")):
        raise ValidationError("the RPC URL must start with http://, https://, ws:// or wss://")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError("the RPC URL is not a valid URL (check the host and port)") from None
    host = parts.hostname
    if not host:
        raise ValidationError("the RPC URL has no host")
    secrets: list[str] = []
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        secrets += [s for s in (parts.username, parts.password) if s]
        netloc = f"{MASK}@{netloc}"
    segments = []
    for segment in parts.path.split("/"):
        if _secret_segment(segment):
            secrets.append(segment)
            segments.append(MASK)
        else:
            segments.append(segment)
    display = f"{parts.scheme}://{netloc}{'/'.join(segments)}"
    if parts.query:
        shown = []
        for pair in parts.query.split("&"):
            name, sep, value = pair.partition("=")
            if value:
                secrets.append(value)
            shown.append(f"{name}{sep}{MASK}" if sep else name)
        display += "?" + "&".join(shown)
    if parts.fragment:
        secrets.append(parts.fragment)
    if not secrets:
        return RpcUrl(url, url, ())
    return RpcUrl(url, display, tuple(secrets))


@dataclass(frozen=True, slots=True)
class ChainRecord:
    """A chain as stored: ``rpc_url`` is the display form; ``rpc_secret_ref`` names the
    vault entry that holds the full URL (``None`` when the URL has no secret part)."""

    chain_id: int
    name: str
    rpc_url: str
    native_symbol: str
    rpc_secret_ref: str | None
    created_at: datetime

    def __post_init__(self) -> None:
        Chain(self.chain_id, self.name, self.rpc_url, self.native_symbol)  # validates

    def chain(self, full_rpc_url: str) -> Chain:
        """The domain value, with the URL the node is really reached at."""
        return Chain(self.chain_id, self.name, full_rpc_url, self.native_symbol)


@dataclass(frozen=True, slots=True)
class WalletRecord:
    """A wallet on one chain; a signing wallet's key is in the vault under ``secret_ref``."""

    id: str
    chain_id: int
    address: str
    label: str
    watch_only: bool
    secret_ref: str | None
    created_at: datetime

    def __post_init__(self) -> None:
        WalletRef(self.address, self.label, self.watch_only, self.secret_ref)  # validates

    @property
    def ref(self) -> WalletRef:
        return WalletRef(self.address, self.label, self.watch_only, self.secret_ref)


@dataclass(frozen=True, slots=True)
class DexRecord:
    """A Uniswap V2-compatible DEX the trader added on one chain."""

    id: str
    chain_id: int
    name: str
    router: str
    factory: str
    fee_bps: int
    created_at: datetime

    def __post_init__(self) -> None:
        DexSpec(self.name, self.chain_id, self.router, self.factory, self.fee_bps)  # validates

    @property
    def spec(self) -> DexSpec:
        return DexSpec(self.name, self.chain_id, self.router, self.factory, self.fee_bps)


@dataclass(frozen=True, slots=True)
class FollowedToken:
    """A token whose pools the trader follows on one DEX."""

    dex_id: str
    token: Token
    created_at: datetime

    @property
    def address(self) -> str:
        return self.token.address

    @property
    def symbol(self) -> str:
        return self.token.symbol


def same_address(a: str, b: str) -> bool:
    """EVM addresses compare case-insensitively (the case is only a checksum)."""
    return check_address(a).lower() == check_address(b).lower()


__all__ = [
    "MASK",
    "ChainRecord",
    "DexRecord",
    "FollowedToken",
    "RpcUrl",
    "WalletRecord",
    "same_address",
    "split_rpc_url",
]
