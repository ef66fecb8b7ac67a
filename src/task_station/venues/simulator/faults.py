"""Fault injection from a spec string, deterministic with its seed.

``latency=50ms,rate429=0.05,err5xx=0.02,drop_ws=0.01,timeout_after_accept=0.03,
dup_ack=0.02,seed=1``: added latency on every REST call; HTTP 429 with ``Retry-After``;
HTTP 503; WebSocket connections dropped on a publish; an order accepted but its
response never delivered (the connection is closed); duplicated WebSocket messages.
The draws come from one seeded generator in request order, so a run replays exactly.

Two faults are counted rather than drawn: ``rate429_next=3`` answers the next three REST
requests with 429, and ``hole=START-END`` (ms, half-open; repeatable) makes klines leave
out the bars opening in that range, as an exchange does for an outage.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from task_station.domain.errors import ValidationError

RATES = ("rate429", "err5xx", "drop_ws", "timeout_after_accept", "dup_ack")


@dataclass(slots=True)
class FaultSpec:
    """Probabilities per fault kind plus a fixed latency."""

    latency_s: float = 0.0
    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    rng: random.Random = field(default_factory=random.Random)
    rate429_next: int = 0
    holes: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def parse(cls, spec: str, default_seed: int = 0) -> FaultSpec:
        """Parse ``key=value`` pairs; unknown keys are refused with the valid ones."""
        out = cls(seed=default_seed)
        for item in filter(None, (p.strip() for p in spec.split(","))):
            key, _, value = item.partition("=")
            try:
                if key == "latency":
                    out.latency_s = _duration(value)
                elif key == "seed":
                    out.seed = int(value)
                elif key in RATES:
                    out.rates[key] = float(value)
                elif key == "rate429_next":
                    out.rate429_next = int(value)
                elif key == "hole":
                    start, _, end = value.partition("-")
                    out.holes.append((int(start), int(end)))
                else:
                    raise ValidationError(
                        f"unknown fault {key!r}; use latency, seed, rate429_next, hole, "
                        f"{', '.join(RATES)}"
                    )
            except ValueError:
                raise ValidationError(f"fault {key!r} has a bad value {value!r}") from None
        out.rng = random.Random(out.seed)
        return out

    def in_hole(self, ts_ms: int) -> bool:
        """Whether klines must leave out the bar opening at ``ts_ms``."""
        return any(start <= ts_ms < end for start, end in self.holes)

    def take_rate_limit(self) -> bool:
        """True for each of the next ``rate429_next`` requests, or by ``rate429``'s draw."""
        if self.rate429_next > 0:
            self.rate429_next -= 1
            return True
        return self.roll("rate429")

    def roll(self, kind: str) -> bool:
        """True if fault ``kind`` strikes now (no draw is spent on a disabled fault)."""
        rate = self.rates.get(kind, 0.0)
        return rate > 0 and self.rng.random() < rate


def _duration(value: str) -> float:
    if value.endswith("ms"):
        return float(value[:-2]) / 1000
    return float(value.removesuffix("s"))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the app's ``FaultSpec`` to every REST request (not the WebSocket)."""
    from task_station.venues.simulator.keys import FAULTS

    faults = request.app[FAULTS]
    if request.path.startswith(("/ws", "/stream")):
        return await handler(request)
    if faults.latency_s:
        await asyncio.sleep(faults.latency_s)
    if faults.take_rate_limit():
        return web.Response(status=429, text="Too many requests", headers={"Retry-After": "1"})
    if faults.roll("err5xx"):
        return web.Response(status=503, text="Service Unavailable")
    response = await handler(request)
    is_order = request.method == "POST" and request.path == "/api/v3/order"
    if is_order and response.status == 200 and faults.roll("timeout_after_accept"):
        # The order exists now, but the client never hears so: drop the connection.
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError
    return response
