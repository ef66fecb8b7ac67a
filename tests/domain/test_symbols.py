"""One market name across venues: ``venue:BASE/QUOTE``, and DEX pools by address."""

from __future__ import annotations

import pytest

from task_station.domain.errors import ValidationError
from task_station.domain.symbols import (
    DexSymbolRegistry,
    MarketSymbol,
    SymbolError,
    format_symbol,
    parse_symbol,
)

WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
USDC_E = "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174"
PAIR = "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc"


def test_parse_and_format_round_trip_for_spot_and_perpetuals() -> None:
    spot = parse_symbol("binance:BTC/USDT")
    assert (spot.venue, spot.base, spot.quote, spot.settle) == ("binance", "BTC", "USDT", None)
    assert str(spot) == "binance:BTC/USDT" and spot.pair == "BTC/USDT"
    perp = MarketSymbol.parse("binanceusdm:BTC/USDT:USDT")
    assert perp.settle == "USDT" and perp.pair == "BTC/USDT:USDT"
    assert str(perp) == "binanceusdm:BTC/USDT:USDT"
    assert format_symbol("Kraken", "BCH/EUR") == "kraken:BCH/EUR"  # venue ids are lower case


def test_the_same_pair_on_two_venues_compares_by_pair() -> None:
    cex = parse_symbol("binance:ETH/USDT")
    assert cex.on("bybit") == parse_symbol("bybit:ETH/USDT")
    assert cex.on("bybit").pair == cex.pair and cex.on("bybit") != cex
    assert len({cex, parse_symbol(" binance:ETH/USDT ")}) == 1  # hashable, whitespace-tolerant


def test_a_bare_pair_needs_a_default_venue() -> None:
    with pytest.raises(SymbolError, match="names no venue"):
        parse_symbol("BTC/USDT")
    assert parse_symbol("BTC/USDT", default_venue="paper") == parse_symbol("paper:BTC/USDT")


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("", "empty"),
        ("binance:BTCUSDT", "no '/'"),
        ("binance:BTC/", "lacks a base or a quote"),
        ("binance:/USDT", "lacks a base or a quote"),
        ("binance:BTC/USDT:", "names no settle"),
        ("bin ance:BTC/USDT", "not a valid venue id"),
        ("binance:BTC/US DT", "not a valid code"),
        ("binance:BTC/BTC", "same asset"),
    ],
)
def test_bad_names_are_refused_with_the_fix(text: str, fix: str) -> None:
    with pytest.raises(SymbolError, match=fix) as info:
        parse_symbol(text)
    assert isinstance(info.value, ValidationError)  # the policy: refuse, change nothing


def test_dex_tokens_and_pairs_resolve_by_address_in_any_case() -> None:
    reg = DexSymbolRegistry()
    reg.add_token(1, WETH, "WETH")
    reg.add_token(1, USDC.lower(), "USDC")
    reg.add_token(1, WETH.lower(), "WETH")  # same token, same name: idempotent
    pair = reg.add_pair(1, "uniswap-v2", PAIR, WETH, USDC)
    assert str(pair.symbol) == "uniswap-v2:WETH/USDC"
    assert reg.pair(1, PAIR.upper().replace("0X", "0x")) == pair
    assert reg.market(1, "uniswap-v2:WETH/USDC").pair_address == PAIR.lower()
    assert reg.token_symbol(1, USDC) == "USDC"
    assert reg.token_address(1, "USDC") == USDC.lower()


def test_dex_registry_refuses_ambiguity_and_unknowns() -> None:
    reg = DexSymbolRegistry()
    reg.add_token(137, USDC, "USDC")
    with pytest.raises(SymbolError, match="already names token"):
        reg.add_token(137, USDC_E, "USDC")  # bridged USDC needs its own name
    reg.add_token(137, USDC_E, "USDC.e")
    with pytest.raises(SymbolError, match="already named 'USDC'"):
        reg.add_token(137, USDC, "USDC2")
    with pytest.raises(SymbolError, match="is not registered; add it"):
        reg.add_pair(137, "quickswap", PAIR, WETH, USDC)  # WETH unknown on chain 137
    with pytest.raises(SymbolError, match="not registered"):
        reg.token_symbol(1, USDC)  # chain matters
    with pytest.raises(ValidationError, match="not an EVM address"):
        reg.add_token(1, "0x1234", "BAD")
    with pytest.raises(SymbolError, match="no pool is registered"):
        reg.market(137, "quickswap:USDC/USDC.e")
