"""An L2 order book kept from a snapshot plus diffs, with the venue's sequence rules.

Prices and amounts are ``Decimal`` (parsed from the exchange's strings, never through a
float). Each venue numbers its updates differently; a ``SequenceRules`` object says
which diff may follow which:

* ``BINANCE_USDM`` (USDⓈ-M futures diff-depth stream): drop events with
  ``u < lastUpdateId``; the first applied event has ``U <= lastUpdateId <= u``; then every
  event's ``pu`` must equal the previous event's ``u``.
* ``BINANCE_SPOT``: drop ``u <= lastUpdateId``; the first has ``U <= lastUpdateId+1 <= u``;
  then ``U`` must be the previous ``u + 1``.
* ``BYBIT`` (``orderbook.{depth}`` topic): a ``snapshot`` message (or any message with
  ``u == 1``, sent after a service restart) replaces the book; each ``delta`` must carry
  ``u`` = previous ``u + 1`` and a larger cross-sequence ``seq``.

A diff that does not fit is a **gap**: the book marks itself out of sync with the reason,
refuses to answer price questions (trading on a book with a hole in it loses money) and
buffers later diffs until the feed loads a fresh snapshot (a REST depth request for
Binance, a resubscription for Bybit), which it then replays under the same rules.
"""

from __future__ import annotations

import bisect
import logging
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from task_station.domain.errors import DataError
from task_station.domain.money import ZERO

log = logging.getLogger(__name__)

Level = tuple[Decimal, Decimal]


class OrderBookOutOfSync(DataError):
    """The book has a gap (or was never loaded): wait for a fresh snapshot."""


class BookState(StrEnum):
    AWAITING_SNAPSHOT = "awaiting_snapshot"
    SYNCED = "synced"
    OUT_OF_SYNC = "out_of_sync"


