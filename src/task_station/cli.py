"""The ``task-station`` command line: GUI, headless server, backtests, database, users.

Heavy faces are imported only by the commands that need them, so ``backtest`` and
``serve`` never load Qt.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from task_station import __version__
from task_station.config import Settings
from task_station.domain.candles import Candle
from task_station.domain.errors import TaskStationError, ValidationError
from task_station.logging_setup import configure_logging

if TYPE_CHECKING:
    from task_station.container import Container
    from task_station.domain.tasks import Task, TaskRun
    from task_station.engine.bus import EventBus
    from task_station.marketdata.history import DownloadResult
    from task_station.marketdata.store import Gap, StoredSeries
    from task_station.services.backtests import BacktestService
    from task_station.services.jobs import JobService
    from task_station.services.market_data import CandleSourceFactory, MarketDataService
    from task_station.services.principal import Principal
    from task_station.services.strategies import StrategyService

log = logging.getLogger("task_station.cli")


def _param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"parameter {text!r} must look like name=value")
    return key.strip(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="task-station", description="TASK Station trading bots.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--demo", action="store_true", help="throw-away station with demo bots trading"
    )
    parser.add_argument(
        "--selftest",
        action="store_true",
        help="start the station offscreen on a throw-away data dir, check its API and window",
    )
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the API and bots headless")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--demo", action="store_true", dest="serve_demo")

    bt = sub.add_parser("backtest", help="backtest a strategy on a candle file; prints JSON")
    bt.add_argument("--strategy", required=True)
    bt.add_argument("--param", type=_param, action="append", default=[], metavar="NAME=VALUE")
    bt.add_argument("--data", type=Path, required=True, help="CSV or Parquet candle file")
    bt.add_argument("--cash", required=True, help="starting quote balance")
    bt.add_argument("--fee-bps", default="0", help="maker and taker fee in basis points")
    bt.add_argument("--symbol", default=None, help="BASE/QUOTE (default: from the file name)")
    bt.add_argument(
        "--json", type=Path, default=None, dest="json_path", help="also write the JSON here"
    )
    bt.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the HTML report here (with its .json and trades .csv beside it)",
    )

    sw = sub.add_parser(
        "sweep", help="backtest every combination of a parameter grid, on every core"
    )
    sw.add_argument("--strategy", required=True)
    sw.add_argument(
        "--grid",
        type=_grid_axis,
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="values of one parameter (repeat for each; the sweep runs their product)",
    )
    sw.add_argument("--data", type=Path, required=True, help="CSV or Parquet candle file")
    sw.add_argument("--cash", required=True, help="starting quote balance")
    sw.add_argument("--fee-bps", default="0", help="taker fee in basis points")
    sw.add_argument("--sort-by", default="total_return", help="total_return, sharpe, ...")
    sw.add_argument("--top", type=int, default=20, help="rows to print (all with --json)")
    sw.add_argument("--processes", type=int, default=None, help="worker processes (all cores)")
    sw.add_argument("--json", action="store_true", dest="as_json", help="print JSON rows")

    runs = sub.add_parser(
        "backtests", help="backtest runs stored by the station (submitted from the GUI or API)"
    )
    runs_sub = runs.add_subparsers(dest="backtests_command", required=True)
    rlist = runs_sub.add_parser("list", help="the newest runs first")
    rlist.add_argument("--limit", type=int, default=20)
    rlist.add_argument("--json", action="store_true", dest="as_json")
    rshow = runs_sub.add_parser("show", help="one run as JSON (with trades and equity curve)")
    rshow.add_argument("run_id")
    rcompare = runs_sub.add_parser("compare", help="runs side by side")
    rcompare.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    rcompare.add_argument("--json", action="store_true", dest="as_json")
    rreport = runs_sub.add_parser("report", help="copy a finished run's report files to PATH")
    rreport.add_argument("run_id")
    rreport.add_argument("path", type=Path, help="the HTML file to write")

    acct = sub.add_parser(
        "account-backtest",
        help="backtest several bots sharing one account, from a JSON spec; prints JSON",
    )
    acct.add_argument(
        "spec",
        type=Path,
        help='{"cash": "10000", "fee_bps": "10", "data": {"BTC/USDT": "btc.parquet"}, '
        '"bots": [{"id": "a", "strategy": "ema_cross", "symbols": ["BTC/USDT"], '
        '"capital": "4000", "params": {}}]} (file paths relative to the spec)',
    )
    acct.add_argument(
        "--json", type=Path, default=None, dest="json_path", help="also write the JSON here"
    )

    arb = sub.add_parser(
        "arbitrage-backtest",
        help="backtest an arbitrage strategy on a recording or the demo market; prints JSON",
    )
    arb.add_argument("--strategy", required=True, help="cex_dex, cross_cex or triangular")
    arb.add_argument("--param", type=_param, action="append", default=[], metavar="NAME=VALUE")
    source = arb.add_mutually_exclusive_group(required=True)
    source.add_argument("--recording", type=Path, help="a recorded snapshot file (.jsonl.gz)")
    source.add_argument("--demo-seed", type=int, help="replay the seeded synthetic market")
    arb.add_argument("--demo-steps", type=int, default=2000)
    arb.add_argument(
        "--balance",
        type=_param,
        action="append",
        default=[],
        metavar="VENUE:ASSET=AMOUNT",
        help="a starting balance (repeat): cex:USDC=100000",
    )
    arb.add_argument("--fee-bps", type=_param, action="append", default=[], metavar="VENUE=BPS")
    arb.add_argument("--gas-per-swap", type=int, default=150_000)
    arb.add_argument("--gas-gwei", default="20")
    arb.add_argument("--json", type=Path, default=None, dest="json_path")

    sub.add_parser(
        "simulator",
        help="a loopback exchange speaking Binance's REST/WS dialect (options: simulator -h)",
        add_help=False,
    )

    sub.add_parser(
        "devchain",
        help="a local EVM with Uniswap V2 on 127.0.0.1 (options: devchain -h)",
        add_help=False,
    )

    _add_data_parser(sub)
    _add_jobs_parsers(sub)
    _add_tasks_parser(sub)
    _add_audit_parser(sub)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="migrate the database to the latest schema")
    down = db_sub.add_parser("downgrade", help="migrate the database down to REVISION")
    down.add_argument("revision")
    db_sub.add_parser("current", help="print the current schema revision")
    backup = sub.add_parser(
        "backup", help="write the database, your files and the encrypted vault to an archive"
    )
    backup.add_argument("path", type=Path, help="the .tar.gz archive to write")
    restore = sub.add_parser(
        "restore", help="replace this station's database and files by an archive's (stop it first)"
    )
    restore.add_argument("path", type=Path, help="a .tar.gz archive written by 'backup'")

    presets = sub.add_parser("presets", help="prebuilt strategy settings")
    presets_sub = presets.add_subparsers(dest="presets_command", required=True)
    plist = presets_sub.add_parser("list", help="list presets (a table, or JSON with --json)")
    plist.add_argument("--family", default=None, help="a strategy family, e.g. rsi_reversion")
    plist.add_argument("--risk", default=None, choices=["conservative", "balanced", "aggressive"])
    plist.add_argument("--timeframe", default=None, help="e.g. 1h or 1d")
    plist.add_argument("--tag", default=None)
    plist.add_argument("--search", default=None, help="words to find in names and descriptions")
    plist.add_argument("--json", action="store_true", dest="as_json")
    pshow = presets_sub.add_parser("show", help="print one preset as JSON")
    pshow.add_argument("name")

    strategies = sub.add_parser(
        "strategies", help="list the strategies: built-ins and your files in DATA_DIR/strategies"
    )
    strategies.add_argument("--json", action="store_true", dest="as_json")

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    create = user_sub.add_parser("create", help="create a user (the first one must be an admin)")
    create.add_argument("--username", required=True)
    create.add_argument("--role", default="trader", choices=["admin", "trader", "viewer"])
    create.add_argument("--password-stdin", action="store_true", required=True)
    return parser


def _utc_time(text: str) -> datetime:
    """``2024-01-31``, ``2024-01-31T12:00`` or with an offset; UTC unless it says so."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _add_data_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    data = sub.add_parser("data", help="stored market history: download, import, list")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    dl = data_sub.add_parser(
        "download", help="download candles into the store (resumes; repairs gaps)"
    )
    dl.add_argument(
        "venue",
        help="a ccxt exchange id (binance, kraken, ...) or 'simulator' (at TASK_SIMULATOR_URL)",
    )
    dl.add_argument("symbol", help="BASE/QUOTE, e.g. BTC/USDT")
    dl.add_argument("timeframe", help="bar length, e.g. 1m, 15m, 1h, 1d")
    dl.add_argument("--since", type=_utc_time, required=True, help="first bar, YYYY-MM-DD (UTC)")
    dl.add_argument("--until", type=_utc_time, default=None, help="end, exclusive (default: now)")
    dl.add_argument("--no-repair", action="store_true", help="leave gaps between stored bars alone")
    dl.add_argument(
        "--recheck", action="store_true", help="ask again for ranges the venue had no data for"
    )
    dl.add_argument("--json", action="store_true", dest="as_json", help="print the result as JSON")
    imp = data_sub.add_parser(
        "import", help="import a CSV or Parquet candle file (checked whole before writing)"
    )
    imp.add_argument("file", type=Path, help="columns timestamp,open,high,low,close,volume")
    imp.add_argument("--venue", required=True, help="where the bars come from, e.g. binance")
    imp.add_argument("--symbol", required=True, help="BASE/QUOTE, e.g. BTC/USDT")
    imp.add_argument("--timeframe", required=True, help="the file's bar length, e.g. 1h")
    ls = data_sub.add_parser("list", help="what is stored: ranges, rows and gaps")
    ls.add_argument("--json", action="store_true", dest="as_json")
    rp = data_sub.add_parser(
        "replay", help="replay stored bars (and recorded trades and books) as a live feed would"
    )
    rp.add_argument("market", help="venue:BASE/QUOTE, e.g. binance:BTC/USDT")
    rp.add_argument("timeframe", help="the bars to replay, e.g. 1m ('none': trades and books only)")
    rp.add_argument("--speed", type=float, default=None, help="x real time (default: max)")
    rp.add_argument(
        "--start", type=_utc_time, default=None, help="replay clock start (bars closing from then)"
    )
    rp.add_argument("--until", type=_utc_time, default=None, help="to, exclusive")


