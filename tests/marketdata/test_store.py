"""The Parquet market store: exact round trips, half-open range reads, merging, checks
that refuse a whole batch, gaps, trades and book snapshots, crash leftovers, locking."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from task_station.domain.bar_columns import BarColumns
from task_station.domain.errors import DataError, ValidationError
from task_station.marketdata.store import MarketStore, book_rows
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame
from tests.marketdata.store_fixtures import START_MS, STEP, assert_same_bars, history_frame, ms

V, S = "binance", "BTC/USDT"


@pytest.fixture
def store(tmp_path: Path) -> MarketStore:
    return MarketStore(tmp_path / "market")


def test_candles_round_trip_exactly_as_printed(store: MarketStore) -> None:
    frame = history_frame()
    assert store.write_candles(V, S, "1m", frame) == len(frame)
    bars = store.read_candles(V, S, "1m")
    assert isinstance(bars, BarColumns) and bars.ts.dtype == np.int64
    assert_same_bars(bars, frame)
    assert bars.exact("close", 7) == Decimal(repr(float(frame["close"].iloc[7])))
    assert bars.candle(0).ts.timestamp() * 1000 == START_MS
    bars.close[0] = 0.0  # reads are fresh copies
    assert store.read_candles(V, S, "1m").close[0] == frame["close"].iloc[0]


def test_files_are_split_by_month_for_minutes_and_by_year_for_hours(store: MarketStore) -> None:
    store.write_candles(V, S, "1m", history_frame())  # 2023-01-31 20:00 onward
    hourly = generate_frame(SyntheticMarketSpec(bars=24 * 400, timeframe="1h"))  # 2023, 2024
    store.write_candles(V, S, "1h", hourly)
    root = store.root / "candles" / V / "BTC_USDT"
    assert sorted(p.name for p in (root / "1m").glob("*.parquet")) == [
        "2023-01.parquet",
        "2023-02.parquet",
    ]
    assert sorted(p.name for p in (root / "1h").glob("*.parquet")) == [
        "2023.parquet",
        "2024.parquet",
    ]
    assert_same_bars(store.read_candles(V, S, "1h"), hourly)


def test_range_reads_are_half_open_and_cross_files(store: MarketStore) -> None:
    frame = history_frame()
    store.write_candles(V, S, "1m", frame)
    bars = store.read_candles(V, S, "1m", ms(200), ms(300))  # crosses Jan -> Feb at 240
    assert len(bars) == 100 and (bars.ts[0], bars.ts[-1]) == (ms(200), ms(299))
    assert_same_bars(bars, frame.iloc[200:300])
    assert len(store.read_candles(V, S, "1m", ms(5), ms(5))) == 0
    assert len(store.read_candles(V, S, "1m", end_ms=ms(10))) == 10
    tail = store.read_candles_frame(V, S, "1m", start_ms=ms(len(frame) - 3))
    assert list(tail.columns) == ["timestamp", "open", "high", "low", "close", "volume"]
    assert tail["timestamp"].tolist() == [ms(len(frame) - k) for k in (3, 2, 1)]


def test_an_unknown_series_reads_as_no_bars(store: MarketStore) -> None:
    assert len(store.read_candles(V, "ETH/USDT", "1h")) == 0
    assert store.gaps(V, "ETH/USDT", "1h") == [] and store.inventory() == []


def test_writing_again_merges_and_the_new_bar_wins(store: MarketStore) -> None:
    frame = history_frame()
    store.write_candles(V, S, "1m", frame.iloc[:1000])
    changed = frame.iloc[900:1500].copy()
    changed.loc[changed.index[0], ["high", "close"]] = [99_999.0, 99_999.0]
    store.write_candles(V, S, "1m", changed)
    bars = store.read_candles(V, S, "1m")
    assert len(bars) == 1500 and len(np.unique(bars.ts)) == 1500
    assert bars.close[900] == 99_999.0 and bars.close[899] == frame["close"].iloc[899]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(close=f["close"].where(f.index != 5)), r"row 6 .* missing or infinite"),
        (lambda f: f.assign(high=f["low"] - 1), r"row 1 .* not a valid candle"),
        (lambda f: f.assign(volume=-f["volume"]), "not a valid candle"),
        (lambda f: pd.concat([f.iloc[:3], f.iloc[2:]]), "strictly increase with no duplicates"),
        (lambda f: f.iloc[::-1], "strictly increase"),
        (lambda f: f.assign(timestamp=f["timestamp"] + 30_000), "not on the bar grid"),
        (lambda f: f.assign(timestamp=f["timestamp"] // 1000), "multiply seconds by 1000"),
        (lambda f: f.drop(columns=["volume"]), "missing volume"),
    ],
)
def test_a_bad_batch_is_refused_whole_and_the_store_is_unchanged(
    store: MarketStore, change: object, message: str
) -> None:
    frame = history_frame()
    store.write_candles(V, S, "1m", frame.iloc[:100])
    before = sorted((p.name, p.stat().st_mtime_ns) for p in store.root.rglob("*.parquet"))
    bad = change(frame.iloc[100:200].reset_index(drop=True))  # type: ignore[operator]
    with pytest.raises(DataError, match=message):
        store.write_candles(V, S, "1m", bad)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in store.root.rglob("*.parquet")) == before
    assert_same_bars(store.read_candles(V, S, "1m"), frame.iloc[:100])


@pytest.mark.parametrize(
    ("venue", "symbol", "timeframe", "message"),
    [
        ("../etc", S, "1m", "venue '../etc' must be lower-case"),
        ("Binance", S, "1m", "must be lower-case"),
        (V, "BTC/../USDT", "1m", "must look like BASE/QUOTE"),
        (V, "BTC", "1m", "must look like BASE/QUOTE"),
        (V, S, "1M", "months have no fixed length"),
        (V, S, "fast", "unknown timeframe 'fast'"),
    ],
)
def test_names_that_cannot_be_stored_safely_are_refused(
    store: MarketStore, venue: str, symbol: str, timeframe: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        store.write_candles(venue, symbol, timeframe, history_frame().iloc[:5])
    assert not store.root.exists()


def test_a_bad_first_batch_leaves_no_trace(store: MarketStore) -> None:
    with pytest.raises(DataError, match="not a valid candle"):
        store.write_candles(V, S, "1m", history_frame().iloc[:5].assign(low=1e9))
    assert not store.root.exists()


def test_derivative_symbols_keep_their_settle_currency(store: MarketStore) -> None:
    store.write_candles("binanceusdm", "ETH/USDT:USDT", "1m", history_frame().iloc[:10])
    [series] = store.inventory()
    assert (series.venue, series.symbol) == ("binanceusdm", "ETH/USDT:USDT")
    assert (store.root / "candles/binanceusdm/ETH_USDT_USDT/1m").is_dir()


def test_inventory_lists_every_series_with_range_rows_and_gaps(store: MarketStore) -> None:
    frame = history_frame()
    holed = pd.concat([frame.iloc[:500], frame.iloc[510:1000], frame.iloc[1003:1200]])
    store.write_candles(V, S, "1m", holed)
    store.record_no_data(V, S, "1m", [(ms(500), ms(510))])
    store.write_trades(V, S, {"ts": [ms(0)], "price": [1.0], "amount": [2.0]})
    candles, trades = store.inventory()
    assert (candles.kind, candles.timeframe, candles.rows) == ("candles", "1m", 1187)
    assert (candles.first_ms, candles.last_ms) == (ms(0), ms(1199))
    assert [(g.start_ms, g.end_ms, g.missing, g.confirmed) for g in candles.gaps] == [
        (ms(500), ms(510), 10, True),
        (ms(1000), ms(1003), 3, False),
    ]
    assert candles.missing_bars == 13 and candles.files == 2 and candles.size_bytes > 0
    assert (trades.kind, trades.timeframe, trades.rows, trades.gaps) == ("trades", None, 1, ())
    assert store.gaps(V, S, "1m", ms(900), ms(2000)) == [candles.gaps[1]]
    store.forget_no_data(V, S, "1m")
    assert not any(g.confirmed for g in store.gaps(V, S, "1m"))


def test_trades_merge_by_id_or_by_all_fields_and_read_in_time_order(store: MarketStore) -> None:
    t = START_MS
    store.write_trades(V, S, pd.DataFrame({
        "timestamp": [t + 2, t, t + 1], "price": [10.5, 10.0, 10.25], "amount": [1, 2, 3],
        "side": ["buy", "SELL", None], "id": ["c", "a", "b"],
    }))  # fmt: skip
    store.write_trades(V, S, {"ts": [t, t + 5], "price": [10.01, 11.0], "amount": [2, 1],
                              "side": ["sell", "buy"], "id": ["a", ""]})  # fmt: skip
    store.write_trades(V, S, {"ts": [t + 5], "price": [11.0], "amount": [1], "side": ["buy"]})
    trades = store.read_trades(V, S)
    assert trades["id"].tolist() == ["a", "b", "c", ""]
    assert trades["price"].tolist() == [10.01, 10.25, 10.5, 11.0]  # the re-sent "a" wins
    assert trades["side"].tolist() == ["sell", "", "buy", "buy"]
    assert store.read_trades(V, S, t + 1, t + 3)["id"].tolist() == ["b", "c"]
    with pytest.raises(DataError, match="side other than buy/sell"):
        store.write_trades(V, S, {"ts": [t], "price": [1.0], "amount": [1.0], "side": ["long"]})
    with pytest.raises(DataError, match="price that is not positive"):
        store.write_trades(V, S, {"ts": [t], "price": [0.0], "amount": [1.0]})


def test_book_snapshots_replace_the_snapshot_of_the_same_time(store: MarketStore) -> None:
    t = START_MS
    first = book_rows([
        (t, [(Decimal("100.5"), Decimal("1")), ("100.4", "2")], [("100.6", "3")]),
        (t + 1000, [(100.0, 1.0)], [(101.0, 1.0)]),
    ])  # fmt: skip
    store.write_book_snapshots(V, S, first)
    store.write_book_snapshots(V, S, book_rows([(t, [(99.0, 5.0)], [(99.5, 5.0)])]))
    book = store.read_book_snapshots(V, S)
    at_t = book[book["ts"] == t]
    assert at_t[["side", "level", "price", "amount"]].values.tolist() == [
        ["ask", 0, 99.5, 5.0],
        ["bid", 0, 99.0, 5.0],
    ]
    assert len(store.read_book_snapshots(V, S, t + 1, None)) == 2
    [series] = store.inventory()
    assert (series.kind, series.rows) == ("books", 2)  # snapshots, not levels
    with pytest.raises(DataError, match="repeats a"):
        store.write_book_snapshots(V, S, pd.concat([first, first.iloc[:1]]))


def test_leftovers_of_a_killed_writer_are_ignored_then_cleaned(store: MarketStore) -> None:
    frame = history_frame()
    store.write_candles(V, S, "1m", frame.iloc[:100])
    folder = store.root / "candles" / V / "BTC_USDT" / "1m"
    torn = folder / ".2023-01.parquet.999.dead.tmp"
    torn.write_bytes(b"PAR1 half a file")
    assert_same_bars(store.read_candles(V, S, "1m"), frame.iloc[:100])
    store.write_candles(V, S, "1m", frame.iloc[100:200])
    assert not torn.exists()
    assert_same_bars(store.read_candles(V, S, "1m"), frame.iloc[:200])


def test_a_damaged_file_is_named_with_what_to_do(store: MarketStore) -> None:
    store.write_candles(V, S, "1m", history_frame().iloc[:100])
    damaged = store.root / "candles" / V / "BTC_USDT" / "1m" / "2023-01.parquet"
    damaged.write_bytes(b"not parquet")
    with pytest.raises(DataError, match="2023-01.parquet is damaged.*delete it and download"):
        store.read_candles(V, S, "1m")


def test_concurrent_writers_of_one_file_lose_no_bars(store: MarketStore) -> None:
    frame = history_frame().iloc[:240]  # all in one monthly file
    chunks = [frame.iloc[k::6] for k in range(6)]  # interleaved: every write merges
    errors: list[BaseException] = []

    def write(chunk: pd.DataFrame) -> None:
        try:
            MarketStore(store.root).write_candles(V, S, "1m", chunk)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(c,)) for c in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert_same_bars(store.read_candles(V, S, "1m"), frame)
    assert np.all(np.diff(store.candle_times(V, S, "1m")) == STEP)
