"""Backtests as a use case: validate inputs, load data, run the engine on a replay.

A backtest runs one of two ways:

- ``run`` (and ``run_account``): here, awaited by the caller (the command line).
- ``submit``: a stored *run*, executed in a worker process (``jobs.workers``) so the
  station's loop, GUI, API and bots go on meanwhile. Its progress and its end are
  published on the bus (``BacktestProgress``, ``BacktestFinished``); runs are listed,
  cancelled, compared side by side and their report files fetched. Every input is
  checked before anything is stored, with the same messages as ``run``; a worker that
  fails or dies fails its run, never the station.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from task_station.backtest.account import (
    AccountBacktestConfig,
    AccountBacktestResult,
    BotSpec,
    run_account_backtest,
)
from task_station.backtest.runner import (
    BacktestConfig,
    BacktestResult,
    run_backtest,
    run_backtest_sync,
)
from task_station.backtest.sweep import SweepRow as SweepRow  # faces read
from task_station.domain.bar_columns import BarColumns
from task_station.domain.candles import TIMEFRAME_SECONDS
from task_station.domain.clock import Clock, SystemClock
from task_station.domain.errors import (
    ConfigurationError,
    ConflictError,
    DataError,
    NotFoundError,
    ValidationError,
)
from task_station.domain.events import BacktestFinished, BacktestProgress
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO, bps_to_rate, to_decimal
from task_station.engine.allocation import SymbolSharing
from task_station.engine.bus import EventBus
from task_station.jobs.backtest_worker import BacktestSpec, run_document, sample_indices
from task_station.jobs.workers import JobOutcome, JobStatus, WorkerPool, describe_error
from task_station.marketdata.candle_files import frame_to_candles, infer_timeframe, read_frame
from task_station.persistence.backtests import BacktestRun as BacktestRun  # faces read
from task_station.persistence.backtests import RunStatus as RunStatus  # runs from here
from task_station.services.principal import Principal
from task_station.strategies.base import Strategy
from task_station.strategies.catalog import StrategyCatalog
from task_station.strategies.params import validate_params

log = logging.getLogger(__name__)

#: Why a run that was queued or running when the station stopped failed.
STATION_STOPPED = "the station stopped before this run ended; submit it again"
#: How long ``cancel`` waits for the worker to stop before answering.
CANCEL_WAIT_SECONDS = 5.0
#: The least time between two stored progress values of one run (events are not held).
PROGRESS_SAVE_SECONDS = 0.5
MAX_LISTED = 500
#: The most combinations one sweep runs.
MAX_SWEEP = 20_000
MAX_COMPARED = 20
#: Report formats and the ending of their file.
REPORT_FORMATS = {"html": ".html", "json": ".json", "csv": ".csv"}


def symbol_from_filename(path: Path) -> str:
    """``BTC_USDT-1h.parquet`` -> ``BTC/USDT`` (falls back to ``ASSET/QUOTE``)."""
    stem = path.stem.split("-")[0]
    parts = stem.split("_")
    if len(parts) >= 2 and all(parts[:2]):
        return f"{parts[0]}/{parts[1]}"
    return "ASSET/QUOTE"


def check_money(cash: object, fee_bps: object) -> tuple[Decimal, Decimal]:
    """The starting cash (positive) and the fee in basis points (0 to 10000)."""
    amount = to_decimal(cash, name="cash")
    if amount <= ZERO:
        raise ValidationError(f"starting cash must be positive, got {amount}")
    fee = to_decimal(fee_bps, name="fee_bps")
    if not ZERO <= fee < Decimal(10_000):
        raise ValidationError(f"fee_bps must be between 0 and 10000, got {fee}")
    return amount, fee


def load_config(
    *,
    strategy: str,
    params: Mapping[str, object],
    data: Path,
    cash: Decimal,
    fee_bps: Decimal,
    symbol: str | None = None,
) -> BacktestConfig:
    """Read the candle file ``data`` into the configuration of one backtest.

    The bars stay columns (``BarColumns``): exact Decimals are made only for the cells
    the replay reads, so a file of a million bars loads in well under a second.
    """
    frame = read_frame(data)
    return BacktestConfig(
        strategy=strategy,
        params=dict(params),
        candles=(),
        bars=BarColumns.from_frame(frame),
        instrument=Instrument.from_symbol(symbol or symbol_from_filename(data), venue="backtest"),
        timeframe=infer_timeframe(frame),
        cash=cash,
        maker_fee=bps_to_rate(fee_bps),
        taker_fee=bps_to_rate(fee_bps),
    )


def write_result_report(result: BacktestResult, path: Path) -> list[Path]:
    """Write the report of ``result``: ``path`` (HTML) and its JSON and trades CSV."""
    from task_station.backtest.report import write_report

    return write_report(result.report_data(), path)


# -- the worker process's side ---------------------------------------------------------


def execute_backtest(
    spec: BacktestSpec, progress: Callable[[int, int], None], should_stop: Callable[[], bool]
) -> dict[str, Any]:
    """Run one submitted backtest (in a worker process); return its stored document."""
    folder = spec.strategy_folder
    catalog = StrategyCatalog.with_folder(Path(folder)) if folder else StrategyCatalog()
    config = load_config(
        strategy=spec.strategy,
        params=spec.params,
        data=Path(spec.data),
        cash=spec.cash,
        fee_bps=spec.fee_bps,
        symbol=spec.symbol,
    )
    result = run_backtest_sync(
        config, strategies=catalog, progress=progress, should_stop=should_stop
    )
    document = run_document(result.to_json(), _sampled_curve(result))
    if spec.report_dir is not None:
        try:
            reports = Path(spec.report_dir)
            reports.mkdir(parents=True, exist_ok=True)
            files = write_result_report(result, reports / "report.html")
            document["report_files"] = [str(f) for f in files]
        except Exception as exc:  # the run stands without its report
            document["report_error"] = describe_error(exc)
    return document


def _sampled_curve(result: BacktestResult) -> list[tuple[str, str]]:
    """(close time, equity) at a few hundred bars: the engine's float64 curve, sampled."""
    step = timedelta(seconds=TIMEFRAME_SECONDS.get(result.config.timeframe, 3600))
    return [
        ((result.bars.time(i) + step).isoformat(), repr(float(result.equity[i])))
        for i in sample_indices(len(result.bars))
    ]


