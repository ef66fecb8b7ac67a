"""Incremental technical indicators, and their vectorized twins in ``vectorized``.

Every indicator is a small object fed once per *closed* bar: ``update(close)`` for those
that read closes only, ``update(bar)`` for those that read high/low/close/volume (any
``domain.candles.Candle``). ``ready`` says whether the warm-up is over (``warmup`` is how
many bars that takes); outputs are properties (``value``, or named ones such as
``macd``/``signal``/``histogram``) and raise ``IndicatorNotReady`` before then;
``reset()`` forgets everything. Each update is O(1) (amortised) except Bollinger Bands,
which is O(period) for an accurate deviation.

Why float64 inside: indicators are analytics whose outputs are compared with thresholds
and each other, never booked. Money (orders, fills, balances) stays ``Decimal``; the
``Decimal`` inputs are converted once on entry (to the nearest float64, 1e-16 relative)
and outputs are floats. Float64 keeps a bar's update in the microseconds and lets the
same numbers be computed over whole arrays by ``vectorized``, which the tests hold to a
relative 1e-9 of the incremental values (the remaining differences are summation
order; rolling max/min and OBV are bit-exact). A strategy that turns an indicator into an order price converts it back with
``Decimal(repr(x))`` and rounds it to the instrument's tick.
"""

from task_station.strategies.ta._core import Bar, IndicatorNotReady, TimedBar
from task_station.strategies.ta.momentum import MACD, RSI, Stochastic
from task_station.strategies.ta.moving import EMA, SMA, WMA
from task_station.strategies.ta.trend import ADX, Ichimoku, SuperTrend
from task_station.strategies.ta.volatility import (
    ATR,
    BollingerBands,
    DonchianChannel,
    KeltnerChannel,
)
from task_station.strategies.ta.volume import OBV, VWAP, RollingVWAP

__all__ = [
    "ADX",
    "ATR",
    "EMA",
    "MACD",
    "OBV",
    "RSI",
    "SMA",
    "VWAP",
    "WMA",
    "Bar",
    "BollingerBands",
    "DonchianChannel",
    "Ichimoku",
    "IndicatorNotReady",
    "KeltnerChannel",
    "RollingVWAP",
    "Stochastic",
    "SuperTrend",
    "TimedBar",
]