def _add_audit_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the audit trail: verify its hash chain, list events")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="check every event's hash and link (exit 1 if broken)")
    alist = audit_sub.add_parser("list", help="the newest events first")
    for flag in ("--user", "--action", "--face"):
        alist.add_argument(flag, default=None)
    alist.add_argument("--since", type=_utc_time, default=None)
    alist.add_argument("--until", type=_utc_time, default=None)
    alist.add_argument("--limit", type=int, default=50)
    alist.add_argument("--json", action="store_true", dest="as_json")


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    """``audit verify`` / ``audit list`` straight from the database (no vault needed)."""
    from task_station.persistence.database import Database
    from task_station.services.audit import AuditService
    from task_station.services.principal import SYSTEM

    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url)
    try:
        database.upgrade()
        service = AuditService(database.audit)
        if args.audit_command == "verify":
            report = service.verify(SYSTEM)
            print(report.describe(), file=sys.stdout if report.ok else sys.stderr)
            return 0 if report.ok else 1
        query = service.filters(
            user=args.user, action=args.action, face=args.face, since=args.since, until=args.until
        )
        found = service.search(SYSTEM, query, limit=args.limit)
        if args.as_json:
            print(json.dumps([_jsonable(e) for e in found], indent=2))
            return 0
        head = ("ID", "TIME (UTC)", "FACE", "ACTOR", "ACTION", "SUBJECT", "DETAIL")
        body = [(str(e.id), e.ts.strftime("%Y-%m-%d %H:%M:%S"), e.face, e.actor or "",
                 e.action, e.subject[:32], e.detail[:60]) for e in found]  # fmt: skip
        _print_table([head, *body])
        return 0
    finally:
        database.dispose()


