"""Parameter sweeps on every core.

``sweep`` backtests every combination of a parameter grid and ranks them. Families
with a vectorized form (``backtest.vectorized``) run on the fast path; the others run
through the event-driven engine, slower but exact, and their rows say so.

The combinations are sorted so that neighbours share indicator windows and cut into
contiguous chunks, a few per worker; each worker process receives the bars once (pool
initializer) and keeps an ``Indicators`` cache, so every distinct window (an SMA's
running sum, an EMA, a band) is computed at most once per worker. Workers are never
forked from the calling process (it may run Qt and asyncio, whose forked copies are
unsafe): they come from a fork server, or are spawned where there is none.

Call it from a worker thread or a job process: it blocks until the sweep ends.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING

import numpy as np

from task_station.backtest.metrics import drawdown_series, periods_per_year, sharpe, simple_returns
from task_station.backtest.vectorized import (
    DEFAULT_LOT_STEP,
    Bars,
    FloatArray,
    Indicators,
    as_bars,
    run_vectorized,
    supports,
)
from task_station.domain.candles import TIMEFRAME_SECONDS, Candle
from task_station.domain.clock import ms_to_datetime
from task_station.domain.errors import TaskStationError, ValidationError
from task_station.domain.money import to_decimal
from task_station.strategies.catalog import StrategyCatalog

if TYPE_CHECKING:
    import pandas as pd

VECTORIZED = "vectorized"
EVENT_DRIVEN = "event-driven"

#: Metrics a sweep can be ranked by, and whether higher is better.
RANKINGS: dict[str, bool] = {
    "total_return": True,
    "final_equity": True,
    "sharpe": True,
    "max_drawdown": False,
}

Grid = Mapping[str, Sequence[object]] | Sequence[Mapping[str, object]]
Progress = Callable[[int, int], None]
ShouldStop = Callable[[], bool]

_POLL_SECONDS = 0.05
_CHUNKS_PER_WORKER = 4
_SYNTHETIC_START = datetime(2020, 1, 1, tzinfo=UTC)


class SweepCancelled(TaskStationError):
    """The sweep was cancelled before it finished; no rows are returned."""


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One combination's outcome; ``error`` says why a combination could not run."""

    params: dict[str, object]
    final_equity: float | None = None
    total_return: float | None = None
    trade_count: int | None = None
    max_drawdown: float | None = None
    sharpe: float | None = None
    engine: str = VECTORIZED
    error: str | None = None


def expand_grid(grid: Grid) -> list[dict[str, object]]:
    """Every combination of ``grid``: a mapping of value lists (their product) or a list
    of parameter mappings (as given)."""
    if isinstance(grid, Mapping):
        for name, values in grid.items():
            if isinstance(values, str | bytes) or not isinstance(values, Sequence):
                raise ValidationError(
                    f"grid values must be lists, got {values!r} for parameter {name!r}"
                )
        names = list(grid)
        combos = [dict(zip(names, vs, strict=True)) for vs in itertools.product(*grid.values())]
    else:
        combos = [dict(c) for c in grid]
    if not combos:
        raise ValidationError("the parameter grid has no combinations")
    return combos


