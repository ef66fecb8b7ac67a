"""Local API latency: read endpoints under open-loop load, and ``/ws`` fan-out.

A real station (SQLite, encrypted-file vault, a paper bot trading synthetic data) serves
its API from a *separate process*, as ``task-station serve`` does. This process then

1. sends GET requests to the read endpoints on a fixed schedule (open loop: request
   ``i`` leaves at ``start + i / RATE`` whether or not earlier ones have answered, and
   its latency counts from that scheduled instant, so a stall is not hidden), and
2. connects 50 WebSocket clients and times every message from the moment the server's
   hub took the event off the bus (stamped in the server process) to its receipt at
   each client (both stamps are ``time.time_ns()`` on the same machine).

The bot trades throughout. Prints a table (milliseconds).

    .venv/bin/python benchmarks/api_latency.py [--rate 200] [--seconds 10] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing as mp
import statistics
import tempfile
import time
from collections import defaultdict
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import websockets

READS = ("/health", "/bots", "/orders?limit=50", "/fills?limit=100", "/portfolio", "/risk")
PASSWORD = "bench-admin-password-1"


# -- the server process ---------------------------------------------------------------


def serve(data_dir: str, pace: float, pipe: Connection) -> None:
    """Run the station; report its URL, then the hub's publish stamps when told to stop."""
    asyncio.run(_serve(Path(data_dir), pace, pipe))


async def _serve(data_dir: Path, pace: float, pipe: Connection) -> None:
    import task_station.api.hub as hub_module
    from task_station.api.app import create_app
    from task_station.api.options import ApiOptions
    from task_station.api.server import ApiServer
    from task_station.config import Settings
    from task_station.container import build_container

    stamps: dict[str, int] = {}
    encode = hub_module.encode

    def stamping_encode(message: dict[str, Any]) -> str:
        text = encode(message)  # the hub encodes each event once, as it takes it off the bus
        stamps[_digest(text)] = time.time_ns()
        return text

    hub_module.encode = stamping_encode  # type: ignore[assignment]
    settings = Settings(
        data_dir=data_dir, keyring_backend="cryptfile", keyring_password="bench-vault-pw",
        bcrypt_rounds=4, demo_pace_seconds=pace, api_port=0,
    )  # fmt: skip
    container = build_container(settings)
    services = container.services
    services.users.create("admin", PASSWORD, "admin", actor=None)
    admin = services.auth.login("admin", PASSWORD).principal
    options = ApiOptions(rate_per_second=1_000_000, burst=1_000_000, ws_queue_size=4096)
    server = ApiServer(create_app(services, options=options), "127.0.0.1", 0)
    await server.start()
    bot = services.bots.create(
        admin, name="bench sma 3/8", strategy="sma_cross", params={"fast": 3, "slow": 8},
        quote_budget="10000", data_source="synthetic:7",
    )  # fmt: skip
    await services.bots.start(admin, bot.id)
    pipe.send(server.url)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, pipe.recv)  # "stop"
    pipe.send(stamps)
    await server.stop()
    await container.aclose()


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


# -- the load generator -----------------------------------------------------------------


async def _token(http: httpx.AsyncClient) -> str:
    answer = await http.post("/auth/login", json={"username": "admin", "password": PASSWORD})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


