"""Recordings of arbitrage market snapshots: gzip JSON lines, exact both ways.

A backtest is only as honest as its data, so a recording gives back exactly what was
seen: prices and sizes as decimal strings, reserves and gas prices as JSON integers
(arbitrary precision), timestamps in ISO 8601 with their offset. The first line is a
header naming the books and pools (with their tokens, which never change); a pool that
appears later is declared by a ``pool`` line before the snapshot that first has it.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from task_station.domain.arbitrage import (
    MarketSnapshot,
    OrderBook,
    PoolMarket,
    VenueSymbol,
)
from task_station.domain.dex import PoolState, Token
from task_station.domain.errors import DataError, ValidationError

FORMAT = "task-station-arb-snapshots"
VERSION = 1
#: A replay hands the loop back every this many snapshots, so a GUI stays responsive.
YIELD_EVERY = 256


@dataclass(frozen=True, slots=True)
class RecordingHeader:
    """What a recording holds: books by (venue, symbol), pools with their tokens."""

    books: tuple[VenueSymbol, ...]
    pools: dict[VenueSymbol, PoolMarket]


# -- encoding ----------------------------------------------------------------------------


def _token(t: Token) -> dict[str, Any]:
    return {"address": t.address, "symbol": t.symbol, "decimals": t.decimals}


def _pool_decl(key: VenueSymbol, pm: PoolMarket) -> dict[str, Any]:
    p = pm.pool
    return {
        "venue": key[0],
        "symbol": key[1],
        "pair": p.pair,
        "fee_bps": p.fee_bps,
        "token0": _token(p.token0),
        "token1": _token(p.token1),
        "base": pm.base.address,
        "quote": pm.quote.address,
    }


def _levels(levels: Iterable[tuple[Decimal, Decimal]]) -> list[list[str]]:
    return [[str(p), str(s)] for p, s in levels]


def _snapshot_line(s: MarketSnapshot) -> dict[str, Any]:
    return {
        "kind": "snapshot",
        "ts": s.ts.isoformat(),
        "books": [
            {
                "venue": v,
                "symbol": sym,
                "bids": _levels(b.bids.levels),
                "asks": _levels(b.asks.levels),
            }
            for (v, sym), b in s.books.items()
        ],
        "pools": [
            {
                "venue": v,
                "symbol": sym,
                "reserve0": pm.pool.reserve0,
                "reserve1": pm.pool.reserve1,
                "block": pm.pool.block,
            }
            for (v, sym), pm in s.pools.items()
        ],
        "native_price": None if s.native_price is None else str(s.native_price),
        "gas_price_wei": s.gas_price_wei,
    }


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":")) + "\n"


class SnapshotWriter:
    """Append snapshots to a recording; the header comes from the first snapshot."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None
        self._pools: dict[VenueSymbol, PoolMarket] = {}
        self.count = 0

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, snapshot: MarketSnapshot) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Held open across writes; ``close`` (or the context manager) ends it.
            self._file = gzip.open(self.path, "wt", encoding="utf-8")  # noqa: SIM115
            self._pools = dict(snapshot.pools)
            header = {
                "kind": "header",
                "format": FORMAT,
                "version": VERSION,
                "books": [list(k) for k in snapshot.books],
                "pools": [_pool_decl(k, pm) for k, pm in snapshot.pools.items()],
            }
            self._file.write(_dumps(header))
        for key, pm in snapshot.pools.items():
            known = self._pools.get(key)
            if known is None:
                self._pools[key] = pm
                self._file.write(_dumps({"kind": "pool", **_pool_decl(key, pm)}))
            elif _pool_decl(key, known) != _pool_decl(key, pm):
                raise ValidationError(
                    f"pool {key[1]} on {key[0]} changed its tokens or fee mid-recording"
                )
        self._file.write(_dumps(_snapshot_line(snapshot)))
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def write_snapshots(path: str | Path, snapshots: Iterable[MarketSnapshot]) -> int:
    """Write ``snapshots`` to a new recording; returns how many were written."""
    with SnapshotWriter(path) as writer:
        for snapshot in snapshots:
            writer.write(snapshot)
        return writer.count


class SnapshotRecorder:
    """Pass snapshots through from ``source`` while recording each to ``path``."""

    def __init__(self, source: AsyncIterable[MarketSnapshot], path: str | Path) -> None:
        self._source = source
        self.writer = SnapshotWriter(path)

    def __aiter__(self) -> AsyncIterator[MarketSnapshot]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[MarketSnapshot]:
        try:
            async for snapshot in self._source:
                self.writer.write(snapshot)
                yield snapshot
        finally:
            self.writer.close()