def sweep(
    strategy: str,
    grid: Grid,
    bars: Bars | pd.DataFrame,
    *,
    cash: float | Decimal,
    fee: float | Decimal,
    processes: int | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    sort_by: str = "total_return",
    lot_step: Decimal = DEFAULT_LOT_STEP,
) -> list[SweepRow]:
    """Backtest ``strategy`` on every combination of ``grid`` and rank the rows.

    ``fee`` is the taker rate (0.001 = 10 bps); ``processes`` defaults to every CPU (1
    runs in this process). ``progress(done, total)`` is called as combinations finish;
    ``should_stop()`` is polled and, once true, cancels the rest and raises
    ``SweepCancelled``. Rows come best first by ``sort_by`` (see ``RANKINGS``);
    invalid combinations are rows with an ``error``, last.
    """
    if sort_by not in RANKINGS:
        raise ValidationError(f"cannot rank by {sort_by!r}; use one of {', '.join(RANKINGS)}")
    workers = (os.cpu_count() or 1) if processes is None else processes
    if workers < 1:
        raise ValidationError(f"processes must be at least 1, got {processes}")
    job = _job(strategy, bars, cash, fee, lot_step)
    combos = expand_grid(grid)
    rows, valid = _check(job, combos)
    done, total = len(combos) - len(valid), len(combos)

    def collect(chunk_rows: list[tuple[int, SweepRow]]) -> None:
        nonlocal done
        for i, row in chunk_rows:
            rows[i] = row
        done += len(chunk_rows)
        if progress is not None:
            progress(done, total)

    # Vectorized runs share windows within a chunk; slow event-driven runs go one by one.
    chunks = _chunks(valid, workers * _CHUNKS_PER_WORKER if job.vectorized else len(valid))
    if not chunks and progress is not None:
        progress(done, total)
    if workers == 1 or len(chunks) <= 1:
        _run_here(job, chunks, collect, should_stop)
    else:
        _run_pool(job, chunks, min(workers, len(chunks)), collect, should_stop)
    return rank([r for r in rows if r is not None], sort_by)


def _job(
    strategy: str, bars: Bars | pd.DataFrame, cash: float | Decimal, fee: float | Decimal,
    lot_step: Decimal,
) -> _Job:  # fmt: skip
    StrategyCatalog().strategy_class(strategy)  # an unknown name fails the whole sweep
    cash_d, fee_d = to_decimal(cash, name="cash"), to_decimal(fee, name="fee")
    if cash_d <= 0:
        raise ValidationError(f"starting cash must be positive, got {cash}")
    if not 0 <= fee_d < 1:
        raise ValidationError(f"the fee must be in [0, 1), got {fee}")
    if lot_step <= 0:
        raise ValidationError(f"the lot step must be positive, got {lot_step}")
    return _Job(strategy, as_bars(bars), cash_d, fee_d, lot_step, supports(strategy))


def _check(
    job: _Job, combos: list[dict[str, object]]
) -> tuple[list[SweepRow | None], list[tuple[int, dict[str, object]]]]:
    """Error rows for the combinations the strategy refuses; the others to run."""
    catalog = StrategyCatalog()
    rows: list[SweepRow | None] = [None] * len(combos)
    valid: list[tuple[int, dict[str, object]]] = []
    for i, params in enumerate(combos):
        try:
            catalog.build(job.strategy, params)
            valid.append((i, params))
        except ValidationError as exc:
            rows[i] = SweepRow(params, engine=job.engine, error=str(exc))
    return rows, valid


def rank(rows: Sequence[SweepRow], sort_by: str = "total_return") -> list[SweepRow]:
    """Best first by ``sort_by``; rows without that metric (errors) last, stable."""
    higher = RANKINGS[sort_by]

    def key(row: SweepRow) -> tuple[bool, float]:
        value = getattr(row, sort_by)
        if value is None or math.isnan(value):
            return True, 0.0
        return False, -value if higher else value

    return sorted(rows, key=key)


def risk_figures(cash: float, equity: FloatArray, timeframe: str) -> tuple[float, float | None]:
    """Maximum drawdown and annualised Sharpe ratio, as ``backtest.metrics`` defines them
    (over the starting cash followed by each bar's closing equity), in fewer passes."""
    periods = periods_per_year(TIMEFRAME_SECONDS[timeframe])
    if len(equity) < 2 or not float(equity.min()) > 0:
        curve = np.concatenate(([cash], equity))
        return float(drawdown_series(curve).max()), sharpe(simple_returns(curve), periods)
    returns = np.empty(len(equity))
    returns[0] = equity[0] / cash
    np.divide(equity[1:], equity[:-1], out=returns[1:])
    returns -= 1.0
    mean = float(returns.mean())
    returns -= mean
    squares = float(np.square(returns, out=returns).sum())  # not np.dot: BLAS threads
    sd = math.sqrt(squares / (len(returns) - 1))
    return _max_drawdown(cash, equity), mean / sd * math.sqrt(periods) if sd > 0 else None