def _add_jobs_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = sub.add_parser("jobs", help="background jobs (notifications, downloads, ...)")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    jlist = jobs_sub.add_parser("list", help="the newest jobs first")
    jlist.add_argument(
        "--state", default=None, help="queued, running, succeeded, failed, cancelled or active"
    )
    jlist.add_argument("--kind", default=None, help="e.g. notify.deliver")
    jlist.add_argument("--limit", type=int, default=20)
    jlist.add_argument("--json", action="store_true", dest="as_json")
    jshow = jobs_sub.add_parser("show", help="one job as JSON (payload, progress, result)")
    jshow.add_argument("job_id")
    jcancel = jobs_sub.add_parser("cancel", help="cancel a queued job or stop a running one")
    jcancel.add_argument("job_id")
    jcancel.add_argument("--wait", type=float, default=10.0, help="seconds to wait for it to end")
    notify = sub.add_parser("notify", help="notification channels")
    notify_sub = notify.add_subparsers(dest="notify_command", required=True)
    ntest = notify_sub.add_parser("test", help="send a test message through CHANNEL; wait for it")
    ntest.add_argument("channel")
    ntest.add_argument("--timeout", type=float, default=60.0)
    notify_sub.add_parser("channels", help="the channels (never their secrets)")


def main(argv: Sequence[str] | None = None) -> int:
    multiprocessing.freeze_support()  # a frozen station's worker processes start here
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["simulator"]:  # the simulator parses its own options
        from task_station.venues.simulator.server import main as simulator_main

        configure_logging("INFO")
        return simulator_main(argv[1:], _simulator_bars)
    if argv[:1] == ["devchain"]:  # so does the dev chain
        from task_station.venues.dex.devchain_main import main as devchain_main

        configure_logging("INFO")
        return devchain_main(argv[1:])
    args = build_parser().parse_args(argv)
    from task_station.domain.audit import Face, acting_through

    # What a command changes is audited as the CLI's doing (the GUI sets its own face,
    # the server's requests theirs; what the server does by itself is the system's).
    with acting_through(Face.CLI if args.command not in (None, "serve") else Face.SYSTEM):
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    try:
        with _settings_for(args) as settings:
            station = args.command in (None, "serve") and not args.selftest
            configure_logging(
                settings.log_level,
                settings.log_file if station else None,  # the GUI and the server keep a log
                max_bytes=settings.log_file_max_bytes,
                backups=settings.log_file_backups,
            )
            return _dispatch(args, settings)
    except TaskStationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