# -- decoding ----------------------------------------------------------------------------


def _dec(raw: object, what: str) -> Decimal:
    if not isinstance(raw, str):
        raise DataError(f"{what} must be a decimal string, got {raw!r}")
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise DataError(f"{what} {raw!r} is not a number") from None


def _int(raw: object, what: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise DataError(f"{what} must be an integer, got {raw!r}")
    return raw


def _read_token(raw: dict[str, Any]) -> Token:
    return Token(str(raw["address"]), str(raw["symbol"]), _int(raw["decimals"], "decimals"))


def _read_pool_decl(raw: dict[str, Any]) -> tuple[VenueSymbol, PoolMarket]:
    t0, t1 = _read_token(raw["token0"]), _read_token(raw["token1"])
    by_address = {t0.address: t0, t1.address: t1}
    pool = PoolState(str(raw["pair"]), t0, t1, 0, 0, 0, _int(raw["fee_bps"], "fee_bps"))
    pm = PoolMarket(pool, by_address[raw["base"]], by_address[raw["quote"]])
    return (str(raw["venue"]), str(raw["symbol"])), pm


def _read_snapshot(raw: dict[str, Any], pools: dict[VenueSymbol, PoolMarket]) -> MarketSnapshot:
    books: dict[VenueSymbol, OrderBook] = {}
    for b in raw["books"]:
        key = (str(b["venue"]), str(b["symbol"]))
        books[key] = OrderBook.of(
            ((_dec(p, "price"), _dec(s, "size")) for p, s in b["bids"]),
            ((_dec(p, "price"), _dec(s, "size")) for p, s in b["asks"]),
        )
    states: dict[VenueSymbol, PoolMarket] = {}
    for p in raw["pools"]:
        key = (str(p["venue"]), str(p["symbol"]))
        decl = pools.get(key)
        if decl is None:
            raise DataError(f"pool {key[1]} on {key[0]} was never declared")
        states[key] = decl.with_reserves(
            _int(p["reserve0"], "reserve0"),
            _int(p["reserve1"], "reserve1"),
            _int(p["block"], "block"),
        )
    native = raw.get("native_price")
    gas = raw.get("gas_price_wei")
    return MarketSnapshot(
        ts=datetime.fromisoformat(str(raw["ts"])),
        books=books,
        pools=states,
        native_price=None if native is None else _dec(native, "native_price"),
        gas_price_wei=None if gas is None else _int(gas, "gas_price_wei"),
    )


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if line.strip():
                    yield n, json.loads(line)
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable snapshot recording ({exc})") from None


def _header(n: int, raw: dict[str, Any], path: Path) -> RecordingHeader:
    if n != 1 or raw.get("kind") != "header" or raw.get("format") != FORMAT:
        raise DataError(f"{path}: missing the {FORMAT} header line")
    if raw.get("version") != VERSION:
        raise DataError(f"{path}: recording version {raw.get('version')} is not {VERSION}")
    pools = dict(_read_pool_decl(p) for p in raw["pools"])
    books = tuple((str(v), str(s)) for v, s in raw["books"])
    return RecordingHeader(books, pools)


def read_header(path: str | Path) -> RecordingHeader:
    path = Path(path)
    for n, raw in _lines(path):
        return _header(n, raw, path)
    raise DataError(f"{path}: the recording is empty")


def read_snapshots(path: str | Path) -> Iterator[MarketSnapshot]:
    """Stream the snapshots of a recording in order."""
    path = Path(path)
    pools: dict[VenueSymbol, PoolMarket] = {}
    for n, raw in _lines(path):
        try:
            kind = raw.get("kind")
            if n == 1:
                pools = dict(_header(n, raw, path).pools)
            elif kind == "pool":
                key, pm = _read_pool_decl(raw)
                pools[key] = pm
            elif kind == "snapshot":
                yield _read_snapshot(raw, pools)
            else:
                raise DataError(f"unknown line kind {kind!r}")
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            raise DataError(f"{path}, line {n}: {type(exc).__name__}: {exc}") from None
        except DataError as exc:
            if str(exc).startswith(str(path)):
                raise
            raise DataError(f"{path}, line {n}: {exc}") from None


def load_snapshots(path: str | Path) -> list[MarketSnapshot]:
    return list(read_snapshots(path))


async def replay_snapshots(
    snapshots: Iterable[MarketSnapshot],
) -> AsyncIterator[MarketSnapshot]:
    """Hand ``snapshots`` to a runtime as an async stream, yielding to the loop now and
    then so a long replay does not freeze the station."""
    for n, snapshot in enumerate(snapshots, start=1):
        yield snapshot
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)
