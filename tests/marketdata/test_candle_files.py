"""Candle files: real data loads exactly; bad files are refused whole, naming the problem."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from task_station.domain.errors import DataError
from task_station.marketdata.candle_files import infer_timeframe, read_candles, read_frame
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame


def test_real_binance_file_loads_as_exact_decimals(shared_data: Path) -> None:
    candles = read_candles(shared_data / "candles/binance/XRP_ETH-5m.parquet")
    assert len(candles) == 706
    assert all(isinstance(c.close, Decimal) for c in candles)
    raw = pd.read_parquet(shared_data / "candles/binance/XRP_ETH-5m.parquet")
    assert candles[0].close == Decimal(repr(float(raw["close"].iloc[0])))


def test_csv_and_parquet_give_the_same_candles(tmp_path: Path) -> None:
    frame = generate_frame(SyntheticMarketSpec(seed=3, bars=50))
    frame.to_csv(tmp_path / "x.csv", index=False)
    frame.to_parquet(tmp_path / "x.parquet")
    assert read_candles(tmp_path / "x.csv") == read_candles(tmp_path / "x.parquet")
    assert infer_timeframe(read_frame(tmp_path / "x.csv")) == "1h"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("timestamp,open,high,low,close\n1,1,1,1,1\n", "missing column.*volume"),
        ("timestamp,open,high,low,close,volume\n", "no rows"),
        (
            "timestamp,open,high,low,close,volume\n1,1,2,0.5,1,abc\n",
            "row 1 column 'volume' is not a number",
        ),
        (
            "timestamp,open,high,low,close,volume\n2,1,2,0.5,1,1\n1,1,2,0.5,1,1\n",
            "strictly increase",
        ),
        ("timestamp,open,high,low,close,volume\n1,1,1.5,0.5,2,1\n", "row 1 is not a valid candle"),
        ("timestamp,open,high,low,close,volume\n1.5,1,2,0.5,1,1\n", "whole milliseconds"),
    ],
)
def test_malformed_csv_is_refused_with_a_precise_message(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_frame(path)


def test_corrupt_parquet_and_unknown_suffix_are_refused(tmp_path: Path) -> None:
    (tmp_path / "x.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot be read as parquet"):
        read_frame(tmp_path / "x.parquet")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match="unsupported file type"):
        read_frame(tmp_path / "x.json")
    with pytest.raises(DataError, match="does not exist"):
        read_frame(tmp_path / "missing.csv")


def test_synthetic_market_is_seeded_and_valid() -> None:
    a = generate_frame(SyntheticMarketSpec(seed=5, bars=3000))
    b = generate_frame(SyntheticMarketSpec(seed=5, bars=3000))
    c = generate_frame(SyntheticMarketSpec(seed=6, bars=3000))
    pd.testing.assert_frame_equal(a, b)
    assert not a["close"].equals(c["close"])
    from task_station.marketdata.candle_files import validate_frame

    validate_frame(a, "synthetic")  # consistent OHLC, increasing time
    returns = a["close"].pct_change().dropna().abs()
    # volatility clusters: big moves follow big moves more than chance would say
    assert returns.autocorr(lag=1) > 0.05
    assert (returns > 6 * returns.median()).any()  # jumps happen
