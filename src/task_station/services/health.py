"""Is the station alive, and ready to trade? Component checks for ``/health/ready``,
the Health dock and container orchestrators.

Liveness is only "the process answers". Readiness asks each component: the database
(reachable, schema at the migrations' head), the venues, the market-data feeds, the
task scheduler and the event loop's lag. A component the station does not have yet (no
live feed, no scheduler) reports ``not configured``, which never fails readiness; only
a ``down`` component does. Other areas plug their own checks in with ``register``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from task_station.domain.clock import Clock
from task_station.services.metrics import StationMetrics

log = logging.getLogger(__name__)

#: The event loop is "degraded" past this lag, "down" past ``LOOP_DOWN_SECONDS``.
LOOP_DEGRADED_SECONDS = 0.25
LOOP_DOWN_SECONDS = 5.0
#: A live feed whose bars arrive later than this is degraded.
FEED_DEGRADED_SECONDS = 60.0
#: Seconds a single check may take before it counts as down.
CHECK_TIMEOUT_SECONDS = 5.0
#: How often a started service checks every component by itself.
WATCH_SECONDS = 10.0


class Status(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
    NOT_CONFIGURED = "not configured"


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """One component's state; ``value`` is its key number (a lag in seconds) if any."""

    name: str
    status: Status
    detail: str
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Readiness:
    checked_at: datetime
    components: tuple[ComponentHealth, ...]

    @property
    def ready(self) -> bool:
        """Ready unless a component is down (degraded still serves)."""
        return all(c.status is not Status.DOWN for c in self.components)

    @property
    def status(self) -> str:
        if not self.ready:
            return "not ready"
        degraded = any(c.status is Status.DEGRADED for c in self.components)
        return "degraded" if degraded else "ready"

    def component(self, name: str) -> ComponentHealth:
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(name)


Check = Callable[[], Awaitable[ComponentHealth]]


@dataclass(frozen=True, slots=True)
class DatabaseProbe:
    """How the service reads the schema revision (one round trip) and what it expects."""

    current_revision: Callable[[], str | None]
    head_revision: str


