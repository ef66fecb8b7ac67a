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
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from task_station import __version__
from task_station.config import Settings
from task_station.domain.candles import Candle
from task_station.domain.errors import TaskStationError, ValidationError
from task_station.logging_setup import configure_logging

if TYPE_CHECKING:
    from task_station.services.backtests import BacktestService
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

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="migrate the database to the latest schema")
    down = db_sub.add_parser("downgrade", help="migrate the database down to REVISION")
    down.add_argument("revision")
    db_sub.add_parser("current", help="print the current schema revision")

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
    try:
        with _settings_for(args) as settings:
            configure_logging(settings.log_level)
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
    if args.command == "db":
        return _db(args, settings)
    if args.command == "user":
        return _user_create(args, settings)
    if args.command == "serve":
        if args.host:
            settings = settings.model_copy(update={"api_host": args.host})
        if args.port is not None:
            settings = settings.model_copy(update={"api_port": args.port})
        return asyncio.run(_serve(settings, demo=args.serve_demo))
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


async def _serve(settings: Settings, *, demo: bool) -> int:
    from task_station.api.app import create_app
    from task_station.api.server import ApiServer
    from task_station.container import build_container

    container = build_container(settings)
    await container.start()  # the bots the last run left running resume
    server = ApiServer(create_app(container.services), settings.api_host, settings.api_port)
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


def _gui(settings: Settings, *, demo: bool) -> int:
    from task_station.container import build_container, open_vault
    from task_station.gui.app import ask_vault_password, run_gui_session
    from task_station.gui.qt_loop import create_application, run_until_closed

    _app, loop = create_application(sys.argv[:1])

    async def session() -> int:
        from task_station.api.app import create_app
        from task_station.api.server import ApiServer

        vault = open_vault(settings)
        if vault.needs_master_password and not await ask_vault_password(
            vault.unlock, creating=not vault.file_exists
        ):
            return 1
        container = build_container(settings, vault)
        server = None
        try:
            await container.start()  # the bots the last run left running resume
            api_url = None
            if settings.api_enabled:
                server = ApiServer(
                    create_app(container.services), settings.api_host, settings.api_port
                )
                await server.start()
                api_url = f"http://{settings.api_host}:{server.port}"
            auto_login = None
            if demo:
                from task_station.services.demo import seed_demo

                auto_login = (await seed_demo(container.services)).login
            await run_gui_session(container.services, api_url=api_url, auto_login=auto_login)
        finally:
            if server is not None:
                await server.stop()
            await container.aclose()
        return 0

    return run_until_closed(loop, session())


if __name__ == "__main__":
    raise SystemExit(main())
