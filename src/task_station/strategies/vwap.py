"""VWAP execution: split a parent order in proportion to the usual volume of each bar.

**Idea.** Markets trade more at some hours than others. Sending more of the parent
order when the market usually trades more keeps each child a similar share of the
volume, so the fills track the volume-weighted average price with less impact than
equal slices would.

**Rules.** For ``warmup_bars`` bars the strategy only learns a volume profile: the mean
volume of each time-of-day bucket (one bucket per bar of the day, e.g. 24 for hourly
bars). It then schedules the next ``horizon_bars`` bars: the child order that fills in
bar j gets ``quantity * w_j / sum(w)`` base, w_j being the profile's mean volume for
bar j's time of day (the overall mean for a bucket never seen), rounded down to the
lot; the last child takes the remainder. Children are market orders sent at each bar's
close, so the last one has filled by the open of bar ``horizon_bars`` after the start.
With ``warmup_bars = 0`` every weight is equal (TWAP).

**Parameters.** ``side``, ``quantity`` (base), ``horizon_bars``, ``warmup_bars``.

**When it fails.** The profile is history: a day with unusual volume (news, a holiday)
breaks it and the order trades too much into thin markets. It follows volume, not
price, so it does nothing to avoid a trend running against the parent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.common import parse_side, period_param, round_size
from task_station.strategies.twap import execution_params, send

DAY_SECONDS = 86_400


def bucket(ts: datetime, bar_seconds: int) -> int:
    """Time-of-day bucket of a bar opening at ``ts``."""
    return int(ts.timestamp()) % DAY_SECONDS // bar_seconds


def volume_profile(candles: Sequence[Candle]) -> tuple[dict[int, Decimal], int]:
    """Mean volume per time-of-day bucket, and the bar length in seconds."""
    if len(candles) < 2:
        return {}, 0
    bar_seconds = int((candles[1].ts - candles[0].ts).total_seconds())
    if bar_seconds <= 0:
        return {}, 0
    volumes: dict[int, list[Decimal]] = {}
    for c in candles:
        volumes.setdefault(bucket(c.ts, bar_seconds), []).append(c.volume)
    return {b: sum(v, ZERO) / len(v) for b, v in volumes.items()}, bar_seconds


def vwap_sizes(quantity: Decimal, weights: list[Decimal], instrument: Instrument) -> list[Decimal]:
    """Children proportional to ``weights``, rounded down to the lot; the last takes the rest."""
    total = sum(weights, ZERO)
    sizes = [round_size(instrument, quantity * w / total) for w in weights[:-1]]
    return [*sizes, quantity - sum(sizes, ZERO)]


class Vwap(Strategy):
    name = "vwap"
    description = "Execute a parent quantity in market slices following the usual volume profile."
    params = (
        *execution_params(24),
        period_param("warmup_bars", 168, "bars that teach the volume profile (0: equal slices)",
                     minimum=0),
    )  # fmt: skip

    def check_params(self) -> None:
        self.side = parse_side(self.name, self.p["side"])
        quantity, horizon, warmup = (
            self.p["quantity"],
            self.p["horizon_bars"],
            self.p["warmup_bars"],
        )
        assert isinstance(quantity, Decimal) and isinstance(horizon, int)
        assert isinstance(warmup, int)
        if quantity <= ZERO:
            raise ValidationError("vwap: quantity must be positive")
        if warmup > 5000:
            raise ValidationError("vwap: warmup_bars can be at most 5000 (the bars a bot keeps)")
        self.quantity, self.horizon, self.warmup = quantity, horizon, warmup

    def on_start(self, ctx: StrategyContext) -> None:
        self.bar = -1
        self.sizes: list[Decimal] = []
        self.sent: list[Decimal] = []

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        self.bar += 1
        if self.bar < self.warmup:
            return  # learning: the profile is read from the bot's history at the start
        if not self.sizes:
            learned = ctx.history(self.warmup + 1)[:-1] if self.warmup else ()
            weights = self._weights(candle, learned)
            self.sizes = vwap_sizes(self.quantity, weights, ctx.instrument)
        j = self.bar - self.warmup
        if j < len(self.sizes):
            send(ctx, self.side, self.sizes[j])
            self.sent.append(self.sizes[j])

    def _weights(self, now: Candle, learned: Sequence[Candle]) -> list[Decimal]:
        """Expected volume of each of the next ``horizon`` bars (equal without a profile)."""
        means, bar_seconds = volume_profile(learned)
        if not means or sum(means.values(), ZERO) <= ZERO:
            return [Decimal(1)] * self.horizon
        overall = sum(means.values(), ZERO) / len(means)
        start = int(now.ts.timestamp())
        return [
            means.get((start + j * bar_seconds) % DAY_SECONDS // bar_seconds, overall)
            for j in range(1, self.horizon + 1)
        ]
