"""One name for a market on any venue: ``venue:BASE/QUOTE``.

A CEX market is named by its venue and ccxt's unified pair (``binance:BTC/USDT``, a
perpetual with its settle asset ``binanceusdm:BTC/USDT:USDT``). A DEX market is named the
same way (``uniswap-v2:WETH/USDC``) but is *defined* by token addresses: the registry
below maps ``(chain id, token address)`` to the symbol the trader uses and a pair address
to its market. Addresses are compared in lower case; the EIP-55 checksum needs keccak,
which the domain does not import, so checking a mixed-case address is the job of
``venues.dex`` (see ``pool_feed.checksum_address``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from task_station.domain.dex import check_address
from task_station.domain.errors import ValidationError

_VENUE = re.compile(r"^[a-z0-9][a-z0-9_.@-]*$")
_ASSET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_EXAMPLE = "write a market as venue:BASE/QUOTE, e.g. binance:BTC/USDT"


class SymbolError(ValidationError):
    """A market name that cannot be parsed or resolved; the message says how to fix it."""


def _asset(value: str, role: str, text: str) -> str:
    if not _ASSET.match(value):
        raise SymbolError(
            f"{text!r}: {role} asset {value!r} is not a valid code "
            "(letters, digits, '.', '_' or '-'); " + _EXAMPLE
        )
    return value


def _venue(value: str, text: str) -> str:
    venue = value.strip().lower()
    if not _VENUE.match(venue):
        raise SymbolError(
            f"{text!r}: venue {value!r} is not a valid venue id "
            "(letters, digits, '.', '_', '@' or '-'); " + _EXAMPLE
        )
    return venue


@dataclass(frozen=True, slots=True)
class MarketSymbol:
    """A market on one venue. ``settle`` is set for derivatives (ccxt ``BASE/QUOTE:SETTLE``)."""

    venue: str
    base: str
    quote: str
    settle: str | None = None

    def __post_init__(self) -> None:
        text = f"{self.venue}:{self.base}/{self.quote}"
        if _venue(self.venue, text) != self.venue:
            raise SymbolError(f"{text!r}: venue ids are lower case ({self.venue.lower()!r})")
        _asset(self.base, "base", text)
        _asset(self.quote, "quote", text)
        if self.settle is not None:
            _asset(self.settle, "settle", text)
        if self.base == self.quote:
            raise SymbolError(f"{text!r}: base and quote are the same asset")

    @classmethod
    def parse(cls, text: str, *, default_venue: str | None = None) -> MarketSymbol:
        """Parse ``venue:BASE/QUOTE`` (or ``venue:BASE/QUOTE:SETTLE``).

        A bare ``BASE/QUOTE`` is accepted only when ``default_venue`` is given.
        """
        if not isinstance(text, str) or not text.strip():
            raise SymbolError(f"an empty market name; {_EXAMPLE}")
        raw = text.strip()
        venue_part, sep, pair = raw.partition(":")
        if not sep or "/" in venue_part:
            if default_venue is None:
                raise SymbolError(f"{text!r} names no venue; {_EXAMPLE}")
            venue_part, pair = default_venue, raw
        base, slash, rest = pair.partition("/")
        if not slash:
            raise SymbolError(f"{text!r} has no '/' between base and quote; {_EXAMPLE}")
        quote, colon, settle = rest.partition(":")
        if colon and not settle:
            raise SymbolError(f"{text!r} ends with ':' but names no settle asset")
        if not base or not quote:
            raise SymbolError(f"{text!r} lacks a base or a quote asset; {_EXAMPLE}")
        return cls(
            _venue(venue_part, text),
            _asset(base, "base", text),
            _asset(quote, "quote", text),
            _asset(settle, "settle", text) if colon else None,
        )

    @classmethod
    def of(cls, venue: str, pair: str) -> MarketSymbol:
        """The market ``pair`` (ccxt's unified symbol) on ``venue``."""
        return cls.parse(f"{venue}:{pair}")

    @property
    def pair(self) -> str:
        """The venue-local unified symbol: ``BASE/QUOTE`` or ``BASE/QUOTE:SETTLE``."""
        tail = f":{self.settle}" if self.settle else ""
        return f"{self.base}/{self.quote}{tail}"

    def on(self, venue: str) -> MarketSymbol:
        """The same pair on another venue (for cross-venue comparisons)."""
        return MarketSymbol(_venue(venue, venue), self.base, self.quote, self.settle)

    def __str__(self) -> str:
        return f"{self.venue}:{self.pair}"


def parse_symbol(text: str, *, default_venue: str | None = None) -> MarketSymbol:
    """``MarketSymbol.parse``: ``venue:BASE/QUOTE`` to a ``MarketSymbol``."""
    return MarketSymbol.parse(text, default_venue=default_venue)


def format_symbol(venue: str, pair: str) -> str:
    """``venue`` and a ccxt pair to the station's canonical name (validated)."""
    return str(MarketSymbol.of(venue, pair))


def address_key(address: str) -> str:
    """An EVM address as registry key: validated, lower case."""
    return check_address(address).lower()


@dataclass(frozen=True, slots=True)
class DexPair:
    """A pool on a chain and the market it makes: ``base`` and ``quote`` are addresses."""

    chain_id: int
    pair_address: str
    base_address: str
    quote_address: str
    symbol: MarketSymbol


class DexSymbolRegistry:
    """Maps ``(chain id, token address)`` to the trader's token symbol and pools to markets.

    One symbol per token per chain and one token per symbol per chain: two different
    contracts called ``USDC`` on one chain would make ``uniswap-v2:WETH/USDC`` ambiguous,
    so the second is refused (register it under another name, e.g. ``USDC.e``).
    """

    def __init__(self) -> None:
        self._symbols: dict[tuple[int, str], str] = {}
        self._addresses: dict[tuple[int, str], str] = {}
        self._pairs: dict[tuple[int, str], DexPair] = {}
        self._markets: dict[tuple[int, MarketSymbol], DexPair] = {}

    def add_token(self, chain_id: int, address: str, symbol: str) -> None:
        """Name the token at ``address`` on ``chain_id`` (idempotent for the same name)."""
        key = (chain_id, address_key(address))
        _asset(symbol, "token", symbol)
        known = self._symbols.get(key)
        if known is not None and known != symbol:
            raise SymbolError(
                f"token {address} on chain {chain_id} is already named {known!r}, not {symbol!r}"
            )
        owner = self._addresses.get((chain_id, symbol))
        if owner is not None and owner != key[1]:
            raise SymbolError(
                f"{symbol!r} on chain {chain_id} already names token {owner}; "
                f"register {address} under another name (e.g. {symbol}.2)"
            )
        self._symbols[key] = symbol
        self._addresses[(chain_id, symbol)] = key[1]

    def token_symbol(self, chain_id: int, address: str) -> str:
        """The trader's name for a token; unknown tokens are refused with the fix."""
        symbol = self._symbols.get((chain_id, address_key(address)))
        if symbol is None:
            raise SymbolError(
                f"token {address} on chain {chain_id} is not registered; add it to the "
                "followed tokens with its symbol first"
            )
        return symbol

    def token_address(self, chain_id: int, symbol: str) -> str:
        """The (lower-case) address of the token the trader calls ``symbol``."""
        address = self._addresses.get((chain_id, symbol))
        if address is None:
            raise SymbolError(f"no token called {symbol!r} is registered on chain {chain_id}")
        return address

    def add_pair(
        self, chain_id: int, venue: str, pair_address: str, base_address: str, quote_address: str
    ) -> DexPair:
        """Register the pool at ``pair_address`` as ``venue:BASE/QUOTE`` (tokens known)."""
        base = self.token_symbol(chain_id, base_address)
        quote = self.token_symbol(chain_id, quote_address)
        pair = DexPair(
            chain_id,
            address_key(pair_address),
            address_key(base_address),
            address_key(quote_address),
            MarketSymbol(_venue(venue, venue), base, quote),
        )
        existing = self._markets.get((chain_id, pair.symbol))
        if existing is not None and existing.pair_address != pair.pair_address:
            raise SymbolError(
                f"{pair.symbol} on chain {chain_id} is already the pool {existing.pair_address}"
            )
        self._pairs[(chain_id, pair.pair_address)] = pair
        self._markets[(chain_id, pair.symbol)] = pair
        return pair

    def pair(self, chain_id: int, pair_address: str) -> DexPair:
        found = self._pairs.get((chain_id, address_key(pair_address)))
        if found is None:
            raise SymbolError(f"pool {pair_address} on chain {chain_id} is not registered")
        return found

    def market(self, chain_id: int, symbol: MarketSymbol | str) -> DexPair:
        """The pool behind ``venue:BASE/QUOTE`` on ``chain_id``."""
        wanted = symbol if isinstance(symbol, MarketSymbol) else MarketSymbol.parse(symbol)
        found = self._markets.get((chain_id, wanted))
        if found is None:
            raise SymbolError(f"no pool is registered as {wanted} on chain {chain_id}")
        return found

    def pairs(self) -> Iterable[DexPair]:
        return tuple(self._pairs.values())