class DiffResult(StrEnum):
    APPLIED = "applied"
    STALE = "stale"  # older than the book: dropped, as the venue's rules say
    BUFFERED = "buffered"  # kept until a snapshot arrives
    GAP = "gap"  # does not follow: the book is out of sync and needs a snapshot


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    """A full book as of update id ``last_update_id`` (levels in any order)."""

    last_update_id: int
    bids: Sequence[Level]
    asks: Sequence[Level]
    ts_ms: int | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class DepthDiff:
    """Changed levels (amount 0 removes the level) covering ids ``first_id..last_id``.

    ``prev_id`` is Binance futures' ``pu`` (the previous event's ``u``); ``seq`` is
    Bybit's cross sequence.
    """

    first_id: int
    last_id: int
    bids: Sequence[Level]
    asks: Sequence[Level]
    prev_id: int | None = None
    ts_ms: int | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class BookDepth:
    """The best ``n`` levels of each side, best first."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class SequenceRules:
    """Which diff may follow a snapshot, and which may follow a diff."""

    name = "generic"

    def first(self, snapshot_id: int, diff: DepthDiff) -> DiffResult:
        raise NotImplementedError

    def next(self, last: DepthDiff | None, last_id: int, diff: DepthDiff) -> DiffResult:
        raise NotImplementedError


class BinanceFuturesRules(SequenceRules):
    name = "binance usd-m futures"

    def first(self, snapshot_id: int, diff: DepthDiff) -> DiffResult:
        if diff.last_id < snapshot_id:
            return DiffResult.STALE
        if diff.first_id <= snapshot_id <= diff.last_id:
            return DiffResult.APPLIED
        return DiffResult.GAP

    def next(self, last: DepthDiff | None, last_id: int, diff: DepthDiff) -> DiffResult:
        if diff.prev_id == last_id:
            return DiffResult.APPLIED
        return DiffResult.STALE if diff.last_id <= last_id else DiffResult.GAP


class BinanceSpotRules(SequenceRules):
    name = "binance spot"

    def first(self, snapshot_id: int, diff: DepthDiff) -> DiffResult:
        if diff.last_id <= snapshot_id:
            return DiffResult.STALE
        if diff.first_id <= snapshot_id + 1 <= diff.last_id:
            return DiffResult.APPLIED
        return DiffResult.GAP

    def next(self, last: DepthDiff | None, last_id: int, diff: DepthDiff) -> DiffResult:
        if diff.first_id == last_id + 1:
            return DiffResult.APPLIED
        return DiffResult.STALE if diff.last_id <= last_id else DiffResult.GAP


class BybitRules(SequenceRules):
    name = "bybit"

    def first(self, snapshot_id: int, diff: DepthDiff) -> DiffResult:
        return self.next(None, snapshot_id, diff)

    def next(self, last: DepthDiff | None, last_id: int, diff: DepthDiff) -> DiffResult:
        if diff.last_id <= last_id:
            return DiffResult.STALE
        if diff.last_id != last_id + 1:
            return DiffResult.GAP
        seqs = (None if last is None else last.seq, diff.seq)
        if seqs[0] is not None and seqs[1] is not None and seqs[1] <= seqs[0]:
            return DiffResult.GAP  # the cross sequence went backwards
        return DiffResult.APPLIED


BINANCE_USDM = BinanceFuturesRules()
BINANCE_SPOT = BinanceSpotRules()
BYBIT = BybitRules()


class _Side:
    """Levels of one side: a price -> amount map and the prices kept sorted ascending."""

    __slots__ = ("amounts", "is_bid", "prices")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.amounts: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []

    def clear(self) -> None:
        self.amounts.clear()
        self.prices.clear()

    def set(self, price: Decimal, amount: Decimal) -> None:
        if amount == ZERO:
            if self.amounts.pop(price, None) is not None:
                del self.prices[bisect.bisect_left(self.prices, price)]
        elif price in self.amounts:
            self.amounts[price] = amount
        else:
            self.amounts[price] = amount
            bisect.insort(self.prices, price)

    def best(self) -> Level | None:
        if not self.prices:
            return None
        price = self.prices[-1] if self.is_bid else self.prices[0]
        return price, self.amounts[price]

    def top(self, n: int) -> tuple[Level, ...]:
        prices = self.prices[: -n - 1 : -1] if self.is_bid else self.prices[:n]
        return tuple((p, self.amounts[p]) for p in prices)

    def __len__(self) -> int:
        return len(self.prices)


class OrderBook:
    """One symbol's L2 book on one venue, maintained under ``rules``.

    ``apply_snapshot`` loads a full book; ``apply_diff`` applies one update and returns
    what happened to it. While the book is not ``SYNCED`` the price accessors raise
    ``OrderBookOutOfSync`` and ``needs_snapshot`` tells the feed to fetch one. A book
    that comes out crossed (best bid >= best ask) is treated as a gap as well when
    ``resync_on_cross`` is set: only a missed update can produce one.
    """

    def __init__(
        self,
        symbol: str,
        rules: SequenceRules,
        *,
        buffer: int = 1_000,
        resync_on_cross: bool = True,
    ) -> None:
        self.symbol = symbol
        self.rules = rules
        self.resync_on_cross = resync_on_cross
        self._bids = _Side(is_bid=True)
        self._asks = _Side(is_bid=False)
        self._buffer: deque[DepthDiff] = deque(maxlen=buffer)
        self.state = BookState.AWAITING_SNAPSHOT
        self.last_id: int | None = None
        self._last: DepthDiff | None = None
        self._fresh = False  # no diff applied since the snapshot
        self.reason: str | None = "no snapshot loaded yet"
        self.ts_ms: int | None = None
        self.gaps = 0

    # -- updates ------------------------------------------------------------------

    def apply_snapshot(self, snapshot: DepthSnapshot) -> None:
        """Replace the book with ``snapshot``, then replay the diffs buffered meanwhile."""
        self._bids.clear()
        self._asks.clear()
        self._load(snapshot.bids, snapshot.asks)
        self.last_id = snapshot.last_update_id
        self._last = DepthDiff(
            snapshot.last_update_id, snapshot.last_update_id, (), (), seq=snapshot.seq
        )
        self._fresh = True
        self.ts_ms = snapshot.ts_ms
        self.state, self.reason = BookState.SYNCED, None
        if self._crossed_now():
            self._gap(f"the snapshot at id {snapshot.last_update_id} is crossed")
            return
        pending, self._buffer = list(self._buffer), deque(maxlen=self._buffer.maxlen)
        for i, diff in enumerate(pending):
            if self.apply_diff(diff) is DiffResult.GAP:
                self._buffer.extend(pending[i + 1 :])  # kept for the next snapshot
                break

    def apply_diff(self, diff: DepthDiff) -> DiffResult:
        """Apply ``diff`` if the rules allow it; a gap marks the book out of sync."""
        if self.state is not BookState.SYNCED or self.last_id is None:
            self._buffer.append(diff)
            return DiffResult.BUFFERED
        if self._fresh:
            verdict = self.rules.first(self.last_id, diff)
        else:
            verdict = self.rules.next(self._last, self.last_id, diff)
        if verdict is DiffResult.GAP:
            self._gap(self._gap_reason(diff))
            self._buffer.append(diff)
            return verdict
        if verdict is DiffResult.STALE:
            return verdict
        self._load(diff.bids, diff.asks)
        self.last_id, self._last, self._fresh = diff.last_id, diff, False
        if diff.ts_ms is not None:
            self.ts_ms = diff.ts_ms
        if self.resync_on_cross and self._crossed_now():
            bid, ask = self._bids.best(), self._asks.best()
            self._gap(f"the book crossed at id {diff.last_id} (bid {bid} >= ask {ask})")
            return DiffResult.GAP
        return verdict

    def apply(self, message: DepthSnapshot | DepthDiff) -> DiffResult:
        """Apply a parsed message of either kind (snapshots always apply)."""
        if isinstance(message, DepthSnapshot):
            self.apply_snapshot(message)
            return DiffResult.APPLIED
        return self.apply_diff(message)

    def invalidate(self, reason: str) -> None:
        """Mark the book out of sync from outside (a dropped socket, a feed restart)."""
        self._gap(reason)

    def _load(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        for price, amount in bids:
            self._bids.set(price, amount)
        for price, amount in asks:
            self._asks.set(price, amount)

    def _gap(self, reason: str) -> None:
        self.state, self.reason = BookState.OUT_OF_SYNC, reason
        self.gaps += 1
        log.warning("%s order book out of sync: %s", self.symbol, reason)

    def _gap_reason(self, diff: DepthDiff) -> str:
        if self._fresh:
            return (
                f"the first update (ids {diff.first_id}..{diff.last_id}) does not cover the "
                f"snapshot id {self.last_id} under {self.rules.name} rules"
            )
        prev = f"pu={diff.prev_id}" if diff.prev_id is not None else f"ids {diff.first_id}.."
        return f"update {prev}{diff.last_id} does not follow id {self.last_id}: updates were missed"

    # -- reads --------------------------------------------------------------------

    @property
    def synced(self) -> bool:
        return self.state is BookState.SYNCED

    @property
    def needs_snapshot(self) -> bool:
        return self.state is not BookState.SYNCED

    def _require(self) -> None:
        if self.state is not BookState.SYNCED:
            raise OrderBookOutOfSync(
                f"the {self.symbol} order book is out of sync ({self.reason}); wait for the "
                "feed to load a fresh snapshot before using its prices"
            )

    def best_bid(self) -> Level | None:
        self._require()
        return self._bids.best()

    def best_ask(self) -> Level | None:
        self._require()
        return self._asks.best()

    def mid(self) -> Decimal | None:
        """The average of best bid and best ask; None while a side is empty."""
        bid, ask = self.best_bid(), self.best_ask()
        return None if bid is None or ask is None else (bid[0] + ask[0]) / 2

    def spread(self) -> Decimal | None:
        """Best ask minus best bid (negative on a crossed book); None while a side is empty."""
        bid, ask = self.best_bid(), self.best_ask()
        return None if bid is None or ask is None else ask[0] - bid[0]

    def depth(self, levels: int) -> BookDepth:
        """The best ``levels`` levels of each side, best first."""
        self._require()
        if levels < 1:
            raise DataError(f"depth needs at least one level, got {levels}")
        return BookDepth(self._bids.top(levels), self._asks.top(levels))

    def _crossed_now(self) -> bool:
        bid, ask = self._bids.best(), self._asks.best()
        return bid is not None and ask is not None and bid[0] >= ask[0]

    @property
    def crossed(self) -> bool:
        """Whether the best bid is at or above the best ask (never true of a sound book)."""
        return self._crossed_now()

    def side_sizes(self) -> tuple[int, int]:
        """How many bid and ask levels the book holds."""
        return len(self._bids), len(self._asks)

    def levels(self) -> BookDepth:
        """Every level, best first (for checks and recordings)."""
        self._require()
        return BookDepth(self._bids.top(len(self._bids)), self._asks.top(len(self._asks)))


# -- parsing the venues' messages --------------------------------------------------


def parse_levels(raw: object, where: str) -> tuple[Level, ...]:
    """``[[price, amount], ...]`` strings to exact Decimal levels, refusing bad cells."""
    if not isinstance(raw, list):
        raise DataError(f"{where}: levels must be a list, got {type(raw).__name__}")
    out = []
    for cell in raw:
        try:
            price, amount = Decimal(str(cell[0])), Decimal(str(cell[1]))
        except (InvalidOperation, IndexError, TypeError, KeyError):
            raise DataError(f"{where}: malformed level {cell!r}") from None
        if not (price.is_finite() and amount.is_finite()) or price <= ZERO or amount < ZERO:
            raise DataError(f"{where}: impossible level {cell!r}")
        out.append((price, amount))
    return tuple(out)


def _int(payload: Mapping[str, Any], key: str, where: str) -> int:
    try:
        return int(payload[key])
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{where}: field {key!r} is missing or not an integer") from None


def binance_depth_snapshot(payload: Mapping[str, Any]) -> DepthSnapshot:
    """``GET /fapi/v1/depth`` or ``/api/v3/depth`` JSON."""
    where = "binance depth snapshot"
    return DepthSnapshot(
        last_update_id=_int(payload, "lastUpdateId", where),
        bids=parse_levels(payload.get("bids"), where),
        asks=parse_levels(payload.get("asks"), where),
        ts_ms=int(payload["T"]) if "T" in payload else None,
    )


def binance_depth_diff(payload: Mapping[str, Any]) -> DepthDiff:
    """A ``depthUpdate`` stream event (futures carry ``pu``; spot does not)."""
    where = "binance depthUpdate"
    return DepthDiff(
        first_id=_int(payload, "U", where),
        last_id=_int(payload, "u", where),
        prev_id=_int(payload, "pu", where) if "pu" in payload else None,
        bids=parse_levels(payload.get("b"), where),
        asks=parse_levels(payload.get("a"), where),
        ts_ms=int(payload["E"]) if "E" in payload else None,
    )


def bybit_orderbook_message(message: Mapping[str, Any]) -> DepthSnapshot | DepthDiff:
    """A Bybit v5 ``orderbook.{depth}.{symbol}`` message; ``u == 1`` is a snapshot too."""
    where = f"bybit {message.get('topic', 'orderbook')}"
    data = message.get("data")
    if not isinstance(data, Mapping):
        raise DataError(f"{where}: no 'data' object")
    kind = message.get("type")
    if kind not in ("snapshot", "delta"):
        raise DataError(f"{where}: unknown message type {kind!r}")
    update_id = _int(data, "u", where)
    seq = int(data["seq"]) if "seq" in data else None
    ts = int(message["ts"]) if "ts" in message else None
    bids, asks = parse_levels(data.get("b"), where), parse_levels(data.get("a"), where)
    if kind == "snapshot" or update_id == 1:
        return DepthSnapshot(update_id, bids, asks, ts_ms=ts, seq=seq)
    return DepthDiff(update_id, update_id, bids, asks, ts_ms=ts, seq=seq)