@contextlib.contextmanager
def _settings_for(args: argparse.Namespace) -> Iterator[Settings]:
    """Settings from the environment; a demo gets a throw-away data dir and vault."""
    demo = args.demo or getattr(args, "serve_demo", False)
    try:
        base = Settings()
    except Exception as exc:  # pydantic's ValidationError: name the bad TASK_ variable
        raise ValidationError(f"invalid TASK_ setting: {exc}") from None
    if not demo:
        yield base
        return
    tmp = Path(tempfile.mkdtemp(prefix="task-station-demo-"))
    try:
        yield base.model_copy(
            update={
                "data_dir": tmp,
                "database_url": None,
                "keyring_backend": "cryptfile",
                "keyring_password": os.urandom(16).hex(),
                "bcrypt_rounds": 10,
                "replay_fast_forward_bars": 400,
            }
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "sweep":
        return _sweep(args, settings)
    if args.command == "backtest":
        return _backtest(args, settings)
    if args.command == "backtests":
        return _backtests(args, settings)
    if args.command == "strategies":
        return _strategies(args, settings)
    if args.command == "arbitrage-backtest":
        return _arbitrage_backtest(args)
    if args.command == "account-backtest":
        return _account_backtest(args, settings)
    if args.command == "presets":
        return _presets(args)
    if args.command == "data":
        return _data(args, settings)
    if args.command == "jobs":
        return _jobs(args, settings)
    if args.command == "notify":
        return asyncio.run(_notify(args, settings))
    if args.command == "db":
        return _db(args, settings)
    if args.command in ("backup", "restore"):
        return _backup_or_restore(args, settings)
    if args.command == "user":
        return _user_create(args, settings)
    if args.command == "audit":
        return _audit(args, settings)
    if args.command == "tasks":
        return asyncio.run(_tasks(args, settings))
    if args.command == "serve":
        if args.host:
            settings = settings.model_copy(update={"api_host": args.host})
        if args.port is not None:
            settings = settings.model_copy(update={"api_port": args.port})
        return asyncio.run(_serve(settings, demo=args.serve_demo))
    if args.selftest:
        from task_station.selftest import run_selftest

        return run_selftest(settings)
    return _gui(settings, demo=args.demo)


def _presets(args: argparse.Namespace) -> int:
    from task_station.services.presets import PresetService

    presets = PresetService()
    if args.presets_command == "show":
        print(json.dumps(presets.get(args.name).to_json(), indent=2))
        return 0
    found = presets.list(
        family=args.family,
        timeframe=args.timeframe,
        risk=args.risk,
        tag=args.tag,
        search=args.search,
    )
    if args.as_json:
        print(json.dumps([p.to_json() for p in found], indent=2))
        return 0
    rows = [("NAME", "FAMILY", "TF", "RISK", "SYMBOL")] + [
        (p.name, p.family, p.timeframe, p.risk_profile, p.symbol) for p in found
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"{len(found)} preset(s)")
    return 0


def _strategy_service(settings: Settings) -> StrategyService:
    """The built-ins and the trader's strategy files (no container: no database needed)."""
    from task_station.services.strategies import StrategyService
    from task_station.strategies.catalog import StrategyCatalog

    return StrategyService(StrategyCatalog.with_folder(settings.data_dir / "strategies"))


def _strategies(args: argparse.Namespace, settings: Settings) -> int:
    service = _strategy_service(settings)
    found = service.list()
    if args.as_json:
        rows = [
            {
                "name": s.name,
                "origin": s.origin,
                "file": None if s.path is None else str(s.path),
                "description": s.description,
                "params": {p.name: str(p.default) for p in s.params},
            }
            for s in found
        ]
        print(json.dumps({"strategies": rows, "errors": service.errors()}, indent=2))
        return 0
    width = max(len(s.name) for s in found)
    for s in found:
        print(f"{s.name.ljust(width)}  {s.origin_text}: {s.description}".rstrip())
    for error in service.errors():
        print(f"not loaded: {error}", file=sys.stderr)
    return 0


def _backtest(args: argparse.Namespace, settings: Settings) -> int:
    from task_station.services.backtests import BacktestService, write_result_report

    params = dict(args.param)
    catalog = _strategy_service(settings).catalog
    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    try:
        result = asyncio.run(
            BacktestService(catalog).run(
                strategy=args.strategy,
                params=params,
                data=args.data,
                cash=args.cash,
                fee_bps=args.fee_bps,
                symbol=args.symbol,
                progress=bar,
            )
        )
    finally:
        if bar is not None:
            bar.close()
    text = json.dumps(result.to_json(), indent=2)
    if args.json_path is not None:
        args.json_path.write_text(text + "\n", encoding="utf-8")
    if args.report is not None:
        files = write_result_report(result, args.report)
        print(f"report written: {', '.join(str(f) for f in files)}", file=sys.stderr)
    print(text)
    return 0


def _grid_axis(text: str) -> tuple[str, list[str]]:
    name, sep, values = text.partition("=")
    items = [v.strip() for v in values.split(",") if v.strip()]
    if not sep or not name.strip() or not items:
        raise argparse.ArgumentTypeError(f"expected NAME=V1,V2,..., got {text!r}")
    return name.strip(), items


def _sweep(args: argparse.Namespace, settings: Settings) -> int:
    from task_station.services.backtests import BacktestService

    if not args.grid:
        raise ValidationError("give at least one --grid NAME=V1,V2,...")
    catalog = _strategy_service(settings).catalog
    bar = ProgressBar(sys.stderr, unit="runs") if sys.stderr.isatty() else None
    started = time.perf_counter()
    try:
        rows = asyncio.run(
            BacktestService(catalog).sweep(
                strategy=args.strategy,
                grid=dict(args.grid),
                data=args.data,
                cash=args.cash,
                fee_bps=args.fee_bps,
                sort_by=args.sort_by,
                processes=args.processes,
                progress=bar,
            )
        )
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - started
    if args.as_json:
        print(json.dumps([dataclasses.asdict(row) for row in rows], indent=2, default=str))
        return 0
    names = list(dict(args.grid))
    head = (*(n.upper() for n in names), "FINAL EQUITY", "RETURN", "TRADES", "MAX DD", "SHARPE")
    body = [
        (
            *(str(row.params.get(n, "")) for n in names),
            _cell(row.final_equity, "{:,.2f}"),
            _cell(row.total_return, "{:+.2%}"),
            _cell(row.trade_count),
            _cell(row.max_drawdown, "{:.2%}"),
            _cell(row.sharpe, "{:.2f}") if row.error is None else row.error,
        )
        for row in rows[: args.top]
    ]
    _print_table([head, *body])
    print(f"{len(rows)} combinations in {seconds:.2f} s", file=sys.stderr)
    return 0


class ProgressBar:
    """``[#######-------]  50.0%  500/1000 bars`` rewritten in place on a terminal."""

    WIDTH = 30

    def __init__(self, stream: TextIO, unit: str = "bars") -> None:
        self._stream = stream
        self._length = 0
        self._unit = unit

    def __call__(self, done: int, total: int) -> None:
        share = min(1.0, done / total) if total > 0 else 1.0
        filled = round(self.WIDTH * share)
        text = f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {share:6.1%}  {done}/{total} {self._unit}"
        self._stream.write("\r" + text.ljust(self._length))
        self._stream.flush()
        self._length = len(text)

    def close(self) -> None:
        """Wipe the bar (the result follows on stdout)."""
        if self._length:
            self._stream.write("\r" + " " * self._length + "\r")
            self._stream.flush()


@contextlib.contextmanager
def _stored_backtests(settings: Settings) -> Iterator[BacktestService]:
    """The station's stored runs (the database only: no vault, no workers)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a read needs no migration log
    from task_station.persistence.backtests import SqlBacktestRunStore
    from task_station.persistence.database import Database
    from task_station.services.backtests import BacktestService

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url)
    try:
        database.upgrade()
        yield BacktestService(runs=SqlBacktestRunStore.on(database))
    finally:
        database.dispose()


def _backtests(args: argparse.Namespace, settings: Settings) -> int:
    with _stored_backtests(settings) as service:
        if args.backtests_command == "show":
            print(json.dumps(_jsonable(service.get(args.run_id)), indent=2))
        elif args.backtests_command == "report":
            for path in service.write_report(args.run_id, args.path):
                print(path)
        elif args.backtests_command == "compare":
            _compare_runs(service, args.run_ids, as_json=args.as_json)
        else:
            _list_runs(service, args.limit, as_json=args.as_json)
    return 0


def _list_runs(service: BacktestService, limit: int, *, as_json: bool) -> None:
    found = service.list(limit)
    if as_json:
        print(json.dumps([_jsonable(run) for run in found], indent=2))
        return
    head = ("ID", "STATUS", "STRATEGY", "SYMBOL", "TF", "BARS", "EQUITY", "TRADES")
    body = [(run.id, run.status.value, run.strategy, run.symbol, run.timeframe, str(run.bars),
             _cell(run.final_equity), _cell(run.trade_count)) for run in found]  # fmt: skip
    _print_table([head, *body])
    print(f"{len(found)} run(s)")


def _compare_runs(service: BacktestService, run_ids: Sequence[str], *, as_json: bool) -> None:
    comparison = service.compare(run_ids)
    if as_json:
        rows = [{"section": r.section, "name": r.name, "values": r.values}
                for r in comparison.rows]  # fmt: skip
        ids = [run.id for run in comparison.runs]
        print(json.dumps(_jsonable({"runs": ids, "rows": rows}), indent=2))
        return
    names = [r.name for r in comparison.rows]
    head = ("", *(run.id[:8] for run in comparison.runs))
    body = [(r.name if names.count(r.name) == 1 else f"{r.name} ({r.section})",
             *(_cell(v) for v in r.values)) for r in comparison.rows]  # fmt: skip
    _print_table([head, *body])


def _cell(value: object, fmt: str | None = None) -> str:
    if value is None:
        return "-"
    if fmt is not None:
        return fmt.format(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _jsonable(value: object) -> object:
    """Dataclasses, Decimals (exact strings), times and enums as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _account_backtest(args: argparse.Namespace, settings: Settings) -> int:
    from task_station.services.backtests import BacktestService

    try:
        spec = json.loads(args.spec.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationError(f"cannot read the account spec {args.spec}: {exc}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("data"), dict):
        raise ValidationError('the account spec needs "data": {"SYMBOL": "candle file", ...}')
    base = args.spec.parent
    data = {str(k): base / str(v) for k, v in spec["data"].items()}
    bots = spec.get("bots")
    if not isinstance(bots, list) or not all(isinstance(b, dict) for b in bots):
        raise ValidationError('the account spec needs "bots": [{...}, ...]')
    catalog = _strategy_service(settings).catalog
    result = asyncio.run(
        BacktestService(catalog).run_account(
            bots=bots,
            data=data,
            cash=spec.get("cash"),
            fee_bps=spec.get("fee_bps", "0"),
            sharing=str(spec.get("sharing", "shared")),
        )
    )
    text = json.dumps(result.to_json(), indent=2)
    if args.json_path is not None:
        args.json_path.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def _arbitrage_backtest(args: argparse.Namespace) -> int:
    from task_station.services.arbitrage import ArbitrageService

    result = asyncio.run(
        ArbitrageService().backtest(
            strategy=args.strategy,
            params=dict(args.param),
            balances=dict(args.balance),
            recording=args.recording,
            demo_seed=args.demo_seed,
            demo_steps=args.demo_steps,
            fees_bps=dict(args.fee_bps),
            gas_per_swap=args.gas_per_swap,
            gas_price_gwei=args.gas_gwei,
        )
    )
    text = json.dumps(result.to_json(), indent=2)
    if args.json_path is not None:
        args.json_path.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def _simulator_bars(path: Path | None, seed: int) -> tuple[list[Candle], str]:
    """Bars that drive the simulator's market: a candle file, or the synthetic market."""
    from task_station.marketdata.candle_files import frame_to_candles, infer_timeframe, read_frame
    from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame

    frame = generate_frame(SyntheticMarketSpec(seed=seed)) if path is None else read_frame(path)
    return frame_to_candles(frame), infer_timeframe(frame)


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _gap_json(gap: Gap) -> dict[str, object]:
    return {"start": gap.start.isoformat(), "end": gap.end.isoformat(), "start_ms": gap.start_ms,
            "end_ms": gap.end_ms, "missing": gap.missing, "confirmed": gap.confirmed}  # fmt: skip


def _gap_line(gap: Gap) -> str:
    why = "no data at the venue" if gap.confirmed else "not downloaded yet"
    return f"  gap {_when(gap.start_ms)} -> {_when(gap.end_ms)} UTC: {gap.missing} bars ({why})"


def _market_data(settings: Settings, bus: EventBus | None = None) -> MarketDataService:
    """What ``container.market_data_service`` builds, without loading the whole station
    (web3, SQLAlchemy): ``data list`` answers at once, and ccxt loads only to download."""
    from task_station.domain.clock import SystemClock
    from task_station.marketdata.store import MarketStore
    from task_station.services.market_data import LazySources, MarketDataService

    def sources() -> CandleSourceFactory:
        from task_station.venues.ccxt_cex.history import history_sources

        return history_sources(settings.simulator_url)

    clock = SystemClock()
    store = MarketStore(settings.market_data_dir, clock=clock)
    return MarketDataService(store, LazySources(sources), clock, bus=bus)


def _print_gaps(gaps: Sequence[Gap], shown: int = 10) -> None:
    for gap in gaps[:shown]:
        print(_gap_line(gap))
    if len(gaps) > shown:
        print(f"  ... and {len(gaps) - shown} more ('data list --json' lists all)")


def _data(args: argparse.Namespace, settings: Settings) -> int:
    if args.data_command == "replay":
        return _data_replay(args, settings)
    service = _market_data(settings)
    if args.data_command == "download":
        return _data_download(args, service)
    if args.data_command == "import":
        result = service.import_file(args.file, args.venue, args.symbol, args.timeframe)
        print(f"{result.venue} {result.symbol} {result.timeframe}: imported {result.rows} bars "
              f"{_when(result.first_ms)} -> {_when(result.last_ms)} UTC"
              f"{f' ({result.replaced} replaced stored bars)' if result.replaced else ''}")  # fmt: skip
        return 0
    _data_list(service.inventory(), as_json=args.as_json)
    return 0


def _data_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Print every event of a replay of stored data (the station's replay, on a bus of
    this process)."""
    from task_station.domain.market_feed import (
        BookUpdated,
        CandleUpdated,
        MarketEvent,
        TradePrinted,
    )
    from task_station.engine.bus import EventBus
    from task_station.services.principal import SYSTEM

    bus = EventBus()
    service = _market_data(settings, bus)

    def show(event: MarketEvent) -> None:
        when = f"{event.ts:%Y-%m-%d %H:%M:%S}"
        if isinstance(event, CandleUpdated):
            c = event.candle
            print(f"{when} {event.market} {event.timeframe} bar {c.ts:%H:%M} "
                  f"O {c.open} H {c.high} L {c.low} C {c.close} V {c.volume}")  # fmt: skip
        elif isinstance(event, TradePrinted):
            side = event.side.value if event.side is not None else "?"
            print(f"{when} {event.market} trade {side} {event.amount} @ {event.price}")
        elif isinstance(event, BookUpdated):
            bid = event.bids[0][0] if event.bids else "-"
            ask = event.asks[0][0] if event.asks else "-"
            print(f"{when} {event.market} book {bid} / {ask}")

    for kind in (CandleUpdated, TradePrinted, BookUpdated):
        bus.subscribe(kind, show)

    async def run() -> int:
        timeframe = None if args.timeframe.lower() == "none" else args.timeframe
        handle = service.start_replay(SYSTEM, [args.market], timeframe=timeframe,
                                      start=args.start, end=args.until, speed=args.speed)  # fmt: skip
        while not (done := service.replay(handle.id)).state.ended:
            await asyncio.sleep(0.05)
        print(f"replay {done.state.value}: {done.published} events", file=sys.stderr)
        return 0 if done.error is None else 1

    return asyncio.run(run())


def _data_download(args: argparse.Namespace, service: MarketDataService) -> int:
    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    cancel = asyncio.Event()

    async def run() -> DownloadResult:
        task = asyncio.current_task()

        def interrupt() -> None:  # once: stop after this page; twice: stop now
            if cancel.is_set() and task is not None:
                task.cancel()
            cancel.set()

        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, interrupt)
        return await service.download(
            args.venue, args.symbol, args.timeframe, args.since, args.until,
            progress=bar, cancel=cancel, repair=not args.no_repair, recheck=args.recheck,
        )  # fmt: skip

    try:
        result = asyncio.run(run())
    except asyncio.CancelledError:
        print("stopped: what was fetched is saved; run the same command to resume",
              file=sys.stderr)  # fmt: skip
        return 130
    finally:
        if bar is not None:
            bar.close()
    if args.as_json:
        print(json.dumps(_jsonable(result), indent=2))
    else:
        print(f"{result.venue} {result.symbol} {result.timeframe} "
              f"{_when(result.start_ms)} -> {_when(result.end_ms)} UTC: {result.bars_written} "
              f"bars written in {result.requests} requests")  # fmt: skip
        _print_gaps(result.gaps)
        if result.rejected_bars:
            print(f"  {result.rejected_bars} invalid bars from the venue were dropped")
    if result.cancelled:
        print("stopped: what was fetched is saved; run the same command to resume",
              file=sys.stderr)  # fmt: skip
        return 130
    return 0


def _data_list(found: Sequence[StoredSeries], *, as_json: bool) -> None:
    if as_json:
        rows = [{"kind": s.kind, "venue": s.venue, "symbol": s.symbol, "timeframe": s.timeframe,
                 "first": s.first.isoformat(), "last": s.last.isoformat(),
                 "first_ms": s.first_ms, "last_ms": s.last_ms, "rows": s.rows,
                 "files": s.files, "size_bytes": s.size_bytes,
                 "gaps": [_gap_json(g) for g in s.gaps]} for s in found]  # fmt: skip
        print(json.dumps(rows, indent=2))
        return
    if not found:
        print("nothing stored yet: try 'task-station data download' or 'data import'")
        return
    head = ("KIND", "VENUE", "SYMBOL", "TF", "FIRST (UTC)", "LAST (UTC)", "ROWS", "GAPS")
    body = [(s.kind, s.venue, s.symbol, s.timeframe or "-", _when(s.first_ms), _when(s.last_ms),
             str(s.rows), f"{len(s.gaps)} ({s.missing_bars} bars)" if s.gaps else "0")
            for s in found]  # fmt: skip
    _print_table([head, *body])
    for s in found:
        if s.gaps:
            print(f"{s.venue} {s.symbol} {s.timeframe}:")
            _print_gaps(s.gaps)


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from task_station.persistence.database import Database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url)
    try:
        if args.db_command == "upgrade":
            database.upgrade()
        elif args.db_command == "downgrade":
            database.downgrade(args.revision)
        print(database.current_revision() or "base")
    finally:
        database.dispose()
    return 0


def _backup_or_restore(args: argparse.Namespace, settings: Settings) -> int:
    from task_station.container import backup_service
    from task_station.services.backup import describe

    service = backup_service(settings)
    if args.command == "backup":
        print(describe(service.backup(args.path)))
    else:
        print(describe(service.restore(args.path)))
    return 0


def _user_create(args: argparse.Namespace, settings: Settings) -> int:
    from task_station.container import build_container

    password = sys.stdin.readline().rstrip("\r\n")
    container = build_container(settings)
    try:
        users = container.services.users
        if users.needs_first_admin():
            user = users.create(args.username, password, args.role, actor=None)
        else:
            raise ValidationError(
                "users already exist: add more from the GUI or the API as an admin"
            )
        print(f"created {user.role.value} {user.username}")
    finally:
        asyncio.run(container.aclose())
    return 0


@contextlib.contextmanager
def _stored_jobs(settings: Settings) -> Iterator[JobService]:
    """The station's job queue (the database only: this process runs no job)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from task_station.domain.clock import SystemClock
    from task_station.engine.bus import EventBus
    from task_station.jobs.queue import JobQueue
    from task_station.persistence.database import Database
    from task_station.persistence.jobs import SqlJobStore
    from task_station.services.jobs import JobService

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url)
    try:
        database.upgrade()
        store = SqlJobStore.on(database)
        yield JobService(JobQueue(store, EventBus(), SystemClock()), store)
    finally:
        database.dispose()


def _jobs(args: argparse.Namespace, settings: Settings) -> int:
    from task_station.services.principal import SYSTEM

    with _stored_jobs(settings) as service:
        if args.jobs_command == "show":
            print(json.dumps(_jsonable(service.get(args.job_id)), indent=2))
        elif args.jobs_command == "cancel":
            job = asyncio.run(service.cancel(SYSTEM, args.job_id, wait=args.wait))
            if job.state.ended:
                print(f"job {job.id} is {job.state.value}")
            else:
                print(f"job {job.id} was asked to stop; the station running it stops it shortly")
        else:
            found = service.list(limit=args.limit, state=args.state, kind=args.kind)
            if args.as_json:
                print(json.dumps([_jsonable(job) for job in found], indent=2))
                return 0
            head = ("ID", "STATE", "KIND", "TRIES", "PROGRESS", "CREATED", "TITLE")
            body = [(job.id, job.state.value, job.kind, f"{job.attempts}/{job.max_attempts}",
                     f"{job.progress:.0%}", job.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                     job.title[:60]) for job in found]  # fmt: skip
            _print_table([head, *body])
            print(f"{len(found)} job(s)")
    return 0


async def _notify(args: argparse.Namespace, settings: Settings) -> int:
    """``notify test``: this process runs the delivery job itself and waits for it."""
    from task_station.container import build_container
    from task_station.services.principal import SYSTEM

    container = build_container(settings)
    try:
        notifications = container.services.notifications
        if args.notify_command == "channels":
            print(json.dumps([_jsonable(view) for view in notifications.channels()], indent=2))
            return 0
        container.services.jobs.start()
        job = notifications.test_channel(SYSTEM, args.channel)
        ended = await container.services.jobs.wait(job.id, args.timeout)
    finally:
        await container.aclose()
    if ended.state.value == "succeeded":
        print(f"sent a test message through {args.channel} (job {ended.id})")
        return 0
    print(f"error: the test message through {args.channel} was not sent: {ended.error}",
          file=sys.stderr)  # fmt: skip
    return 1


async def _serve(settings: Settings, *, demo: bool) -> int:
    from task_station.api.app import create_app
    from task_station.api.options import ApiOptions
    from task_station.api.server import ApiServer, check_bind_host
    from task_station.container import build_container

    check_bind_host(settings.api_host, settings.api_allow_remote)  # before touching anything
    container = build_container(settings)
    _attach_automation(container)
    await container.start()  # the bots the last run left running resume
    app = create_app(container.services, options=ApiOptions.from_settings(settings))
    server = ApiServer(
        app, settings.api_host, settings.api_port, allow_remote=settings.api_allow_remote
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
        url = f"http://{settings.api_host}:{server.port}"
        print(f"TASK Station API on {url}", flush=True)
        if demo:
            from task_station.services.demo import seed_demo

            session = await seed_demo(container.services)
            print(f"demo login: user 'demo', password {session.password}", flush=True)
        await stop.wait()
    finally:
        await server.stop()
        await container.aclose()
    return 0


def _is_first_run(settings: Settings) -> bool:
    """No settings file, no database configured and none on disk: a new station."""
    from task_station.settings_file import config_file

    if config_file().exists() or settings.database_url:
        return False
    return not settings.sqlite_file.exists()


def _load_settings_after_setup(before: Settings) -> Settings:
    """Settings again, now with what the wizard saved (the data directory stays)."""
    return Settings(data_dir=before.data_dir)


def _gui(settings: Settings, *, demo: bool) -> int:
    from task_station.domain.audit import Face, acting_through

    with acting_through(Face.GUI):  # Qt's callbacks and the session's tasks act for the GUI
        return _gui_session(settings, demo=demo)


def _gui_session(settings: Settings, *, demo: bool) -> int:
    from task_station.gui.qt_loop import create_application, run_until_closed

    _app, loop = create_application(sys.argv[:1])
    from task_station.gui.splash import show_splash

    splash = show_splash()  # on screen before the heavy imports and the database

    def step(text: str) -> None:
        if splash is not None:
            splash.step(text)

    async def session() -> int:
        nonlocal settings
        step("Loading the station…")
        from task_station.api.app import create_app
        from task_station.api.server import ApiServer
        from task_station.container import build_container, open_vault
        from task_station.gui.app import ask_vault_password, run_gui_session

        first_run = None
        if not demo and _is_first_run(settings):
            from task_station.gui.app import run_first_run_wizard

            if splash is not None:
                splash.close()
            first_run = await run_first_run_wizard()
            if first_run is None:
                return 1
            settings = _load_settings_after_setup(settings)
        vault = open_vault(settings)
        if first_run is not None and first_run.vault_password and vault.needs_master_password:
            vault.unlock(first_run.vault_password)
        if vault.needs_master_password:
            if splash is not None:
                splash.close()
            if not await ask_vault_password(vault.unlock, creating=not vault.file_exists):
                return 1
        step("Opening the database…")
        container = build_container(settings, vault)
        _attach_automation(container)
        server = None
        try:
            await container.start()  # the bots the last run left running resume
            api_url = None
            if settings.api_enabled:
                from task_station.api.options import ApiOptions

                server = ApiServer(
                    create_app(container.services, options=ApiOptions.from_settings(settings)),
                    settings.api_host,
                    settings.api_port,
                    allow_remote=settings.api_allow_remote,
                )
                await server.start()
                api_url = f"http://{settings.api_host}:{server.port}"
            auto_login = None
            if demo:
                from task_station.services.demo import seed_demo

                auto_login = (await seed_demo(container.services)).login
            elif first_run is not None:
                from task_station.services.demo import start_demo_bots

                s = container.services
                s.users.create(first_run.admin_username, first_run.admin_password, "admin", None)
                auto_login = s.auth.login(first_run.admin_username, first_run.admin_password)
                if first_run.demo_bots:
                    await start_demo_bots(s, auto_login.principal)
            if splash is not None:
                splash.close()
            await run_gui_session(container.services, api_url=api_url, auto_login=auto_login)
        finally:
            if server is not None:
                await server.stop()
            await container.aclose()
        return 0

    return run_until_closed(loop, session())


# -- tasks -------------------------------------------------------------------------------


def _add_tasks_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tasks = sub.add_parser(
        "tasks",
        help="automation tasks: triggers joined to actions, and their runs",
        description="Changes made here reach a running station when it starts again; "
        "use the GUI or the API to change a running one.",
    )
    tasks.add_argument("--user", default=None, help="the user who acts (required to change)")
    tasks_sub = tasks.add_subparsers(dest="tasks_command", required=True)
    tlist = tasks_sub.add_parser("list", help="every task")
    tlist.add_argument("--json", action="store_true", dest="as_json")
    tasks_sub.add_parser("show", help="one task as JSON").add_argument("task")
    tcreate = tasks_sub.add_parser(
        "create",
        help="create a task from a JSON spec: {name, triggers: [{kind, config}], "
        "actions: [{kind, config}], missed_runs, grace_seconds, description}",
    )
    tcreate.add_argument("spec", help="the spec file, or - for stdin")
    tcreate.add_argument(
        "--secret-stdin",
        action="store_true",
        help="read the webhook secret from stdin (for webhook triggers that give none)",
    )
    for name, text in (
        ("enable", "enable a task"),
        ("disable", "disable a task"),
        ("delete", "delete a task, its runs and its webhook secrets"),
        ("run", "run a task now, in this process, and print the run (exit 1 if it failed)"),
    ):
        tasks_sub.add_parser(name, help=text).add_argument("task")
    truns = tasks_sub.add_parser("runs", help="run history, newest first")
    truns.add_argument("task", nargs="?", default=None)
    truns.add_argument("--limit", type=int, default=20)
    truns.add_argument("--json", action="store_true", dest="as_json")


def _attach_automation(container: Container) -> None:
    from task_station.automation import attach_automation

    attach_automation(container.services)


async def _tasks(args: argparse.Namespace, settings: Settings) -> int:
    from task_station.container import build_container

    logging.getLogger("alembic").setLevel(logging.WARNING)
    container = build_container(settings)
    _attach_automation(container)
    try:
        return await _task_command(args, container)
    finally:
        await container.aclose()


def _task_actor(args: argparse.Namespace, container: Container) -> Principal:
    from task_station.services.principal import Principal

    if not args.user:
        raise ValidationError("name the user who acts: task-station tasks --user NAME ...")
    user = container.database.users.get_by_username(args.user.strip().lower())
    if user is None or not user.active:
        raise ValidationError(f"no active user {args.user!r}")
    return Principal(user.id, user.username, user.role)


async def _task_command(args: argparse.Namespace, container: Container) -> int:
    tasks, command = container.services.tasks, args.tasks_command
    if command == "list":
        _list_tasks(tasks.list(), as_json=args.as_json)
    elif command == "show":
        print(json.dumps(_jsonable(tasks.get(args.task)), indent=2))
    elif command == "runs":
        _list_task_runs(tasks.runs(args.task, limit=args.limit), as_json=args.as_json)
    elif command == "create":
        task = tasks.create(_task_actor(args, container), **_task_spec(args))
        print(json.dumps(_jsonable(task), indent=2))
    elif command in ("enable", "disable"):
        task = tasks.set_enabled(_task_actor(args, container), args.task, command == "enable")
        print(f"{task.name}: {'enabled' if task.enabled else 'disabled'}")
    elif command == "delete":
        tasks.delete(_task_actor(args, container), args.task)
        print(f"deleted {args.task}")
    else:
        run = await tasks.run_now(_task_actor(args, container), args.task)
        print(json.dumps(_jsonable(run), indent=2))
        return 0 if run.status.value == "succeeded" else 1
    return 0


def _task_spec(args: argparse.Namespace) -> dict[str, Any]:
    text = sys.stdin.readline() if args.spec == "-" else Path(args.spec).read_text("utf-8")
    try:
        spec = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"the task spec is not valid JSON: {exc}") from None
    if not isinstance(spec, dict):
        raise ValidationError("the task spec must be a JSON object")
    allowed = {"name", "triggers", "actions", "description", "enabled", "missed_runs",
               "grace_seconds"}  # fmt: skip
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ValidationError(f"the task spec does not take {', '.join(unknown)}")
    if args.secret_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
        for trigger in spec.get("triggers") or ():
            if isinstance(trigger, dict) and trigger.get("kind") == "webhook":
                trigger.setdefault("config", {}).setdefault("secret", secret)
    return spec


def _list_tasks(tasks: Sequence[Task], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_jsonable(list(tasks)), indent=2))
        return
    rows = [["NAME", "ENABLED", "TRIGGERS", "ACTIONS", "ID"]]
    for task in tasks:
        triggers = "; ".join(t.describe() for t in task.triggers)
        actions = ", ".join(a.kind.value for a in task.actions)
        rows.append([task.name, "yes" if task.enabled else "no", triggers, actions, task.id])
    _print_table(rows)


def _list_task_runs(runs: Sequence[TaskRun], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_jsonable(list(runs)), indent=2))
        return
    rows = [["RUN", "STARTED", "STATUS", "CAUSE", "TOOK", "SUMMARY"]]
    for run in runs:
        took = "" if run.duration is None else f"{run.duration.total_seconds():.2f}s"
        started = run.started_at.isoformat(timespec="seconds")
        rows.append([str(run.id), started, run.status.value, run.cause, took, run.summary or ""])
    _print_table(rows)


if __name__ == "__main__":
    raise SystemExit(main())