def _inspect_data(path: Path) -> tuple[int, str]:
    """Bars and timeframe of a candle file, read and checked whole."""
    try:
        frame = read_frame(path)
    except DataError as exc:
        raise ValidationError(str(exc)) from None
    return len(frame), infer_timeframe(frame)


# -- stored runs -----------------------------------------------------------------------


class BacktestRunStore(Protocol):
    """Where runs are kept (``persistence.backtests.SqlBacktestRunStore``)."""

    def add(self, run: BacktestRun) -> None: ...

    def save(self, run: BacktestRun) -> None: ...

    def set_progress(self, run_id: str, progress: float) -> None: ...

    def get(self, run_id: str) -> BacktestRun | None: ...

    def list(
        self, *, limit: int = 50, statuses: Sequence[RunStatus] | None = None
    ) -> builtins.list[BacktestRun]: ...

    def fail_unfinished(self, error: str, when: datetime) -> builtins.list[str]: ...


@dataclass(frozen=True, slots=True)
class ComparisonRow:
    """One line of a comparison: ``values`` holds one cell per run (None: it has none).

    ``section`` is ``run`` (inputs), ``param``, ``result`` or ``metric``."""

    section: str
    name: str
    values: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class BacktestComparison:
    """Runs side by side: a column per run, in the order asked, a row per figure."""

    runs: tuple[BacktestRun, ...]
    rows: tuple[ComparisonRow, ...]


def _names(documents: Sequence[Mapping[str, object] | None]) -> list[str]:
    """Every key of ``documents``, in order of first appearance."""
    return list(dict.fromkeys(k for d in documents if d for k in d))


def _comparison_rows(runs: Sequence[BacktestRun]) -> list[ComparisonRow]:
    rows = [
        ComparisonRow("run", "strategy", tuple(r.strategy for r in runs)),
        ComparisonRow("run", "symbol", tuple(r.symbol for r in runs)),
        ComparisonRow("run", "timeframe", tuple(r.timeframe for r in runs)),
        ComparisonRow("run", "bars", tuple(r.bars for r in runs)),
        ComparisonRow("run", "cash", tuple(r.cash for r in runs)),
        ComparisonRow("run", "fee_bps", tuple(r.fee_bps for r in runs)),
        ComparisonRow("run", "status", tuple(r.status.value for r in runs)),
    ]
    for name in _names([r.params for r in runs]):
        rows.append(ComparisonRow("param", name, tuple(r.params.get(name) for r in runs)))
    rows.append(ComparisonRow("result", "final_equity", tuple(r.final_equity for r in runs)))
    rows.append(ComparisonRow("result", "trade_count", tuple(r.trade_count for r in runs)))
    shown = {(row.name, tuple(map(str, row.values))) for row in rows}
    for name in _names([r.metrics for r in runs]):
        cells = tuple((r.metrics or {}).get(name) for r in runs)
        if (name, tuple(map(str, cells))) not in shown:  # the final equity again, as text
            rows.append(ComparisonRow("metric", name, cells))
    return rows