async def probe_loop_lag() -> float:
    """Seconds between asking the running loop to call back now and the call."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[float] = loop.create_future()
    asked = time.perf_counter()

    def called() -> None:
        if not done.done():
            done.set_result(time.perf_counter() - asked)

    loop.call_soon(called)
    return await done


class LoopLagMonitor:
    """Samples the event loop's lag every ``interval`` seconds; ``metrics`` gets the worst
    of the last ``window`` samples (a scrape every 15 s still sees a one-off stall)."""

    def __init__(self, metrics: StationMetrics, interval: float = 0.5, window: int = 20) -> None:
        self._metrics = metrics
        self._interval = interval
        self._samples: deque[float] = deque(maxlen=window)
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start sampling on the running loop (again after ``stop``)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(
                self._sample(), name="event-loop-lag"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self._interval
            await asyncio.sleep(self._interval)
            self._samples.append(max(0.0, loop.time() - due))
            self._metrics.observe_loop_lag(max(self._samples))


class HealthService:
    """Liveness and readiness of the station's components.

    Parameters
    ----------
    database
        The schema revision probe (a query: it runs in a worker thread).
    metrics
        Where feed and event-loop lags are observed.
    venues
        The number of exchange accounts configured (the paper venue is built in).
    clock
        The station's clock (``checked_at``).
    watch_seconds
        While started, every component is checked this often; ``last`` holds the result
        (the Health dock shows it without running checks of its own).
    """

    def __init__(
        self,
        database: DatabaseProbe,
        metrics: StationMetrics,
        venues: Callable[[], int],
        clock: Clock,
        watch_seconds: float = WATCH_SECONDS,
    ) -> None:
        self._database = database
        self._metrics = metrics
        self._venues = venues
        self._clock = clock
        self._watch_seconds = watch_seconds
        self._watch: asyncio.Task[None] | None = None
        self.last: Readiness | None = None
        self.loop_monitor = LoopLagMonitor(metrics)
        self._checks: dict[str, Check] = {
            "database": self._check_database,
            "venues": self._check_venues,
            "feeds": self._check_feeds,
            "scheduler": scheduler_check(lambda: False),
            "event_loop": self._check_loop,
        }

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(self._checks)

    def register(self, name: str, check: Check) -> None:
        """Add or replace a component's check (e.g. the task scheduler's, once it runs)."""
        self._checks[name] = check

    def start(self) -> None:
        """Watch the event loop's lag and check every component every ``watch_seconds``
        (call with the loop running; ``stop`` ends both)."""
        self.loop_monitor.start()
        if self._watch is None or self._watch.done():
            self._watch = asyncio.get_running_loop().create_task(self._keep_checking())

    async def stop(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        await self.loop_monitor.stop()

    async def ready(self) -> Readiness:
        """Run every check concurrently; one that fails or hangs counts as down."""
        names = list(self._checks)
        results = await asyncio.gather(*(self._run(n, self._checks[n]) for n in names))
        self.last = Readiness(self._clock.now(), tuple(results))
        return self.last

    async def _keep_checking(self) -> None:
        while True:
            await self.ready()
            await asyncio.sleep(self._watch_seconds)

    async def _run(self, name: str, check: Check) -> ComponentHealth:
        try:
            return await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
        except TimeoutError:
            return ComponentHealth(name, Status.DOWN, f"no answer in {CHECK_TIMEOUT_SECONDS:g} s")
        except Exception as exc:  # a check must report, never break the endpoint
            log.warning("health check %s failed", name, exc_info=True)
            return ComponentHealth(name, Status.DOWN, f"check failed: {type(exc).__name__}")

    # -- the built-in checks -------------------------------------------------------------

    async def _check_database(self) -> ComponentHealth:
        started = time.perf_counter()
        try:
            revision = await asyncio.to_thread(self._database.current_revision)
        except Exception as exc:
            return ComponentHealth("database", Status.DOWN, f"unreachable: {type(exc).__name__}")
        took = time.perf_counter() - started
        head = self._database.head_revision
        if revision != head:
            detail = f"schema at {revision or 'none'}, this version needs {head}"
            return ComponentHealth("database", Status.DOWN, detail, took)
        return ComponentHealth("database", Status.OK, f"schema {revision}", took)

    async def _check_venues(self) -> ComponentHealth:
        accounts = self._venues()
        detail = f"paper venue built in; {accounts} exchange account(s) configured"
        return ComponentHealth("venues", Status.OK, detail, float(accounts))

    async def _check_feeds(self) -> ComponentHealth:
        lags = self._metrics.feed_lags()
        if not lags:
            return ComponentHealth("feeds", Status.NOT_CONFIGURED, "no live market-data feed")
        feed, worst = max(lags.items(), key=lambda item: item[1])
        status = Status.DEGRADED if worst > FEED_DEGRADED_SECONDS else Status.OK
        return ComponentHealth("feeds", status, f"{len(lags)} live feed(s); worst {feed}", worst)

    async def _check_loop(self) -> ComponentHealth:
        probed = await probe_loop_lag()
        sampled = self._metrics.event_loop_lag if self.loop_monitor.running else None
        lag = max(probed, sampled or 0.0)
        if sampled is None:
            self._metrics.observe_loop_lag(probed)
        if lag > LOOP_DOWN_SECONDS:
            status = Status.DOWN
        elif lag > LOOP_DEGRADED_SECONDS:
            status = Status.DEGRADED
        else:
            status = Status.OK
        return ComponentHealth("event_loop", status, f"lag {lag * 1000:.1f} ms", lag)


def scheduler_check(running: Callable[[], bool]) -> Check:
    """The task scheduler's check: ok while it runs in this process, else not configured
    (tools and tests build a station without starting its automation)."""

    async def check() -> ComponentHealth:
        if running():
            return ComponentHealth("scheduler", Status.OK, "task scheduler running")
        return ComponentHealth(
            "scheduler", Status.NOT_CONFIGURED, "no task scheduler running in this process"
        )

    return check
