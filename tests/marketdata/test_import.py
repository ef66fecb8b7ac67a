"""Importing candle files: CSV and Parquet, dates in several spellings, and bad files
refused whole with a message naming the file and row, the store left untouched."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from task_station.domain.clock import SystemClock
from task_station.domain.errors import DataError
from task_station.marketdata.store import MarketStore
from task_station.services.market_data import MarketDataService
from tests.marketdata.store_fixtures import SpySources, assert_same_bars, history_frame

V, S = "binance", "BTC/USDT"


@pytest.fixture
def service(tmp_path: Path) -> MarketDataService:
    clock = SystemClock()  # no download here: the sources are never opened
    return MarketDataService(
        MarketStore(tmp_path / "market"), SpySources("http://127.0.0.1:9"), clock
    )


def test_csv_import_stores_every_bar_exactly(tmp_path: Path, service: MarketDataService) -> None:
    frame = history_frame()
    frame.to_csv(tmp_path / "btc.csv", index=False)
    result = service.import_file(tmp_path / "btc.csv", V, S, "1m")
    assert (result.rows, result.replaced) == (len(frame), 0)
    assert result.first_ms == frame["timestamp"].iloc[0]
    assert_same_bars(service.read(V, S, "1m"), frame)


def test_parquet_with_real_timestamps_and_csv_with_iso_dates_import(
    tmp_path: Path, service: MarketDataService
) -> None:
    frame = history_frame().iloc[:300]
    dated = frame.assign(timestamp=pd.to_datetime(frame["timestamp"], unit="ms"))  # naive: UTC
    dated.to_parquet(tmp_path / "a.parquet")
    service.import_file(tmp_path / "a.parquet", V, S, "1m")
    iso = frame.assign(timestamp=pd.to_datetime(frame["timestamp"], unit="ms", utc=True)
                       .dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"))  # fmt: skip
    iso.to_csv(tmp_path / "b.csv", index=False)
    again = service.import_file(tmp_path / "b.csv", V, S, "1m")
    assert again.replaced == 300  # the same bars: the file's values replace them
    assert_same_bars(service.read(V, S, "1m"), frame)


def test_a_real_exchange_file_imports(shared_data: Path, service: MarketDataService) -> None:
    path = shared_data / "candles/binance/XRP_ETH-5m.parquet"
    result = service.import_file(path, V, "XRP/ETH", "5m")
    raw = pd.read_parquet(path)
    assert result.rows == len(raw) == 706
    bars = service.read(V, "XRP/ETH", "5m")
    assert bars.close.tolist() == raw["close"].astype(float).tolist()


HEADER = "timestamp,open,high,low,close,volume\n"
T0 = 1_700_000_040_000  # 2023-11-14 22:14 UTC, on the minute


def rows(*lines: str) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            rows(f"{T0},1,2,0.5,1.5,3", f"{T0 + 60000},1,2,0.5,,3"),
            r"row 2 column 'close' is not a number",
        ),
        (
            rows(f"{T0},1,2,0.5,1.5,3", f"{T0 + 60000},1,0.9,0.5,1,3"),
            r"row 2 is not a valid candle",
        ),
        (rows(f"{T0},1,2,0.5,1.5,3", f"{T0},1,2,0.5,1.5,3"), "timestamps must strictly increase"),
        (rows(f"{T0 + 60000},1,2,0.5,1.5,3", f"{T0},1,2,0.5,1.5,3"), "strictly increase"),
        (rows(f"{T0},1,2,0.5,1.5,3", f"{T0 + 60000},1,inf,0.5,1.5,3"), "missing or infinite"),
        (
            rows(
                f"{T0},1,2,0.5,1.5,3",
                f"{T0 + 300000},1,2,0.5,1.5,3",
                f"{T0 + 600000},1,2,0.5,1.5,3",
            ),
            "mostly 5m apart, not 1m",
        ),
        (
            rows(f"{T0 // 1000},1,2,0.5,1.5,3", f"{T0 // 1000 + 60},1,2,0.5,1.5,3"),
            "multiply seconds by 1000",
        ),
        (rows(f"{T0 + 1},1,2,0.5,1.5,3", f"{T0 + 60001},1,2,0.5,1.5,3"), "not on the bar grid"),
        ("timestamp,open,high,low,close\n1,1,1,1,1\n", "missing column"),
        (rows("yesterday,1,2,0.5,1.5,3"), "neither milliseconds nor ISO dates"),
    ],
)
def test_a_bad_file_is_refused_naming_file_and_row_and_nothing_is_written(
    tmp_path: Path, service: MarketDataService, content: str, message: str
) -> None:
    history_frame().iloc[:10].to_csv(tmp_path / "good.csv", index=False)
    service.import_file(tmp_path / "good.csv", V, S, "1m")
    before = service.inventory()
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    with pytest.raises(DataError, match=message) as caught:
        service.import_file(bad, V, S, "1m")
    assert "bad.csv" in str(caught.value)
    assert service.inventory() == before


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("broken.parquet", b"PAR1 not really", "broken.parquet: cannot be read as parquet"),
        ("candles.json", b"[]", "unsupported file type '.json'"),
    ],
)
def test_an_unreadable_file_is_refused(
    tmp_path: Path, service: MarketDataService, name: str, data: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError, match=message):
        service.import_file(tmp_path / name, V, S, "1m")
    with pytest.raises(DataError, match="does not exist"):
        service.import_file(tmp_path / "missing.csv", V, S, "1m")
    assert service.inventory() == []