@dataclass(eq=False)
class _Active:
    """A run this station's workers know: its record and how far it got."""

    run: BacktestRun
    ended: asyncio.Event
    progress: float = 0.0
    saved_at: float = float("-inf")


class BacktestService:
    """Backtests of any strategy the station offers (its user files too, when given).

    ``runs``, ``workers``, ``bus`` and ``clock`` are what stored runs (``submit`` and
    the methods after it) need; without them only ``run`` and ``run_account`` work.
    ``reports_dir`` is where each run's report files go (None: no reports).
    """

    def __init__(
        self,
        strategies: StrategyCatalog | None = None,
        *,
        runs: BacktestRunStore | None = None,
        workers: WorkerPool | None = None,
        bus: EventBus | None = None,
        clock: Clock | None = None,
        reports_dir: Path | None = None,
    ) -> None:
        self._strategies = strategies if strategies is not None else StrategyCatalog()
        self._runs = runs
        self._workers = workers
        self._bus = bus if bus is not None else EventBus()
        self._clock = clock if clock is not None else SystemClock()
        self._reports_dir = reports_dir
        self._active: dict[str, _Active] = {}

    async def run(
        self,
        *,
        strategy: str,
        params: Mapping[str, object],
        data: Path,
        cash: object,
        fee_bps: object = ZERO,
        symbol: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> BacktestResult:
        """Run ``strategy`` over the candle file ``data`` here, in this process; every
        input is checked first. ``progress(done, total)`` hears how many bars are done;
        ``should_stop()`` turning true ends the run with ``BacktestCancelled``."""
        # an unknown strategy or parameter fails before any I/O
        self._strategies.build(strategy, params)
        amount, fee = check_money(cash, fee_bps)
        config = load_config(
            strategy=strategy, params=params, data=data, cash=amount, fee_bps=fee, symbol=symbol
        )
        return await run_backtest(
            config, strategies=self._strategies, progress=progress, should_stop=should_stop
        )

    async def sweep(
        self,
        *,
        strategy: str,
        grid: Mapping[str, Sequence[object]] | Sequence[Mapping[str, object]],
        data: Path,
        cash: object,
        fee_bps: object = ZERO,
        sort_by: str = "total_return",
        processes: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> builtins.list[SweepRow]:
        """Backtest ``strategy`` on every combination of ``grid`` over the candle file
        ``data``, on every core (``processes``: how many), best first by ``sort_by``.

        Families with a vectorized form (``backtest.vectorized``) run on it; others on
        the event-driven engine in the workers. Nothing runs when an input is wrong.
        """
        from task_station.backtest.sweep import expand_grid, sweep

        cls = self._strategies.strategy_class(strategy)  # unknown: the catalog's message
        combinations = [_typed(cls, combo) for combo in expand_grid(grid)]
        if not combinations:
            raise ValidationError("the grid has no combination to run")
        if len(combinations) > MAX_SWEEP:
            raise ValidationError(
                f"the grid has {len(combinations)} combinations; at most {MAX_SWEEP} run in "
                f"one sweep: narrow it or split it"
            )
        amount, fee = check_money(cash, fee_bps)
        frame = await asyncio.to_thread(read_frame, Path(data))
        return await asyncio.to_thread(
            sweep,
            strategy,
            combinations,
            frame,
            cash=amount,
            fee=bps_to_rate(fee),
            processes=processes,
            progress=progress,
            should_stop=should_stop,
            sort_by=sort_by,
        )

    async def run_account(
        self,
        *,
        bots: Sequence[Mapping[str, object]],
        data: Mapping[str, Path],
        cash: object,
        fee_bps: object = ZERO,
        sharing: str = SymbolSharing.SHARED.value,
    ) -> AccountBacktestResult:
        """Several bots (each on one or more symbols) sharing one account's ``cash``.

        ``bots`` are mappings with ``id``, ``strategy``, ``params``, ``symbols`` (the
        primary first) and ``capital`` (the quote cash allocated to the bot); ``data``
        names one candle file per symbol, all of one timeframe.
        """
        if not bots:
            raise ValidationError("an account backtest needs at least one bot")
        specs = [self._bot_spec(n, raw) for n, raw in enumerate(bots, start=1)]
        amount = to_decimal(cash, name="cash")
        fee = to_decimal(fee_bps, name="fee_bps")
        if not ZERO <= fee < Decimal(10_000):
            raise ValidationError(f"fee_bps must be between 0 and 10000, got {fee}")
        try:
            share = SymbolSharing(sharing)
        except ValueError:
            raise ValidationError(
                f"sharing must be 'shared' or 'exclusive', got {sharing!r}"
            ) from None
        needed = {s for spec in specs for s in spec.symbols}
        missing = sorted(needed - set(data))
        if missing:
            raise ValidationError(f"no candle file given for {', '.join(missing)}")
        series, timeframes = {}, set()
        for symbol in sorted(needed):
            frame = read_frame(data[symbol])
            series[symbol] = frame_to_candles(frame)
            timeframes.add(infer_timeframe(frame))
        if len(timeframes) != 1:
            raise ValidationError(
                f"the candle files mix timeframes ({', '.join(sorted(timeframes))}); "
                f"an account steps through one"
            )
        config = AccountBacktestConfig(
            bots=specs,
            series=series,
            timeframe=timeframes.pop(),
            cash=amount,
            maker_fee=bps_to_rate(fee),
            taker_fee=bps_to_rate(fee),
            sharing=share,
        )
        return await run_account_backtest(config, strategies=self._strategies)

    def _bot_spec(self, n: int, raw: Mapping[str, object]) -> BotSpec:
        where = f"bot {n}"
        bot_id = str(raw.get("id") or f"bot-{n}")
        strategy = raw.get("strategy")
        if not isinstance(strategy, str):
            raise ValidationError(f"{where}: give its strategy by name")
        params = raw.get("params") or {}
        if not isinstance(params, Mapping):
            raise ValidationError(f"{where}: params must be an object of name: value")
        self._strategies.build(strategy, params)
        symbols = raw.get("symbols")
        if isinstance(symbols, str):
            symbols = [symbols]
        if (
            not isinstance(symbols, list)
            or not symbols
            or not all(isinstance(s, str) for s in symbols)
        ):
            raise ValidationError(f'{where}: symbols must be a list like ["BTC/USDT"]')
        for symbol in symbols:
            Instrument.from_symbol(symbol)
        capital = to_decimal(raw.get("capital"), name=f"{where} capital")
        if capital <= ZERO:
            raise ValidationError(f"{where}: capital must be positive, got {capital}")
        return BotSpec(bot_id, strategy, dict(params), tuple(symbols), capital)

    # -- stored runs in worker processes ------------------------------------------------

    async def submit(
        self,
        actor: Principal,
        *,
        strategy: str,
        params: Mapping[str, object],
        data: Path | str,
        cash: object,
        fee_bps: object = ZERO,
        symbol: str | None = None,
    ) -> BacktestRun:
        """Check every input, store the run as queued and hand it to a worker process.

        Raises ``ValidationError`` (nothing stored) for an unknown strategy, a bad
        parameter, cash or fee, a bad symbol, or a candle file that is missing or
        unreadable. Follow the run with ``get`` or the bus's ``BacktestProgress`` and
        ``BacktestFinished`` events.
        """
        actor.require_trader("run backtests")
        runs, workers = self._wired()
        resolved = dict(self._strategies.build(strategy, params).p)
        amount, fee = check_money(cash, fee_bps)
        path = Path(data).expanduser().absolute()
        symbol = symbol or symbol_from_filename(path)
        Instrument.from_symbol(symbol)
        bars, timeframe = await asyncio.to_thread(_inspect_data, path)
        run = BacktestRun(
            id=str(uuid.uuid4()),
            created_at=self._clock.now(),
            status=RunStatus.QUEUED,
            strategy=strategy,
            params=resolved,
            symbol=symbol,
            timeframe=timeframe,
            data_source=f"file:{path}",
            bars=bars,
            cash=amount,
            fee_bps=fee,
            created_by=actor.username,
        )
        folder = self._strategies.folder
        spec = BacktestSpec(
            strategy=strategy,
            data=str(path),
            symbol=symbol,
            cash=amount,
            fee_bps=fee,
            params=dict(params),
            strategy_folder=None if folder is None else str(folder),
            report_dir=None if self._reports_dir is None else str(self._reports_dir / run.id),
        )
        runs.add(run)
        self._active[run.id] = _Active(run, asyncio.Event())
        try:
            workers.submit(run.id, execute_backtest, spec, self)
        except Exception as exc:
            self.job_ended(JobOutcome(run.id, JobStatus.FAILED, error=describe_error(exc)))
            raise
        log.info("backtest run %s queued: %s on %s (%d bars) by %s",
                 run.id, strategy, path.name, bars, actor.username)  # fmt: skip
        return self.get(run.id)

    def get(self, run_id: str) -> BacktestRun:
        """One run, with its result document (``NotFoundError`` when unknown)."""
        run = self._store().get(run_id)
        if run is None:
            raise NotFoundError(f"backtest run {run_id} does not exist")
        return run

    def list(self, limit: int = 50) -> builtins.list[BacktestRun]:
        """The newest runs first, without their result documents."""
        if not 1 <= limit <= MAX_LISTED:
            raise ValidationError(f"limit must be between 1 and {MAX_LISTED}, got {limit}")
        return self._store().list(limit=limit)

    async def cancel(
        self, actor: Principal, run_id: str, *, wait: float = CANCEL_WAIT_SECONDS
    ) -> BacktestRun:
        """Stop a queued or running run; wait up to ``wait`` seconds for its worker to
        end, then return the run (``ConflictError`` when it already ended)."""
        actor.require_trader("cancel backtests")
        run = self.get(run_id)
        if run.status.ended:
            raise ConflictError(f"backtest run {run_id} already ended: it is {run.status.value}")
        active = self._active.get(run_id)
        if active is None or self._workers is None or not self._workers.cancel(run_id):
            # no worker of this station has it (left by a process that died): end it here
            self._finish(run, replace(run, status=RunStatus.CANCELLED))
            return self.get(run_id)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(active.ended.wait(), wait)
        return self.get(run_id)

    def compare(self, run_ids: Sequence[str]) -> BacktestComparison:
        """``run_ids`` side by side: inputs, parameters, final equity and metrics."""
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            raise ValidationError("name at least one backtest run to compare")
        if len(ids) > MAX_COMPARED:
            raise ValidationError(f"compare at most {MAX_COMPARED} runs at once, got {len(ids)}")
        runs = tuple(self.get(run_id) for run_id in ids)
        return BacktestComparison(runs, tuple(_comparison_rows(runs)))

    def report_file(self, run_id: str, fmt: str = "html") -> Path:
        """The report file of a finished run: ``html``, ``json`` or ``csv`` (trades)."""
        ending = REPORT_FORMATS.get(fmt)
        if ending is None:
            raise ValidationError(f"report format must be html, json or csv, got {fmt!r}")
        run = self.get(run_id)
        for name in (run.result or {}).get("report_files") or ():
            if str(name).endswith(ending) and Path(name).is_file():
                return Path(name)
        raise NotFoundError(_why_no_report(run, fmt))

    def write_report(self, run_id: str, path: Path) -> builtins.list[Path]:
        """Copy a finished run's report to ``path`` (HTML), with its JSON and trades CSV
        next to it, named as the report names them; return the files written."""
        html = self.report_file(run_id, "html")
        if not path.parent.is_dir():
            raise ValidationError(
                f"cannot write the backtest report to {path}: the folder {path.parent} does "
                "not exist; create it or choose another folder"
            )
        written = []
        for fmt in REPORT_FORMATS:
            try:
                source = self.report_file(run_id, fmt)
            except NotFoundError:
                continue
            target = (
                path if fmt == "html" else path.with_name(path.stem + source.name[len(html.stem) :])
            )
            shutil.copyfile(source, target)
            written.append(target)
        return written

    def recover_after_restart(self) -> builtins.list[str]:
        """Fail the runs a previous station left queued or running (its workers died
        with it); call once when the station starts. Returns their ids."""
        if self._runs is None or self._active:
            return []
        ids = self._runs.fail_unfinished(STATION_STOPPED, self._clock.now())
        for run_id in ids:
            log.warning("backtest run %s: %s", run_id, STATION_STOPPED)
        return ids

    async def shutdown(self) -> None:
        """Stop every worker; the runs they had fail with ``STATION_STOPPED``."""
        active = builtins.list(self._active.values())
        if self._workers is not None:
            await self._workers.aclose()
        for entry in active:
            self.job_ended(JobOutcome(entry.run.id, JobStatus.FAILED, error=STATION_STOPPED))

    # -- the worker pool's listener (called on the event loop) --------------------------

    def job_started(self, job_id: str) -> None:
        active = self._active.get(job_id)
        if active is None:
            return
        now = self._clock.now()
        active.run = replace(active.run, status=RunStatus.RUNNING, started_at=now)
        self._store().save(active.run)
        self._bus.publish(BacktestProgress(now, job_id, 0, active.run.bars))

    def job_progressed(self, job_id: str, done: int, total: int) -> None:
        active = self._active.get(job_id)
        if active is None:
            return
        self._bus.publish(BacktestProgress(self._clock.now(), job_id, done, total))
        active.progress = min(1.0, done / total) if total > 0 else 0.0
        tick = time.monotonic()
        if done >= total or tick - active.saved_at >= PROGRESS_SAVE_SECONDS:
            active.saved_at = tick
            self._store().set_progress(job_id, active.progress)

    def job_ended(self, outcome: JobOutcome) -> None:
        active = self._active.pop(outcome.job_id, None)
        if active is None:
            return
        try:
            ended = _ended(replace(active.run, progress=active.progress), outcome)
            self._finish(active.run, ended)
        finally:
            active.ended.set()

    # -- internals ---------------------------------------------------------------------

    def _finish(self, run: BacktestRun, ended: BacktestRun) -> None:
        """Store how ``run`` ended (failing it if that cannot be stored), then say so."""
        ended = replace(ended, finished_at=self._clock.now())
        try:
            self._store().save(ended)
        except Exception as exc:
            log.exception("backtest run %s: its end could not be stored", run.id)
            ended = replace(
                run, status=RunStatus.FAILED, finished_at=ended.finished_at,
                error=f"the run's result could not be stored: {describe_error(exc)}",
            )  # fmt: skip
            with contextlib.suppress(Exception):
                self._store().save(ended)
        if ended.status is RunStatus.FAILED:
            log.warning("backtest run %s failed: %s", run.id, ended.error)
        self._bus.publish(
            BacktestFinished(
                self._clock.now(), run.id, ended.status.value, ended.final_equity, ended.error
            )
        )

    def _store(self) -> BacktestRunStore:
        if self._runs is None:
            raise ConfigurationError("stored backtest runs need the station's database")
        return self._runs

    def _wired(self) -> tuple[BacktestRunStore, WorkerPool]:
        if self._workers is None:
            raise ConfigurationError("backtest runs need the station's worker processes")
        return self._store(), self._workers


def _ended(run: BacktestRun, outcome: JobOutcome) -> BacktestRun:
    """``run`` as its worker's ``outcome`` left it."""
    if outcome.status is JobStatus.CANCELLED:
        return replace(run, status=RunStatus.CANCELLED)
    if outcome.status is JobStatus.FAILED:
        return replace(run, status=RunStatus.FAILED, error=outcome.error)
    if not isinstance(outcome.result, Mapping):
        return replace(run, status=RunStatus.FAILED, error="the worker sent back no result")
    document = dict(outcome.result)
    metrics = document.pop("metrics", None)
    document.pop("params", None)  # stored resolved, in their own column
    files = document.get("report_files") or ()
    return replace(
        run,
        status=RunStatus.FINISHED,
        progress=1.0,
        final_equity=Decimal(str(document["final_equity"])),
        trade_count=int(document["trade_count"]),
        metrics=dict(metrics) if isinstance(metrics, Mapping) else None,
        result=document,
        report_path=next((str(f) for f in files if str(f).endswith(".html")), None),
    )


def _typed(cls: type[Strategy], combination: dict[str, object]) -> dict[str, object]:
    """A combination with each value of its declared type ("10" -> 10), so rows read as
    the strategy's parameters; one that does not validate stays as given (its row will
    carry the error)."""
    try:
        typed = validate_params(cls.name, cls.params, combination)
    except ValidationError:
        return combination
    return {name: typed[name] for name in combination}


def _why_no_report(run: BacktestRun, fmt: str) -> str:
    where = f"backtest run {run.id}"
    if run.status is not RunStatus.FINISHED:
        return f"{where} has no report: it is {run.status.value}"
    error = (run.result or {}).get("report_error")
    if error:
        return f"{where} has no report: it could not be written ({error})"
    if run.report_path is None:
        return f"{where} has no report: the station keeps no reports"
    return f"{where} has no {fmt} report file (were the files at {run.report_path} deleted?)"
