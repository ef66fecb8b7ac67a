"""What a backtest worker process is given, and the document it sends back.

The worker function itself (``services.backtests.execute_backtest``) lives with the
service: it needs the backtest engine, which the jobs layer does not import. This
module holds the two ends that do not: ``BacktestSpec``, the picklable description of
one run, and ``run_document``, which caps a result so that a stored run stays small
(a few hundred kilobytes at most, whatever the number of bars or trades).

"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

#: Trades kept in a stored run (the report files keep them all).
MAX_STORED_TRADES = 500
#: Points of the stored equity curve (first and last bar always among them).
MAX_CURVE_POINTS = 400


@dataclass(frozen=True, slots=True)
class BacktestSpec:
    """One backtest, as a worker process receives it (picklable plain values).

    ``params`` are the parameters as the trader gave them; ``strategy_folder`` is the
    station's folder of user strategy files (None: built-ins only); ``report_dir``
    is where the worker writes the report files (None: no report).
    """

    strategy: str
    data: str
    symbol: str
    cash: Decimal
    fee_bps: Decimal
    params: dict[str, Any] = field(default_factory=dict)
    strategy_folder: str | None = None
    report_dir: str | None = None


def sample_indices(n: int, limit: int = MAX_CURVE_POINTS) -> list[int]:
    """At most ``limit`` evenly spaced indices of ``range(n)``, first and last included."""
    if n <= limit:
        return list(range(n))
    if limit < 2:
        return [n - 1]
    step = (n - 1) / (limit - 1)
    return sorted({round(i * step) for i in range(limit)})


def finite(value: object) -> object:
    """``value`` with every NaN or infinite float replaced by None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def run_document(summary: Mapping[str, Any], curve: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The stored form of a finished run.

    ``summary`` is the engine's JSON summary (``BacktestResult.to_json()``); ``curve``
    the equity curve as (ISO time, equity) pairs, sampled with ``sample_indices``.
    Trades beyond ``MAX_STORED_TRADES`` are dropped (``trades_total`` says how many
    there were).
    """
    document = {str(k): finite(v) for k, v in summary.items()}
    trades = list(summary.get("trades") or [])
    document["trades"] = trades[:MAX_STORED_TRADES]
    document["trades_total"] = len(trades)
    document["equity_curve"] = [list(point) for point in curve[:MAX_CURVE_POINTS]]
    return document
