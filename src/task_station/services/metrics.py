"""Prometheus metrics of the station, fed by the event bus.

``StationMetrics`` subscribes to the bus's order, fill, bar and bot events and keeps
counters, gauges and a latency histogram in its own registry (never the process-wide
default one: a test process builds many stations). ``render()`` is the text a
Prometheus server scrapes from ``GET /metrics``.

Times here are wall-clock durations (``time.perf_counter``): a bot's own clock may be a
replay clock, so event timestamps say when a bar happened in the market, not when the
station handled it.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from task_station import __version__
from task_station.domain.bots import BotStatus
from task_station.domain.events import (
    BarClosed,
    BotStatusChanged,
    OrderDenied,
    OrderFilled,
    OrderUpdated,
)
from task_station.domain.orders import OrderStatus
from task_station.engine.bus import EventBus

#: A bar whose close is further from the wall clock than this comes from a replay of
#: history (demo and paper bots replay stored bars): it says nothing about feed lag.
LIVE_FEED_WINDOW = timedelta(hours=1)
#: Orders waiting for the venue's first answer, at most (the oldest are forgotten).
MAX_PENDING_ORDERS = 10_000
_ANSWERED = frozenset(
    {
        OrderStatus.ACCEPTED,
        OrderStatus.TRIGGERED,
        OrderStatus.REJECTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
    }
)
_RUNS = (BotStatus.RUNNING, BotStatus.PAUSED)
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class _ErrorCounter(logging.Handler):
    """Counts the station's ERROR (and worse) log records."""

    def __init__(self, counter: Counter) -> None:
        super().__init__(logging.ERROR)
        self._counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        self._counter.labels(source="log").inc()


class StationMetrics:
    """The station's counters, fed by ``bus`` until ``close()``.

    Parameters
    ----------
    bus
        The station's event bus.
    wall_clock
        Now, in UTC, for feed lag (the system clock unless a test injects one).
    logger
        Whose ERROR records count as errors (the ``task_station`` logger by default).
    """

    def __init__(
        self,
        bus: EventBus,
        *,
        wall_clock: Callable[[], datetime] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._now = wall_clock or (lambda: datetime.now(UTC))
        self._build_metrics()
        self._pending: OrderedDict[str, float] = OrderedDict()
        self._bot_status: dict[str, BotStatus] = {}
        self._feeds: dict[str, tuple[float, float]] = {}  # feed -> (lag s, perf_counter)
        self.event_loop_lag: float | None = None
        self._logger = logger or logging.getLogger("task_station")
        self._log_handler = _ErrorCounter(self.errors)
        self._logger.addHandler(self._log_handler)
        self._unsubscribe = [
            bus.subscribe(OrderUpdated, self._on_order_updated),
            bus.subscribe(OrderFilled, self._on_order_filled),
            bus.subscribe(OrderDenied, self._on_order_denied),
            bus.subscribe(BotStatusChanged, self._on_bot_status),
            bus.subscribe(BarClosed, self._on_bar_closed),
        ]

    def _build_metrics(self) -> None:
        r = self.registry
        self.orders_submitted = Counter(
            "task_station_orders_submitted", "Orders sent to a venue.", ["venue"], registry=r
        )
        self.orders_filled = Counter(
            "task_station_orders_filled", "Orders filled completely.", ["venue"], registry=r
        )
        self.orders_rejected = Counter(
            "task_station_orders_rejected", "Orders a venue refused.", ["venue"], registry=r
        )
        self.orders_denied = Counter(
            "task_station_orders_denied",
            "Orders a pre-trade check refused (never sent).",
            ["venue"],
            registry=r,
        )
        self.fills = Counter(
            "task_station_fills", "Executions (partial fills count one each).", ["venue", "side"],
            registry=r,
        )  # fmt: skip
        self.errors = Counter(
            "task_station_errors",
            "Errors: ERROR log records (source=log), bots that ended in error (source=bot).",
            ["source"],
            registry=r,
        )
        self.order_round_trip = Histogram(
            "task_station_order_round_trip_seconds",
            "Wall time from sending an order to the venue's first answer.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.feed_lag = Gauge(
            "task_station_feed_lag_seconds",
            "Wall time between a live bar's close and its arrival, per feed.",
            ["feed"],
            registry=r,
        )
        self.loop_lag = Gauge(
            "task_station_event_loop_lag_seconds",
            "How late the event loop ran a timer or callback (worst of the last samples).",
            registry=r,
        )
        self.bots_running = Gauge(
            "task_station_bots_running", "Bots running or paused.", registry=r
        )
        info = Gauge("task_station_info", "The station's version.", ["version"], registry=r)
        info.labels(version=__version__).set(1)

    # -- reading -----------------------------------------------------------------------

    content_type = CONTENT_TYPE_LATEST

    def render(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)

    def value(self, name: str, **labels: str) -> float:
        """One sample's value (0 when it was never recorded); for tests and the GUI."""
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found

    def feed_lags(self, max_age: float = 300.0) -> dict[str, float]:
        """Each live feed's last lag (seconds), for feeds heard from within ``max_age``."""
        now = time.perf_counter()
        return {f: lag for f, (lag, seen) in self._feeds.items() if now - seen <= max_age}

    @property
    def running_bots(self) -> int:
        return sum(1 for status in self._bot_status.values() if status in _RUNS)

    def observe_loop_lag(self, seconds: float) -> None:
        self.event_loop_lag = seconds
        self.loop_lag.set(seconds)

    def close(self) -> None:
        """Stop listening to the bus and the log (the registry keeps its values)."""
        while self._unsubscribe:
            self._unsubscribe.pop()()
        self._logger.removeHandler(self._log_handler)

    # -- bus handlers --------------------------------------------------------------------

    def _on_order_updated(self, event: OrderUpdated) -> None:
        order = event.order
        if order.status is OrderStatus.SUBMITTED:
            self.orders_submitted.labels(venue=order.venue).inc()
            self._pending[order.client_order_id] = time.perf_counter()
            if len(self._pending) > MAX_PENDING_ORDERS:
                self._pending.popitem(last=False)
            return
        if order.status is OrderStatus.REJECTED:
            self.orders_rejected.labels(venue=order.venue).inc()
        if order.status in _ANSWERED:
            self._answered(order.client_order_id)

    def _on_order_filled(self, event: OrderFilled) -> None:
        order = event.order
        self.fills.labels(venue=order.venue, side=event.fill.side.value).inc()
        if order.status is OrderStatus.FILLED:
            self.orders_filled.labels(venue=order.venue).inc()
        self._answered(order.client_order_id)

    def _on_order_denied(self, event: OrderDenied) -> None:
        self.orders_denied.labels(venue=event.order.venue).inc()

    def _answered(self, client_order_id: str) -> None:
        sent = self._pending.pop(client_order_id, None)
        if sent is not None:
            self.order_round_trip.observe(time.perf_counter() - sent)

    def _on_bot_status(self, event: BotStatusChanged) -> None:
        before = self._bot_status.get(event.bot_id)
        self._bot_status[event.bot_id] = event.status
        if event.status is BotStatus.ERROR and before is not BotStatus.ERROR:
            self.errors.labels(source="bot").inc()
        self.bots_running.set(self.running_bots)

    def _on_bar_closed(self, event: BarClosed) -> None:
        lag = (self._now() - event.ts).total_seconds()
        if abs(lag) > LIVE_FEED_WINDOW.total_seconds():
            return  # a replayed bar
        feed = f"{event.venue}:{event.symbol}:{event.timeframe}"
        self._feeds[feed] = (lag, time.perf_counter())
        self.feed_lag.labels(feed=feed).set(lag)