def _max_drawdown(cash: float, equity: FloatArray, block: int = 1024) -> float:
    """``max(1 - e[t] / peak[t])`` with ``peak`` the running maximum from ``cash`` on.

    A running maximum is a slow sequential pass, so it runs only over the blocks of
    ``block`` bars whose bounds say they might hold the answer: a block's drawdown is at
    least ``1 - min / peak before it`` and at most ``1 - min / max(peak before, max)``.
    """
    full = len(equity) // block * block
    blocks = equity[:full].reshape(-1, block)
    lows, highs = blocks.min(axis=1), blocks.max(axis=1)
    before = np.maximum.accumulate(np.concatenate(([cash], highs)))
    best = float((1.0 - lows / before[:-1]).max()) if len(lows) else 0.0
    upper = 1.0 - lows / np.maximum(before[:-1], highs)
    pieces = [(blocks[b], float(before[b])) for b in np.flatnonzero(upper > best).tolist()]
    pieces.append((equity[full:], float(before[-1])))
    for values, peak_before in pieces:
        if len(values):
            peak = np.maximum.accumulate(values)
            np.maximum(peak, peak_before, out=peak)
            best = max(best, 1.0 - float((values / peak).min()))
    return max(0.0, best)


def _number(value: object) -> float | None:
    return None if value is None else float(str(value))


# --- chunks and pools -----------------------------------------------------------------


def _sort_key(params: dict[str, object]) -> tuple[tuple[str, int, float, str], ...]:
    def one(v: object) -> tuple[int, float, str]:
        if isinstance(v, int | float | Decimal) and not isinstance(v, bool):
            return 0, float(v), ""
        return 1, 0.0, str(v)

    return tuple((k, *one(params[k])) for k in sorted(params))


def _chunks(
    valid: list[tuple[int, dict[str, object]]], count: int
) -> list[list[tuple[int, dict[str, object]]]]:
    """``count`` contiguous runs of the combinations sorted by their values, so a chunk's
    combinations share windows (a 10 x 10 grid: one fast window, ten slow ones)."""
    ordered = sorted(valid, key=lambda item: _sort_key(item[1]))
    count = max(1, min(count, len(ordered)))
    size, extra = divmod(len(ordered), count)
    out, start = [], 0
    for c in range(count):
        stop = start + size + (c < extra)
        if stop > start:
            out.append(ordered[start:stop])
        start = stop
    return out


def _run_here(
    job: _Job,
    chunks: list[list[tuple[int, dict[str, object]]]],
    collect: Callable[[list[tuple[int, SweepRow]]], None],
    should_stop: ShouldStop | None,
) -> None:
    worker = _Worker(job)
    for chunk in chunks:
        if should_stop is not None and should_stop():
            raise SweepCancelled("the sweep was cancelled")
        collect(worker.run_chunk(chunk))


