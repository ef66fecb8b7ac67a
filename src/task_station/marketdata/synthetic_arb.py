"""A seeded synthetic CEX book and AMM pool for arbitrage demos and tests.

The CEX mid follows a random walk; the pool follows it with a lag (arbitrageurs are
slow) and now and then jumps away from it (a large swap), so gaps open and close the way
they do between a venue that reprices every millisecond and one that reprices per
block. Same seed, same snapshots.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from math import isqrt
from pathlib import Path

from task_station.domain.arbitrage import MarketSnapshot, OrderBook, PoolMarket
from task_station.domain.clock import ms_to_datetime
from task_station.domain.dex import PoolState, Token
from task_station.domain.errors import ValidationError
from task_station.domain.money import BPS, ONE
from task_station.marketdata.arb_recording import write_snapshots

WETH = Token("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "WETH", 18)
USDC = Token("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USDC", 6)
PAIR = "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc"


@dataclass(frozen=True, slots=True)
class SyntheticArbSpec:
    seed: int = 7
    steps: int = 500
    start_ms: int = 1_704_067_200_000  # 2024-01-01 UTC
    step_ms: int = 1_000
    start_price: Decimal = Decimal("2000")
    volatility_bps: float = 4.0  # standard deviation of one step's move of the CEX mid
    tick: Decimal = Decimal("0.01")
    half_spread_bps: Decimal = Decimal("1")
    levels: int = 5
    level_gap_bps: Decimal = Decimal("3")
    level_size: Decimal = Decimal("0.5")  # base on the first level; deeper levels hold more
    pool_base: Decimal = Decimal("3000")  # base in the pool at the start price: its depth
    lag: float = 0.3  # fraction of the gap to the CEX the pool closes each step
    gap_probability: float = 0.04
    gap_bps: float = 100.0  # how far a sudden pool move lands from the CEX mid
    cex_venue: str = "cex"
    dex_venue: str = "dex"
    cex_symbol: str = "ETH/USDC"
    dex_symbol: str = "WETH/USDC"
    base: Token = field(default=WETH)
    quote: Token = field(default=USDC)
    pair: str = PAIR
    fee_bps: int = 30
    gas_price_wei: int = 20 * 10**9

    def __post_init__(self) -> None:
        if self.steps < 1 or self.levels < 1 or self.step_ms < 1:
            raise ValidationError("a synthetic arbitrage market needs steps, levels and time")
        if not 0.0 <= self.lag <= 1.0 or not 0.0 <= self.gap_probability <= 1.0:
            raise ValidationError("lag and gap probability must be within [0, 1]")


def book_around(mid: Decimal, spec: SyntheticArbSpec) -> OrderBook:
    """Levels either side of ``mid``, on the tick, each a tick or more apart."""
    bids: list[tuple[Decimal, Decimal]] = []
    asks: list[tuple[Decimal, Decimal]] = []
    for i in range(spec.levels):
        away = (spec.half_spread_bps + spec.level_gap_bps * i) / BPS
        bid = (mid * (ONE - away) / spec.tick).to_integral_value(ROUND_FLOOR) * spec.tick
        ask = (mid * (ONE + away) / spec.tick).to_integral_value(ROUND_CEILING) * spec.tick
        if bids and bid >= bids[-1][0]:
            bid = bids[-1][0] - spec.tick
        if asks and ask <= asks[-1][0]:
            ask = asks[-1][0] + spec.tick
        size = spec.level_size * (i + 1)
        bids.append((bid, size))
        asks.append((ask, size))
    return OrderBook.of(bids, asks)


def pool_at(price: float, spec: SyntheticArbSpec) -> PoolMarket:
    """The pool holding its starting liquidity, repriced to ``price`` (quote per base)."""
    base, quote = spec.base, spec.quote
    r_base0 = base.to_units(spec.pool_base)
    r_quote0 = quote.to_units(spec.pool_base * spec.start_price)
    k = r_base0 * r_quote0
    num, den = Decimal(repr(price)).scaleb(quote.decimals - base.decimals).as_integer_ratio()
    r_base = isqrt(k * den // num)
    r_quote = k // r_base
    t0, t1 = sorted((base, quote), key=lambda t: t.address.lower())
    r0, r1 = (r_base, r_quote) if t0 == base else (r_quote, r_base)
    return PoolMarket(PoolState(spec.pair, t0, t1, r0, r1, 0, spec.fee_bps), base, quote)


def generate_arb_snapshots(spec: SyntheticArbSpec | None = None) -> list[MarketSnapshot]:
    spec = spec or SyntheticArbSpec()
    rng = random.Random(spec.seed)
    mid = float(spec.start_price)
    pool_price = mid
    sigma = spec.volatility_bps / 10_000
    out: list[MarketSnapshot] = []
    for n in range(spec.steps):
        if n:
            mid *= math.exp(rng.gauss(0.0, sigma))
            pool_price += spec.lag * (mid - pool_price)
        if rng.random() < spec.gap_probability:
            pool_price = mid * (1 + rng.choice((-1.0, 1.0)) * spec.gap_bps / 10_000)
        mid_dec = (Decimal(repr(mid)) / spec.tick).to_integral_value() * spec.tick
        pool = pool_at(pool_price, spec)
        pm = pool.with_reserves(pool.pool.reserve0, pool.pool.reserve1, block=n + 1)
        out.append(
            MarketSnapshot(
                ts=ms_to_datetime(spec.start_ms) + timedelta(milliseconds=n * spec.step_ms),
                books={(spec.cex_venue, spec.cex_symbol): book_around(mid_dec, spec)},
                pools={(spec.dex_venue, spec.dex_symbol): pm},
                native_price=mid_dec,
                gas_price_wei=spec.gas_price_wei,
            )
        )
    return out


def write_synthetic_recording(path: str | Path, spec: SyntheticArbSpec | None = None) -> int:
    """Write a synthetic recording to ``path``; returns the number of snapshots."""
    return write_snapshots(path, generate_arb_snapshots(spec))
