"""The L2 book on real exchange recordings (``shared/data/orderbooks``).

What the recordings allow, honestly:

* Binance USDⓈ-M: one REST snapshot (100 bid levels, 23:49:39) and one diff-depth event
  recorded ten minutes later (23:59:59, ~20M update ids on). The snapshot loads
  exactly; the diff does not bridge it, which the rules must flag as a gap. The diff's
  own levels are then applied under a snapshot id rebased into its ``U..u`` range to
  exercise the bridging and ``pu`` chaining rules on real prices.
* Bybit linear ``orderbook.500``: one snapshot and the 49 deltas that follow it, as
  received. The recording has no later snapshot to compare with; instead, the book is
  checked at every step against what Bybit guarantees for this topic (exactly 500
  levels a side, deletions only of levels that exist, never crossed), and a resync
  snapshot built from the uninterrupted replay must bring a gapped book back to the
  same state.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from task_station.domain.errors import DataError
from task_station.marketdata.orderbook import (
    BINANCE_SPOT,
    BINANCE_USDM,
    BYBIT,
    BookState,
    DepthDiff,
    DepthSnapshot,
    DiffResult,
    OrderBook,
    OrderBookOutOfSync,
    SequenceRules,
    binance_depth_diff,
    binance_depth_snapshot,
    bybit_orderbook_message,
)

D = Decimal


# -- recordings ------------------------------------------------------------------------


def _binance_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def binance_snapshot(shared_data: Path) -> DepthSnapshot:
    rows = _binance_rows(
        shared_data / "orderbooks/binanceusdm/BTC_USDT_USDT-depth-snapshot-2022-11-01.csv"
    )
    assert {r["update_type"] for r in rows} == {"snap"}
    return binance_depth_snapshot(
        {
            "lastUpdateId": rows[0]["last_update_id"],
            "T": rows[0]["timestamp"],
            "bids": [[r["price"], r["qty"]] for r in rows if r["side"] == "b"],
            "asks": [[r["price"], r["qty"]] for r in rows if r["side"] == "a"],
        }
    )


def binance_diffs(shared_data: Path) -> list[DepthDiff]:
    """The recorded ``depthUpdate`` events, one per ``(U, u)`` in file order."""
    rows = _binance_rows(
        shared_data / "orderbooks/binanceusdm/BTC_USDT_USDT-depth-updates-2022-11-01.csv"
    )
    events: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["first_update_id"], r["last_update_id"])
        event = events.setdefault(
            key, {"e": "depthUpdate", "E": r["timestamp"], "U": key[0], "u": key[1],
                  "pu": r["pu"], "b": [], "a": []},
        )  # fmt: skip
        event[r["side"]].append([r["price"], r["qty"]])
    return [binance_depth_diff(e) for e in events.values()]


def bybit_messages(shared_data: Path) -> list[DepthSnapshot | DepthDiff]:
    path = shared_data / "orderbooks/bybit/XRP_USDT_USDT-orderbook500-ws-2024-12-01.jsonl.gz"
    with gzip.open(path, "rt") as fh:
        return [bybit_orderbook_message(json.loads(line)) for line in fh]


# -- Binance USD-M futures -----------------------------------------------------------------


def test_binance_snapshot_loads_every_level_exactly(shared_data: Path) -> None:
    snap = binance_snapshot(shared_data)
    book = OrderBook("BTCUSDT", BINANCE_USDM)
    book.apply_snapshot(snap)
    assert book.state is BookState.SYNCED and book.last_id == 2098021528332
    levels = book.levels()
    assert levels.bids == tuple(sorted(snap.bids, reverse=True)) and len(levels.bids) == 100
    assert levels.asks == ()  # the recording kept the bid side only
    assert book.best_bid() == (D("20377.00"), D("1.770"))
    assert book.best_ask() is None and book.mid() is None and book.spread() is None
    assert book.depth(3).bids == ((D("20377.00"), D("1.770")), (D("20376.90"), D("0.001")),
                                  (D("20376.80"), D("0.009")))  # fmt: skip
    assert not book.crossed


def test_binance_recorded_diff_ten_minutes_later_is_a_gap(shared_data: Path) -> None:
    [diff] = binance_diffs(shared_data)
    assert (diff.first_id, diff.last_id, diff.prev_id) == (
        2098041693435, 2098041696700, 2098041693400,
    )  # fmt: skip
    book = OrderBook("BTCUSDT", BINANCE_USDM)
    book.apply_snapshot(binance_snapshot(shared_data))
    assert book.apply_diff(diff) is DiffResult.GAP
    assert book.needs_snapshot and book.state is BookState.OUT_OF_SYNC
    assert "does not cover the snapshot id 2098021528332" in (book.reason or "")
    with pytest.raises(OrderBookOutOfSync, match="wait for the feed to load a fresh snapshot"):
        book.best_bid()
    with pytest.raises(OrderBookOutOfSync):
        book.depth(5)


def test_binance_recorded_diff_bridges_a_snapshot_inside_its_range(shared_data: Path) -> None:
    [diff] = binance_diffs(shared_data)
    book = OrderBook("BTCUSDT", BINANCE_USDM)
    book.apply_snapshot(DepthSnapshot(diff.first_id + 100, (), ()))  # ids rebased: see module
    assert book.apply_diff(diff) is DiffResult.APPLIED
    expected_bids = sorted({p: a for p, a in diff.bids if a}.items(), reverse=True)
    expected_asks = sorted({p: a for p, a in diff.asks if a}.items())
    assert list(book.levels().bids) == expected_bids
    assert list(book.levels().asks) == expected_asks  # the duplicated rows apply once
    assert book.best_bid() == (D("20472.10"), D("22.276"))
    assert book.best_ask() == (D("20472.20"), D("4.211"))  # one tick above: not crossed
    assert book.spread() == D("0.10") and book.mid() == D("20472.15")
    assert not book.crossed
    follow = dataclasses.replace(
        diff, first_id=diff.last_id + 1, last_id=diff.last_id + 9, prev_id=diff.last_id,
        bids=((D("20472.10"), D("0")),), asks=(),
    )  # fmt: skip
    assert book.apply_diff(follow) is DiffResult.APPLIED
    assert book.best_bid() == (D("20469.20"), D("2.864"))
    assert book.apply_diff(follow) is DiffResult.STALE  # a repeat: dropped
    skipped = dataclasses.replace(follow, first_id=follow.last_id + 5, last_id=follow.last_id + 9,
                                  prev_id=follow.last_id + 4)  # fmt: skip
    assert book.apply_diff(skipped) is DiffResult.GAP


def test_binance_resync_replays_buffered_diffs_after_the_new_snapshot() -> None:
    book = OrderBook("BTCUSDT", BINANCE_USDM)
    early = DepthDiff(90, 99, ((D("100"), D("1")),), (), prev_id=89)
    bridging = DepthDiff(100, 110, ((D("101"), D("2")),), ((D("103"), D("1")),), prev_id=99)
    after = DepthDiff(111, 120, ((D("100"), D("0")),), (), prev_id=110)
    for diff in (early, bridging, after):  # the stream runs before the snapshot arrives
        assert book.apply_diff(diff) is DiffResult.BUFFERED
    book.apply_snapshot(DepthSnapshot(105, ((D("100"), D("5")),), ((D("104"), D("1")),)))
    assert book.synced and book.last_id == 120  # early dropped, bridging and after applied
    assert book.levels().bids == ((D("101"), D("2")),)
    assert book.levels().asks == ((D("103"), D("1")), (D("104"), D("1")))


@pytest.mark.parametrize(
    ("rules", "first", "diff", "verdict"),
    [
        (BINANCE_USDM, True, DepthDiff(90, 99, (), (), prev_id=89), DiffResult.STALE),
        (BINANCE_USDM, True, DepthDiff(95, 100, (), (), prev_id=94), DiffResult.APPLIED),
        (BINANCE_USDM, True, DepthDiff(101, 105, (), (), prev_id=100), DiffResult.GAP),
        (BINANCE_USDM, False, DepthDiff(101, 105, (), (), prev_id=100), DiffResult.APPLIED),
        (BINANCE_USDM, False, DepthDiff(90, 99, (), (), prev_id=89), DiffResult.STALE),
        (BINANCE_USDM, False, DepthDiff(102, 105, (), (), prev_id=101), DiffResult.GAP),
        (BINANCE_SPOT, True, DepthDiff(95, 100, (), ()), DiffResult.STALE),
        (BINANCE_SPOT, True, DepthDiff(99, 101, (), ()), DiffResult.APPLIED),
        (BINANCE_SPOT, True, DepthDiff(102, 103, (), ()), DiffResult.GAP),
        (BINANCE_SPOT, False, DepthDiff(101, 101, (), ()), DiffResult.APPLIED),
        (BINANCE_SPOT, False, DepthDiff(103, 104, (), ()), DiffResult.GAP),
        (BYBIT, False, DepthDiff(101, 101, (), (), seq=7), DiffResult.APPLIED),
        (BYBIT, False, DepthDiff(100, 100, (), (), seq=7), DiffResult.STALE),
        (BYBIT, False, DepthDiff(102, 102, (), (), seq=7), DiffResult.GAP),
        (BYBIT, False, DepthDiff(101, 101, (), (), seq=3), DiffResult.GAP),  # seq went back
    ],
)
def test_sequence_rules_of_each_venue(
    rules: SequenceRules, first: bool, diff: DepthDiff, verdict: DiffResult
) -> None:
    """After a snapshot at id 100 (``first``) or after an event that ended at id 100."""
    previous = DepthDiff(100, 100, (), (), prev_id=99, seq=5)
    got = rules.first(100, diff) if first else rules.next(previous, 100, diff)
    assert got is verdict


# -- Bybit -----------------------------------------------------------------------------


def _check_delta_against(book: OrderBook, delta: DepthDiff) -> int:
    """Bybit deletes only levels the book holds; returns how many deletions it carries."""
    levels = book.levels()
    bids, asks = dict(levels.bids), dict(levels.asks)
    deletions = [(p, bids) for p, a in delta.bids if a == 0]
    deletions += [(p, asks) for p, a in delta.asks if a == 0]
    for price, side in deletions:
        assert price in side, f"delta u={delta.last_id} deletes {price}, a level never seen"
    return len(deletions)


def _check_book(book: OrderBook) -> None:
    assert book.synced and not book.crossed
    assert book.side_sizes() == (500, 500)  # orderbook.500 keeps exactly 500 a side
    levels = book.levels()
    assert all(a > 0 for _, a in levels.bids + levels.asks)
    spread = book.spread()
    assert spread is not None and spread > 0


def test_bybit_book_stays_consistent_through_every_recorded_delta(shared_data: Path) -> None:
    messages = bybit_messages(shared_data)
    assert isinstance(messages[0], DepthSnapshot) and len(messages) == 50
    book = OrderBook("XRPUSDT", BYBIT)
    book.apply_snapshot(messages[0])
    _check_book(book)
    deletions = 0
    for delta in messages[1:]:
        assert isinstance(delta, DepthDiff)
        deletions += _check_delta_against(book, delta)
        assert book.apply_diff(delta) is DiffResult.APPLIED
        _check_book(book)
    assert deletions == 18 and book.last_id == 20254918
    assert book.best_bid() == (D("1.9537"), D("10605"))  # the last delta's own top levels
    assert book.best_ask() == (D("1.9538"), D("6702"))


def test_bybit_every_dropped_delta_is_caught_and_a_resync_restores_the_book(
    shared_data: Path,
) -> None:
    messages = bybit_messages(shared_data)
    snapshot, deltas = messages[0], messages[1:]
    assert isinstance(snapshot, DepthSnapshot)
    truth = OrderBook("XRPUSDT", BYBIT)
    truth.apply_snapshot(snapshot)
    states = []  # the uninterrupted book after each delta
    for delta in deltas:
        truth.apply(delta)
        states.append(truth.levels())
    for dropped in range(len(deltas) - 1):  # drop each delta once (not the last one)
        book = OrderBook("XRPUSDT", BYBIT)
        book.apply_snapshot(snapshot)
        verdicts = [book.apply(d) for i, d in enumerate(deltas) if i != dropped]
        assert verdicts[dropped] is DiffResult.GAP, f"dropping delta {dropped} went unnoticed"
        assert all(v is DiffResult.BUFFERED for v in verdicts[dropped + 1 :])
    # resync after a gap at delta 10: Bybit resends a snapshot on resubscription
    book = OrderBook("XRPUSDT", BYBIT)
    book.apply_snapshot(snapshot)
    for delta in deltas[:10] + deltas[11:20]:
        book.apply(delta)
    assert book.needs_snapshot
    resync = DepthSnapshot(deltas[19].last_id, states[19].bids, states[19].asks)
    book.apply_snapshot(resync)  # buffered deltas up to u are stale, later ones none yet
    assert book.synced and book.levels() == states[19]
    for delta in deltas[20:]:
        assert book.apply(delta) is DiffResult.APPLIED
    assert book.levels() == states[-1]


def test_bybit_message_with_u_1_is_a_fresh_snapshot(shared_data: Path) -> None:
    book = OrderBook("XRPUSDT", BYBIT)
    for message in bybit_messages(shared_data)[:5]:
        book.apply(message)
    restart = bybit_orderbook_message(
        {"topic": "orderbook.500.XRPUSDT", "type": "delta", "ts": 1,
         "data": {"s": "XRPUSDT", "u": 1, "seq": 9, "b": [["1.9", "10"]], "a": [["2.0", "5"]]}}
    )  # fmt: skip
    assert isinstance(restart, DepthSnapshot)
    book.apply(restart)
    assert book.levels().bids == ((D("1.9"), D("10")),) and book.last_id == 1
    nxt = DepthDiff(2, 2, ((D("1.95"), D("1")),), (), seq=10)
    assert book.apply(nxt) is DiffResult.APPLIED and book.best_bid() == (D("1.95"), D("1"))


# -- reads and refusals ------------------------------------------------------------------


def test_a_diff_that_crosses_the_book_is_treated_as_a_gap() -> None:
    book = OrderBook("X", BINANCE_SPOT)
    book.apply_snapshot(DepthSnapshot(10, ((D("99"), D("1")),), ((D("101"), D("1")),)))
    crossing = DepthDiff(11, 11, ((D("102"), D("1")),), ())
    assert book.apply_diff(crossing) is DiffResult.GAP
    assert book.crossed and "crossed" in (book.reason or "")
    with pytest.raises(OrderBookOutOfSync):
        book.mid()
    lenient = OrderBook("X", BINANCE_SPOT, resync_on_cross=False)
    lenient.apply_snapshot(DepthSnapshot(10, ((D("99"), D("1")),), ((D("101"), D("1")),)))
    assert lenient.apply_diff(crossing) is DiffResult.APPLIED
    assert lenient.spread() == D("-1")


def test_depth_and_mid_are_exact_decimals() -> None:
    book = OrderBook("X", BINANCE_SPOT)
    bids = [(D("0.00001413"), D("5")), (D("0.00001412"), D("7")), (D("0.00001410"), D("1"))]
    asks = [(D("0.00001416"), D("2")), (D("0.00001415"), D("3"))]
    book.apply_snapshot(DepthSnapshot(1, bids, asks))
    assert book.mid() == D("0.000014140") and book.spread() == D("0.00000002")
    depth = book.depth(2)
    assert depth.bids == tuple(bids[:2]) and depth.asks == (asks[1], asks[0])
    book.apply_diff(DepthDiff(2, 2, ((D("0.00001413"), D("0")),), ()))
    assert book.best_bid() == (D("0.00001412"), D("7"))
    with pytest.raises(DataError, match="at least one level"):
        book.depth(0)


@pytest.mark.parametrize(
    "payload",
    [
        {"e": "depthUpdate", "U": 1, "u": 2, "b": [["abc", "1"]], "a": []},
        {"e": "depthUpdate", "U": 1, "u": 2, "b": [["-1", "1"]], "a": []},
        {"e": "depthUpdate", "U": 1, "u": 2, "b": [["1"]], "a": []},
        {"e": "depthUpdate", "u": 2, "b": [], "a": []},
    ],
)
def test_malformed_messages_are_refused_with_the_reason(payload: dict[str, Any]) -> None:
    with pytest.raises(DataError, match="binance depthUpdate"):
        binance_depth_diff(payload)


def test_a_book_without_a_snapshot_refuses_reads() -> None:
    book = OrderBook("X", BYBIT)
    with pytest.raises(OrderBookOutOfSync, match="no snapshot loaded yet"):
        book.best_ask()