def _run_pool(
    job: _Job,
    chunks: list[list[tuple[int, dict[str, object]]]],
    workers: int,
    collect: Callable[[list[tuple[int, SweepRow]]], None],
    should_stop: ShouldStop | None,
) -> None:
    pool = ProcessPoolExecutor(workers, _context(), initializer=_init_worker, initargs=(job,))
    pending: set[Future[list[tuple[int, SweepRow]]]] = set()
    try:
        pending = {pool.submit(_run_chunk, chunk) for chunk in chunks}
        while pending:
            if should_stop is not None and should_stop():
                raise SweepCancelled("the sweep was cancelled")
            finished, pending = wait(pending, _POLL_SECONDS, FIRST_COMPLETED)
            for future in finished:
                collect(future.result())
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _context() -> BaseContext:
    """``forkserver`` where the platform has it, else ``spawn``.

    Never a plain fork of this process (Qt and asyncio do not survive one). The fork
    server is a fresh interpreter that imports this module (and the main script) once;
    each pool's workers are forked from it in milliseconds instead of starting and
    importing from scratch, which costs about half a second per sweep with ``spawn``.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", __name__])
    return context


# --- the worker side ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Job:
    """What every worker needs, sent once per worker."""

    strategy: str
    bars: Bars
    cash: Decimal
    fee: Decimal
    lot_step: Decimal
    vectorized: bool

    @property
    def engine(self) -> str:
        return VECTORIZED if self.vectorized else EVENT_DRIVEN


class _Worker:
    def __init__(self, job: _Job) -> None:
        self.job = job
        self.indicators = Indicators(job.bars, max_bytes=512 << 20)
        self._candles: list[Candle] | None = None

    def run_chunk(self, chunk: list[tuple[int, dict[str, object]]]) -> list[tuple[int, SweepRow]]:
        return [(i, self.run(params)) for i, params in chunk]

    def run(self, params: dict[str, object]) -> SweepRow:
        try:
            return self._vectorized(params) if self.job.vectorized else self._event(params)
        except TaskStationError as exc:
            return SweepRow(params, engine=self.job.engine, error=str(exc))

    def _vectorized(self, params: dict[str, object]) -> SweepRow:
        job = self.job
        result = run_vectorized(job.strategy, params, self.indicators,
                                cash=job.cash, fee=job.fee, lot_step=job.lot_step)  # fmt: skip
        cash = float(job.cash)
        drawdown, ratio = risk_figures(cash, result.equity, job.bars.timeframe)
        return SweepRow(
            params,
            final_equity=result.final_equity,
            total_return=result.final_equity / cash - 1,
            trade_count=result.trade_count,
            max_drawdown=drawdown,
            sharpe=ratio,
        )

    def _event(self, params: dict[str, object]) -> SweepRow:
        from task_station.backtest.runner import BacktestConfig, run_backtest_sync
        from task_station.domain.instruments import Instrument

        job = self.job
        instrument = Instrument.from_symbol("BASE/QUOTE")
        if job.lot_step != DEFAULT_LOT_STEP:
            instrument = Instrument.from_symbol("BASE/QUOTE", size_increment=job.lot_step)
        config = BacktestConfig(
            strategy=job.strategy, params=params, candles=self.candles(),
            instrument=instrument, timeframe=job.bars.timeframe, cash=job.cash,
            maker_fee=job.fee, taker_fee=job.fee,
        )  # fmt: skip
        result = run_backtest_sync(config)
        metrics = result.metrics
        return SweepRow(
            params,
            final_equity=float(result.final_equity),
            total_return=float(result.final_equity / job.cash - 1),
            trade_count=result.trade_count,
            max_drawdown=_number(metrics.get("max_drawdown")),
            sharpe=_number(metrics.get("sharpe")),
            engine=EVENT_DRIVEN,
        )

    def candles(self) -> list[Candle]:
        """The bars as exact-decimal candles (through each float's repr, as files are)."""
        if self._candles is None:
            b = self.job.bars
            step = timedelta(seconds=TIMEFRAME_SECONDS[b.timeframe])
            if b.timestamp is not None:
                times = [ms_to_datetime(t) for t in b.timestamp.tolist()]
            else:
                times = [_SYNTHETIC_START + i * step for i in range(len(b))]
            columns = (b.open, b.high, b.low, b.close, b.volume)
            self._candles = [
                Candle(ts, *(Decimal(repr(v)) for v in values))
                for ts, *values in zip(times, *(c.tolist() for c in columns), strict=True)
            ]
        return self._candles


_WORKER: _Worker | None = None


def _init_worker(job: _Job) -> None:
    global _WORKER  # one per worker process, set once by the pool's initializer
    _WORKER = _Worker(job)


def _run_chunk(chunk: list[tuple[int, dict[str, object]]]) -> list[tuple[int, SweepRow]]:
    assert _WORKER is not None, "the pool initializer did not run"
    return _WORKER.run_chunk(chunk)
