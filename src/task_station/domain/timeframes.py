"""Bar timeframes as ccxt writes them (``1s``, ``15m``, ``4h``, ``1d``, ``3d``, ``1w``, ``1M``)
and the bar a timestamp falls in.

Fixed-length bars are aligned on the Unix epoch, except weeks, which start on Monday
00:00 UTC as every exchange draws them. Some venues anchor multi-day bars elsewhere
(Binance's ``3d`` bars count from the market's first day): pass that bar's open time as
``anchor_ms``. Months (``M``) and years (``y``) are calendar bars in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from task_station.domain.errors import ValidationError

SECOND_MS = 1_000
DAY_MS = 86_400_000
#: 1970-01-05, the first Monday after the epoch: weekly bars are aligned on it.
MONDAY_MS = 4 * DAY_MS

UNIT_MS: dict[str, int] = {
    "s": SECOND_MS,
    "m": 60 * SECOND_MS,
    "h": 3_600 * SECOND_MS,
    "d": DAY_MS,
    "w": 7 * DAY_MS,
}
CALENDAR_MONTHS: dict[str, int] = {"M": 1, "y": 12}
_TEXT = re.compile(r"^([1-9][0-9]*)([smhdwMy])$")


@dataclass(frozen=True, slots=True)
class Timeframe:
    """``count`` units of ``unit`` (one of s, m, h, d, w, M, y)."""

    count: int
    unit: str

    def __post_init__(self) -> None:
        if self.count < 1 or (self.unit not in UNIT_MS and self.unit not in CALENDAR_MONTHS):
            raise ValidationError(f"timeframe {self.count}{self.unit} is not valid")

    @classmethod
    def parse(cls, text: str | Timeframe) -> Timeframe:
        """Parse ccxt's notation; ``m`` is minutes and ``M`` months."""
        if isinstance(text, Timeframe):
            return text
        match = _TEXT.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValidationError(
                f"timeframe {text!r} is not understood; write a whole number and a unit: "
                "s, m (minutes), h, d, w or M (months), e.g. 1s, 15m, 4h, 1d, 1w, 1M"
            )
        return cls(int(match.group(1)), match.group(2))

    @property
    def calendar(self) -> bool:
        """Whether bars have calendar lengths (months, years)."""
        return self.unit in CALENDAR_MONTHS

    @property
    def ms(self) -> int:
        """The bar length in milliseconds (fixed-length timeframes only)."""
        if self.calendar:
            raise ValidationError(f"{self} bars have no fixed length (calendar months)")
        return self.count * UNIT_MS[self.unit]

    @property
    def months(self) -> int:
        """The bar length in months (calendar timeframes only)."""
        if not self.calendar:
            raise ValidationError(f"{self} bars are not calendar months")
        return self.count * CALENDAR_MONTHS[self.unit]

    def default_anchor_ms(self) -> int:
        return MONDAY_MS if self.unit == "w" else 0

    def bucket_ms(self, ts_ms: int, anchor_ms: int | None = None) -> int:
        """The open time of the bar that contains ``ts_ms``."""
        if self.calendar:
            index = _month_index(ts_ms)
            return _month_start(index - index % self.months)
        anchor = self.default_anchor_ms() if anchor_ms is None else anchor_ms
        return ts_ms - (ts_ms - anchor) % self.ms

    def next_ms(self, bar_start_ms: int) -> int:
        """The open time of the bar after the one that opens at ``bar_start_ms``."""
        if self.calendar:
            return _month_start(_month_index(bar_start_ms) + self.months)
        return bar_start_ms + self.ms

    def divides(self, finer: Timeframe) -> bool:
        """Whether bars of ``finer`` tile bars of this timeframe exactly (for resampling)."""
        if finer.calendar:
            return self.calendar and self.months % finer.months == 0
        if self.calendar:
            return DAY_MS % finer.ms == 0
        return self.ms % finer.ms == 0

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


def _month_index(ts_ms: int) -> int:
    when = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return (when.year - 1970) * 12 + when.month - 1


def _month_start(index: int) -> int:
    year, month = divmod(index, 12)
    start = datetime(1970 + year, month + 1, 1, tzinfo=UTC)
    return int(start.timestamp()) * 1000
