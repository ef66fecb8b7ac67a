"""``SimulatorServer``: the loopback Binance-spot exchange, and its command line.

It binds to 127.0.0.1 only. Market time moves by the replay clock (``bars_per_second``
bars each second; 0 means only when a test calls ``step()``), so tests stay
deterministic and a demo looks alive.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from aiohttp import web

from task_station.domain.candles import Candle
from task_station.venues.matching.model import MatchingConfig
from task_station.venues.simulator import rest_private, rest_public
from task_station.venues.simulator.exchange import SimExchange
from task_station.venues.simulator.faults import FaultSpec, fault_middleware
from task_station.venues.simulator.keys import CREDENTIALS, EXCHANGE, FAULTS, Credentials
from task_station.venues.simulator.market import MarketData, market_data, symbol_from_path
from task_station.venues.simulator.ws import WsHub, ws_routes


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything that shapes one simulator run."""

    port: int = 0
    seed: int = 7
    data: Path | None = None
    faults: str = ""
    api_key: str = "sim-key"
    api_secret: str = "sim-secret"  # noqa: S105 - a loopback test credential, not a secret
    bars_per_second: float = 1.0
    warmup_bars: int = 50
    #: Bars served as history at once (klines pages through them), before the warm-up.
    history_bars: int = 0
    balances: dict[str, Decimal] = field(default_factory=dict)
    matching: MatchingConfig = field(default_factory=MatchingConfig)


#: Loads ``(bars, timeframe)`` from a candle file, or synthetic bars when the path is None
#: (seeded). Supplied by the caller: ``venues`` may not import ``marketdata``.
BarLoader = Callable[[Path | None, int], tuple[list[Candle], str]]


class SimulatorServer:
    """An aiohttp server on 127.0.0.1 backed by a ``SimExchange``."""

    def __init__(self, data: MarketData, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        inst = data.instrument
        balances = self.config.balances or {inst.quote: Decimal(100_000), inst.base: Decimal(10)}
        self.exchange = SimExchange(
            data,
            balances,
            config=self.config.matching,
            warmup=self.config.warmup_bars,
            history=self.config.history_bars,
        )
        self.faults = FaultSpec.parse(self.config.faults, default_seed=self.config.seed)
        self.hub = WsHub(self.exchange, self.faults)
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[fault_middleware])
        app[EXCHANGE] = self.exchange
        app[CREDENTIALS] = Credentials(self.config.api_key, self.config.api_secret)
        app[FAULTS] = self.faults
        app.add_routes(rest_public.routes)
        app.add_routes(rest_private.routes)
        app.add_routes(ws_routes(self.hub))
        return app

    async def start(self) -> None:
        """Serve on the running loop; ``port=0`` picks a free port (see ``.port``)."""
        self._runner = web.AppRunner(self.build_app(), handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.config.port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        if self.config.bars_per_second > 0:
            self._ticker = asyncio.create_task(self._tick())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def set_faults(self, spec: str) -> None:
        """Swap the fault spec at run time (tests load markets first, then break things)."""
        fresh = FaultSpec.parse(spec, default_seed=self.config.seed)
        for name in ("latency_s", "rates", "seed", "rng", "rate429_next", "holes"):
            setattr(self.faults, name, getattr(fresh, name))

    def step(self, bars: int = 1) -> None:
        """Advance the market by ``bars`` bars now (tests drive time with this)."""
        for _ in range(bars):
            if not self.exchange.market.step():
                return
            self.hub.publish_bar()

    async def _tick(self) -> None:
        delay = 1.0 / self.config.bars_per_second
        while True:
            await asyncio.sleep(delay)
            self.step()


def parse_args(argv: list[str] | None) -> SimulatorConfig:
    parser = argparse.ArgumentParser(
        prog="task-station simulator",
        description="Serve a loopback Binance-spot exchange backed by the paper engine.",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=None, help="candle file (CSV/Parquet)")
    parser.add_argument("--faults", default="", help="e.g. latency=50ms,rate429=0.05,seed=1")
    parser.add_argument("--api-key", default="sim-key")
    parser.add_argument("--api-secret", default="sim-secret")
    parser.add_argument("--bars-per-second", type=float, default=1.0)
    parser.add_argument(
        "--history-bars",
        type=int,
        default=0,
        help="serve the first N bars at once as history (klines pages through them)",
    )
    ns = parser.parse_args(argv)
    return SimulatorConfig(
        port=ns.port, seed=ns.seed, data=ns.data, faults=ns.faults, api_key=ns.api_key,
        api_secret=ns.api_secret, bars_per_second=ns.bars_per_second,
        history_bars=ns.history_bars,
    )  # fmt: skip


def load_data(config: SimulatorConfig, load_bars: BarLoader) -> MarketData:
    """Bars for ``config`` through the caller's loader, wrapped with their instrument."""
    bars, timeframe = load_bars(config.data, config.seed)
    symbol = symbol_from_path(config.data) if config.data is not None else "BTC/USDT"
    return market_data(bars, timeframe, symbol)


def main(argv: list[str] | None, load_bars: BarLoader) -> int:
    """Run ``task-station simulator`` until interrupted; returns the exit code."""
    config = parse_args(argv)
    data = load_data(config, load_bars)

    async def serve() -> None:
        server = SimulatorServer(data, config)
        await server.start()
        print(f"simulator listening on {server.url} ({server.exchange.market.instrument.symbol})")
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0
