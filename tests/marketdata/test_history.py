"""History downloads through the real ccxt binance class against the loopback simulator:
paging, resume, rate limits, gap repair, and gaps the venue truly has no data for."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from task_station.domain.clock import ManualClock, ms_to_datetime
from task_station.domain.errors import ValidationError, VenueError
from task_station.marketdata.history import HistoryDownloader, Row
from task_station.marketdata.store import MarketStore
from task_station.venues.simulator.server import SimulatorServer
from tests.marketdata.store_fixtures import (
    BARS,
    START,
    STEP,
    SYMBOL,
    VENUE,
    assert_same_bars,
    history_frame,
    make_service,
    ms,
    simulator,
)

__all__ = ["simulator"]  # the fixture, used by name


async def test_download_pages_through_the_history_and_stores_it_exactly(
    tmp_path: Path, simulator: SimulatorServer
) -> None:
    service, spy = make_service(tmp_path, simulator.url)
    seen: list[tuple[int, int]] = []
    result = await service.download(
        VENUE, SYMBOL, "1m", START, progress=lambda d, t: seen.append((d, t))
    )
    assert result.bars_written == BARS and result.complete and not result.gaps
    assert spy.since[:3] == [ms(0), ms(1000), ms(2000)]  # since/limit pages of 1000
    assert_same_bars(service.read(VENUE, SYMBOL, "1m"), history_frame())
    assert seen[-1][0] == seen[-1][1] and [d for d, _ in seen] == sorted(d for d, _ in seen)
    files = sorted(p.name for p in (tmp_path / "candles/simulator/BTC_USDT/1m").glob("*.parquet"))
    assert files == ["2023-01.parquet", "2023-02.parquet"]


async def test_until_bounds_the_range_half_open(tmp_path: Path, simulator: SimulatorServer) -> None:
    service, _ = make_service(tmp_path, simulator.url)
    result = await service.download(VENUE, SYMBOL, "1m", START + timedelta(minutes=10),
                                    START + timedelta(minutes=1510))  # fmt: skip
    bars = service.read(VENUE, SYMBOL, "1m")
    assert result.bars_written == 1500 and len(bars) == 1500
    assert (bars.ts[0], bars.ts[-1]) == (ms(10), ms(1509))


async def test_a_cancelled_download_resumes_from_the_last_stored_bar(
    tmp_path: Path, simulator: SimulatorServer
) -> None:
    service, spy = make_service(tmp_path, simulator.url)
    cancel = asyncio.Event()
    first = await service.download(VENUE, SYMBOL, "1m", START, cancel=cancel,
                                   progress=lambda d, t: cancel.set() if d else None)  # fmt: skip
    assert first.cancelled and not first.complete and first.bars_written == 1000
    assert len(service.read(VENUE, SYMBOL, "1m")) == 1000
    spy.since.clear()
    second = await service.download(VENUE, SYMBOL, "1m", START)
    assert spy.since[0] == ms(1000)  # nothing stored is asked for again
    assert second.complete and second.bars_written == BARS - 1000
    assert_same_bars(service.read(VENUE, SYMBOL, "1m"), history_frame())


async def test_rate_limits_are_retried_with_back_off(
    tmp_path: Path, simulator: SimulatorServer
) -> None:
    service, _ = make_service(tmp_path, simulator.url)
    simulator.set_faults("rate429_next=2")  # two 429s in a row, then answers
    result = await service.download(VENUE, SYMBOL, "1m", START)
    assert result.complete
    assert_same_bars(service.read(VENUE, SYMBOL, "1m"), history_frame())


async def test_a_venue_that_keeps_refusing_fails_clearly_and_keeps_what_was_fetched(
    tmp_path: Path, simulator: SimulatorServer
) -> None:
    service, spy = make_service(tmp_path, simulator.url)

    def throttle_after_first_page(done: int, total: int) -> None:
        if done:
            simulator.set_faults("rate429=1")

    with pytest.raises(VenueError, match="rate limited by the exchange"):
        await service.download(VENUE, SYMBOL, "1m", START, progress=throttle_after_first_page)
    assert len(service.read(VENUE, SYMBOL, "1m")) == 1000  # saved before the error
    simulator.set_faults("")
    spy.since.clear()
    result = await service.download(VENUE, SYMBOL, "1m", START)
    assert spy.since[0] == ms(1000) and result.complete
    assert_same_bars(service.read(VENUE, SYMBOL, "1m"), history_frame())


async def test_a_hole_is_filled_once_the_venue_serves_it(
    tmp_path: Path, simulator: SimulatorServer
) -> None:
    service, _ = make_service(tmp_path, simulator.url)
    simulator.set_faults(f"hole={ms(1500)}-{ms(1520)}")
    first = await service.download(VENUE, SYMBOL, "1m", START, repair=False)
    [gap] = first.gaps
    assert (gap.start_ms, gap.end_ms, gap.missing, gap.confirmed) == (ms(1500), ms(1520), 20, False)
    simulator.set_faults("")  # the venue has the bars again
    second = await service.download(VENUE, SYMBOL, "1m", START)
    assert second.bars_written == 20 and second.complete and not second.gaps
    assert_same_bars(service.read(VENUE, SYMBOL, "1m"), history_frame())


async def test_a_gap_the_venue_has_no_data_for_is_recorded_and_not_asked_again(
    tmp_path: Path, simulator: SimulatorServer
) -> None:
    service, spy = make_service(tmp_path, simulator.url)
    simulator.set_faults(f"hole={ms(1500)}-{ms(1520)}")  # an outage at the venue
    first = await service.download(VENUE, SYMBOL, "1m", START)
    assert first.no_data == ((ms(1500), ms(1520)),)
    assert spy.since.count(ms(1500)) == 1  # asked for once more, explicitly
    [gap] = service.gaps(VENUE, SYMBOL, "1m")
    assert gap.confirmed and first.complete  # complete: the rest is known not to exist
    spy.since.clear()
    again = await service.download(VENUE, SYMBOL, "1m", START)
    assert not any(ms(1500) <= s < ms(1520) for s in spy.since) and again.bars_written == 0
    spy.since.clear()
    await service.download(VENUE, SYMBOL, "1m", START, recheck=True)
    assert ms(1500) in spy.since


async def test_the_bar_still_open_is_not_stored_until_it_closes(
    tmp_path: Path, simulator: SimulatorServer
) -> None:
    last_open = ms(BARS - 1)
    clock = ManualClock(ms_to_datetime(last_open + 30_000))  # half-way through the last bar
    service, _ = make_service(tmp_path, simulator.url, clock)
    first = await service.download(VENUE, SYMBOL, "1m", START)
    assert first.bars_written == BARS - 1 and not first.gaps
    clock.set(ms_to_datetime(last_open + STEP))
    second = await service.download(VENUE, SYMBOL, "1m", START)
    assert second.bars_written == 1
    assert_same_bars(service.read(VENUE, SYMBOL, "1m"), history_frame())


@pytest.mark.parametrize(
    ("venue", "symbol", "timeframe", "message"),
    [
        (VENUE, "ETH/USDT", "1m", "simulator has no market 'ETH/USDT'"),
        (VENUE, SYMBOL, "7m", "simulator has no '7m' candles; it offers 1s, 1m"),
        ("nosuchexchange", SYMBOL, "1m", "unknown venue 'nosuchexchange'"),
        (VENUE, "BTCUSDT", "1m", "must look like BASE/QUOTE"),
        (VENUE, SYMBOL, "1M", "months have no fixed length"),
    ],
)
async def test_unknown_symbol_timeframe_or_venue_is_refused_and_nothing_is_written(
    tmp_path: Path,
    simulator: SimulatorServer,
    venue: str,
    symbol: str,
    timeframe: str,
    message: str,
) -> None:
    service, _ = make_service(tmp_path, simulator.url)
    with pytest.raises(ValidationError, match=message):
        await service.download(venue, symbol, timeframe, START)
    assert service.inventory() == []


class ScriptedSource:
    """A venue that answers pages from a fixed list, bad bars included."""

    venue = "scripted"
    page_limit = 3

    def __init__(self, rows: list[list[float | int | None]]) -> None:
        self.rows = rows

    async def prepare(self, symbol: str, timeframe: str) -> None:
        return None

    async def fetch_candles(
        self, symbol: str, timeframe: str, since_ms: int, limit: int
    ) -> Sequence[Row]:
        return [r for r in self.rows if isinstance(r[0], int) and r[0] >= since_ms][:limit]

    async def close(self) -> None:
        return None


async def test_invalid_bars_from_the_venue_are_dropped_counted_and_left_as_gaps(
    tmp_path: Path,
) -> None:
    good: list[list[float | int | None]] = [[ms(i), 10.0, 11.0, 9.0, 10.5, 1.0] for i in range(8)]
    good[3] = [ms(3), 10.0, 9.0, 11.0, 10.5, 1.0]  # high below low
    good[5] = [ms(5), 10.0, 11.0, 9.0, None, 1.0]  # no close
    store = MarketStore(tmp_path, clock=ManualClock(ms_to_datetime(ms(100))))
    downloader = HistoryDownloader(store, ManualClock(ms_to_datetime(ms(100))))
    result = await downloader.download(ScriptedSource(good), "X/Y", "1m", ms(0), ms(8))
    assert result.rejected_bars == 2 and result.bars_written == 6
    assert [(g.start_ms, g.missing, g.confirmed) for g in result.gaps] == [
        (ms(3), 1, True),
        (ms(5), 1, True),
    ]
    assert np.array_equal(store.candle_times("scripted", "X/Y", "1m"),
                          [ms(i) for i in (0, 1, 2, 4, 6, 7)])  # fmt: skip
