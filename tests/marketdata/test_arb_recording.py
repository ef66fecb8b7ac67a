"""Snapshot recordings give back exactly what was recorded: every Decimal digit and
exponent, every reserve integer, pools declared when they first appear."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.domain.arbitrage import MarketSnapshot, OrderBook, PoolMarket
from task_station.domain.dex import PoolState, Token
from task_station.domain.errors import DataError, ValidationError
from task_station.marketdata.arb_recording import (
    SnapshotRecorder,
    SnapshotWriter,
    load_snapshots,
    read_header,
    replay_snapshots,
    write_snapshots,
)
from task_station.marketdata.synthetic_arb import (
    SyntheticArbSpec,
    generate_arb_snapshots,
    write_synthetic_recording,
)

D = Decimal
T0 = datetime(2024, 1, 1, tzinfo=UTC)
WBTC = Token("0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599", "WBTC", 8)
DAI = Token("0x6B175474E89094C44Da98b954EedeAC495271d0F", "DAI", 18)


def odd_snapshots() -> list[MarketSnapshot]:
    """Representations a naive encoder would lose: exponents, trailing zeros, huge ints."""
    book = OrderBook.of(
        [(D("1E+3"), D("0.000000000000000001")), (D("999.90"), D("2.50"))],
        [(D("1000.1000"), D("1E-8"))],
    )
    pool = PoolMarket(PoolState("0x" + "55" * 20, WBTC, DAI, 2**200 + 1, 3, 17, 5), WBTC, DAI)
    first = MarketSnapshot(T0, books={("cex", "BTC/DAI"): book})
    second = MarketSnapshot(
        T0 + timedelta(microseconds=1),
        books={("cex", "BTC/DAI"): book, ("other", "BTC/DAI"): OrderBook.of([], [])},
        pools={("dex", "WBTC/DAI"): pool},
        native_price=D("2000.000"),
        gas_price_wei=10**30,
    )
    return [first, second]


def test_round_trip_is_exact_down_to_the_representation(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl.gz"
    original = odd_snapshots()
    assert write_snapshots(path, original) == 2
    loaded = load_snapshots(path)
    assert loaded == original
    assert repr(loaded) == repr(original)  # Decimal('1E+3') stays 1E+3, 2.50 stays 2.50
    assert loaded[1].pools[("dex", "WBTC/DAI")].pool.reserve0 == 2**200 + 1


def test_a_synthetic_recording_round_trips_and_has_a_header(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.jsonl.gz"
    spec = SyntheticArbSpec(steps=40, seed=3)
    assert write_synthetic_recording(path, spec) == 40
    assert load_snapshots(path) == generate_arb_snapshots(spec)
    header = read_header(path)
    assert header.books == (("cex", "ETH/USDC"),)
    (pool,) = header.pools.values()
    assert (pool.base.symbol, pool.quote.symbol, pool.pool.fee_bps) == ("WETH", "USDC", 30)
    with gzip.open(path, "rt") as f:
        first_line = f.readline()
    assert '"kind":"header"' in first_line


async def test_the_recorder_passes_snapshots_through_while_recording(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl.gz"
    source = odd_snapshots()

    async def feed() -> AsyncIterator[MarketSnapshot]:
        for s in source:
            yield s

    seen = [s async for s in SnapshotRecorder(feed(), path)]
    assert seen == source
    assert load_snapshots(path) == source
    replayed = [s async for s in replay_snapshots(load_snapshots(path))]
    assert replayed == source


def test_a_pool_cannot_change_its_tokens_mid_recording(tmp_path: Path) -> None:
    _, second = odd_snapshots()
    pool = second.pools[("dex", "WBTC/DAI")]
    changed = replace(
        second, pools={("dex", "WBTC/DAI"): replace(pool, pool=replace(pool.pool, fee_bps=30))}
    )
    with SnapshotWriter(tmp_path / "x.jsonl.gz") as writer:
        writer.write(second)
        with pytest.raises(ValidationError, match="changed its tokens or fee"):
            writer.write(changed)


def test_broken_files_are_data_errors(tmp_path: Path) -> None:
    plain = tmp_path / "plain.jsonl.gz"
    plain.write_text("not gzip")
    with pytest.raises(DataError, match="not a readable snapshot recording"):
        load_snapshots(plain)
    headless = tmp_path / "headless.jsonl.gz"
    with gzip.open(headless, "wt") as f:
        f.write('{"kind": "snapshot"}\n')
    with pytest.raises(DataError, match="header"):
        load_snapshots(headless)
    bad = tmp_path / "bad.jsonl.gz"
    write_snapshots(bad, odd_snapshots())
    with gzip.open(bad, "rt") as f:
        lines = f.readlines()
    with gzip.open(bad, "wt") as f:
        f.writelines([lines[0], lines[1].replace('"1E+3"', "1000.5")])
    with pytest.raises(DataError, match="line 2"):
        load_snapshots(bad)
