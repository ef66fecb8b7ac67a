"""The simulated market: replayed bars driving the matching engine.

Each step plays one bar: resting orders are matched against it, it prints four public
trades (open, the two extremes, close) and a fresh depth snapshot is laid around the
close, which later market orders walk. Everything is a function of the bars, so a run
replays identically.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from task_station.domain.candles import TIMEFRAME_SECONDS, Candle
from task_station.domain.clock import ManualClock, datetime_to_ms
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO, quantize_down
from task_station.venues.matching.paper_venue import MatchingPaperVenue

USD_LIKE = {"USDT", "USD", "USDC", "BUSD", "FDUSD"}
SIZE_STEP = Decimal("0.00001")


@dataclass(frozen=True, slots=True)
class PublicTrade:
    trade_id: int
    price: Decimal
    quantity: Decimal
    ts_ms: int
    buyer_is_maker: bool


@dataclass(frozen=True, slots=True)
class MarketData:
    """Bars, their timeframe and the instrument they trade."""

    bars: list[Candle]
    timeframe: str
    instrument: Instrument


def market_data(bars: list[Candle], timeframe: str, symbol: str = "BTC/USDT") -> MarketData:
    """Wrap bars with an instrument whose tick is the finest the prices print.

    Loading files stays with the caller (``marketdata`` is a sibling layer that
    ``venues`` may not import), so this takes ready-made candles.
    """
    base, quote = symbol.split("/")
    decimals = max(-int(b.close.as_tuple().exponent) for b in bars[:500])
    inst = Instrument(
        venue="simulator",
        symbol=symbol,
        base=base,
        quote=quote,
        price_increment=Decimal(1).scaleb(-max(decimals, 0)),
        size_increment=SIZE_STEP,
        min_size=SIZE_STEP,
        min_notional=Decimal(5) if quote in USD_LIKE else ZERO,
    )
    return MarketData(bars, timeframe, inst)


def symbol_from_path(path: Path) -> str:
    """``BTC_USDT-1h.parquet`` -> ``BTC/USDT`` (the shared data set's naming)."""
    pair = path.stem.split("-")[0]
    return pair.replace("_", "/") if "_" in pair else "BTC/USDT"


class SimMarket:
    """Plays bars one at a time into a ``MatchingPaperVenue``."""

    def __init__(
        self, data: MarketData, venue: MatchingPaperVenue, clock: ManualClock, *, levels: int = 20
    ) -> None:
        self.data = data
        self.venue = venue
        self.clock = clock
        self.levels = levels
        self.played: list[Candle] = []
        self.played_ms: list[int] = []  # open times of ``played``, for klines paging
        self.trades: deque[PublicTrade] = deque(maxlen=1000)
        self.book: tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]] = ([], [])
        self.listeners: list[Callable[[Candle, list[PublicTrade]], None]] = []
        self._pos = 0
        self._trade_ids = 0

    @property
    def instrument(self) -> Instrument:
        return self.data.instrument

    @property
    def bar_ms(self) -> int:
        return TIMEFRAME_SECONDS.get(self.data.timeframe, 60) * 1000

    def step(self) -> bool:
        """Play the next bar; False once the data is exhausted."""
        if self._pos >= len(self.data.bars):
            return False
        bar = self.data.bars[self._pos]
        self._pos += 1
        self.clock.set(bar.ts)
        self.venue.process_bar(bar)
        self.clock.set(bar.ts + timedelta(milliseconds=self.bar_ms))
        self.played.append(bar)
        self.played_ms.append(datetime_to_ms(bar.ts))
        trades = self._print_trades(bar)
        self.book = self._lay_book(bar)
        self.venue.set_book(*self.book)
        for listener in list(self.listeners):
            listener(bar, trades)
        return True

    def seed_history(self, count: int) -> None:
        """Take the next ``count`` bars as history at once: served by klines, never matched
        (seconds for a year of bars, where playing them would take minutes)."""
        bars = self.data.bars[self._pos : self._pos + count]
        if not bars:
            return
        self._pos += len(bars)
        self.played.extend(bars)
        self.played_ms.extend(datetime_to_ms(b.ts) for b in bars)
        self.clock.set(bars[-1].ts + timedelta(milliseconds=self.bar_ms))
        self.book = self._lay_book(bars[-1])
        self.venue.set_book(*self.book)

    def now_ms(self) -> int:
        return datetime_to_ms(self.clock.now())

    def _print_trades(self, bar: Candle) -> list[PublicTrade]:
        path = (bar.open, bar.low, bar.high, bar.close)
        if bar.close < bar.open:
            path = (bar.open, bar.high, bar.low, bar.close)
        qty = quantize_down(bar.volume / 4, SIZE_STEP)
        start = datetime_to_ms(bar.ts)
        out = []
        for k, price in enumerate(path):
            self._trade_ids += 1
            trade = PublicTrade(
                self._trade_ids, price, qty, start + k * self.bar_ms // 4, k % 2 == 0
            )
            out.append(trade)
            self.trades.append(trade)
        return out

    def _lay_book(
        self, bar: Candle
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        tick = self.instrument.price_increment or Decimal("0.01")
        spacing = max(tick, quantize_down(bar.close / 10_000, tick))  # ~1 bp a level
        unit = max(SIZE_STEP * 100, quantize_down(bar.volume / 400, SIZE_STEP))
        mid = quantize_down(bar.close, tick)  # a file may print finer than its tick
        bids = [(mid - k * spacing, unit * k) for k in range(1, self.levels + 1)]
        asks = [(mid + k * spacing, unit * k) for k in range(1, self.levels + 1)]
        return [b for b in bids if b[0] > 0], asks