class _Connection:
    """A bare HTTP/1.1 keep-alive connection: the generator must cost far less CPU than
    the server it measures (httpx costs about a millisecond a request)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, path: str, token: str) -> int:
        request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n"
        self.writer.write(request.encode())
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status


async def http_load(
    url: str, rate: float, seconds: float, connections: int = 32
) -> dict[str, list[float]]:
    """Open-loop GETs at ``rate`` per second, round-robin over ``READS``, through a pool
    of keep-alive connections (a request waits for a free one: that wait counts)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        token = await _token(http)
    host, port = url.removeprefix("http://").split(":")
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(_Connection(*await asyncio.open_connection(host, int(port))))
    for path in READS:  # warm each route up once
        connection = await pool.get()
        await connection.get(path, token)
        pool.put_nowait(connection)
    results: dict[str, list[float]] = defaultdict(list)
    errors: list[int] = []
    start = time.perf_counter() + 0.1

    async def one(i: int) -> None:
        scheduled = start + i / rate
        path = READS[i % len(READS)]
        connection = await pool.get()
        try:
            status = await connection.get(path, token)
        finally:
            pool.put_nowait(connection)
        results[path].append((time.perf_counter() - scheduled) * 1000)
        if status != 200:
            errors.append(status)

    tasks = []
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().writer.close()
    if errors:
        print(f"warning: {len(errors)} non-200 answers: {sorted(set(errors))}")
    return results


async def ws_fanout(url: str, clients: int, seconds: float) -> tuple[int, list[tuple[str, int]]]:
    """``clients`` sockets on the default topics; receipt stamps by message digest."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        token = await _token(http)
    ws_url = url.replace("http://", "ws://") + f"/ws?token={token}"
    received: list[tuple[str, int]] = []
    lagged = 0

    async def client(ready: asyncio.Event, stop: asyncio.Event) -> None:
        nonlocal lagged
        async with websockets.connect(ws_url, max_queue=None) as ws:
            await ws.recv()  # hello
            ready.set()
            while not stop.is_set():
                try:
                    text = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                stamp = time.time_ns()
                if '"type":"lagged"' in str(text)[:20]:
                    lagged += 1
                    continue
                received.append((_digest(str(text)), stamp))

    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in range(clients)]
    tasks = [asyncio.create_task(client(r, stop)) for r in readies]
    await asyncio.gather(*(r.wait() for r in readies))
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    return lagged, received


# -- report ---------------------------------------------------------------------------------


def _row(name: str, values: list[float]) -> str:
    if len(values) < 2:
        return f"{name:<34}{len(values):>7}"
    q = statistics.quantiles(values, n=100)
    return (
        f"{name:<34}{len(values):>7}{statistics.median(values):>9.2f}{q[98]:>9.2f}"
        f"{max(values):>9.2f}"
    )


async def run(args: argparse.Namespace, url: str) -> tuple[dict[str, list[float]], Any]:
    http = await http_load(url, args.rate, args.seconds)
    fanout = await ws_fanout(url, args.clients, args.seconds)
    return http, fanout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--pace", type=float, default=0.02, help="seconds between the bot's bars")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="api-latency-") as tmp:
        ours, theirs = mp.Pipe()
        server = mp.get_context("spawn").Process(
            target=serve, args=(str(Path(tmp) / "station"), args.pace, theirs)
        )
        server.start()
        url = ours.recv()
        try:
            http, (lagged, received) = asyncio.run(run(args, url))
        finally:
            ours.send("stop")
            stamps: dict[str, int] = ours.recv()
            server.join(60)
    fanout = [(at - stamps[d]) / 1e6 for d, at in received if d in stamps]
    every = [ms for values in http.values() for ms in values]
    print(f"\nAPI latency, ms (open loop at {args.rate:g} req/s for {args.seconds:g} s; "
          f"/ws: {args.clients} clients for {args.seconds:g} s while a bot trades)")  # fmt: skip
    print(f"{'what':<34}{'n':>7}{'p50':>9}{'p99':>9}{'max':>9}")
    for path in READS:
        print(_row(f"GET {path}", http[path]))
    print(_row("GET (all read endpoints)", every))
    print(_row(f"/ws publish -> receipt ({args.clients} clients)", fanout))
    unmatched = len(received) - len(fanout)
    print(f"(/ws: {len(received)} messages received, {len(fanout) // max(args.clients, 1)} per client, "
          f"{lagged} lagged notices, {unmatched} unmatched)")  # fmt: skip


if __name__ == "__main__":
    main()
