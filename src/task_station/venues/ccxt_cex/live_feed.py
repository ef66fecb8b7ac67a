"""Live public market data from any ccxt exchange, as ``MarketDataFeed`` events.

Each subscription runs as its own task. Where the exchange has a ccxt.pro websocket for
the stream (the capabilities record says so) the task watches it; otherwise it polls
REST every ``poll_interval`` seconds. A dropped connection is retried after an
exponential back-off with jitter, and the next watch call reconnects and resubscribes;
what the outage hid is filled from REST (see ``live_streams``). A book sequence gap
(ccxt.pro's ``InvalidNonce``/``ChecksumError``) is a resync: the next watch loads a fresh
snapshot. Errors only the trader can fix (credentials, an unknown market) end that one
stream with a ``FAILED`` status that says what to do; the other streams go on.

Every state change is published as ``FeedStatusChanged``, so a chart can grey out a
stale book and a bot can pause while its data is incomplete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import ccxt.async_support as ccxt

from task_station.domain.clock import Clock
from task_station.domain.errors import ValidationError
from task_station.domain.events import Event
from task_station.domain.market_feed import (
    FeedStatus,
    FeedStatusChanged,
    Publish,
    StreamKind,
    Subscription,
)
from task_station.venues.ccxt_cex.capabilities import capabilities_of
from task_station.venues.ccxt_cex.errors import Action, translate
from task_station.venues.ccxt_cex.factory import open_exchange
from task_station.venues.ccxt_cex.live_streams import (
    STREAMS,
    VENUE_QUIRKS,
    LiveFeedConfig,
    Stream,
)
from task_station.venues.ccxt_cex.retry import with_retries

log = logging.getLogger(__name__)

__all__ = ["CcxtLiveFeed", "LiveFeedConfig", "open_live_feed"]


class CcxtLiveFeed:
    """Public streams of one ccxt exchange (``MarketDataFeed``).

    ``exchange`` is a ccxt (or ccxt.pro) async exchange; the feed closes it on ``stop``
    when ``owns_exchange``. ``pro`` says whether its watch methods may be used (default:
    whether it is a ccxt.pro class).
    """

    def __init__(
        self,
        exchange: Any,
        clock: Clock,
        *,
        name: str | None = None,
        pro: bool | None = None,
        config: LiveFeedConfig | None = None,
        secrets: Iterable[str] = (),
        owns_exchange: bool = False,
    ) -> None:
        self._ex = exchange
        self._clock = clock
        self.venue: str = name or str(exchange.id)
        is_pro = hasattr(exchange, "watch_trades") if pro is None else pro
        self.capabilities, self.features = capabilities_of(
            exchange.has, getattr(exchange, "features", None), pro=is_pro
        )
        self.config = config or LiveFeedConfig()
        self._secrets = tuple(s for s in secrets if s)
        self._owns = owns_exchange
        self._publish: Publish | None = None
        self._subs: list[Subscription] = []
        self._tasks: dict[Subscription, asyncio.Task[None]] = {}
        self._done = asyncio.Event()
        self._statuses: dict[Subscription, FeedStatus] = {}
        self._lost = 0  # websocket connections lost so far
        self._seen: dict[Stream, int] = {}  # ``_lost`` when each stream last had data
        if is_pro:
            self._count_lost_connections()

    # -- MarketDataFeed ---------------------------------------------------------------

    @property
    def exchange(self) -> Any:
        return self._ex

    def streaming(self, kind: StreamKind) -> bool:
        """Whether ``kind`` comes over a websocket here (else REST polling)."""
        return STREAMS[kind].watch_method in self.features.watches

    def subscribe(self, subscription: Subscription) -> None:
        if subscription.kind not in STREAMS:
            raise ValidationError(
                f"{self.venue} has no {subscription.kind.value} stream; "
                "use trades, book, candles or ticker"
            )
        if subscription in self._subs:
            return
        self._subs.append(subscription)
        if self._publish is not None:
            self._start(subscription)

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop one stream (its task is cancelled; the others go on)."""
        if subscription in self._subs:
            self._subs.remove(subscription)
        task = self._tasks.pop(subscription, None)
        if task is not None:
            task.cancel()

    @property
    def subscriptions(self) -> list[Subscription]:
        return list(self._subs)

    async def run(self, publish: Publish) -> None:
        """Run every subscription (and any added later) until ``stop`` is called."""
        self._publish = publish
        self._done.clear()
        for sub in self._subs:
            self._start(sub)
        try:
            await self._done.wait()
        finally:
            await self._cancel_all()
            self._publish = None

    async def stop(self) -> None:
        self._done.set()
        await self._cancel_all()
        if self._owns:
            await self._ex.close()

    # -- what streams use (StreamHost) -----------------------------------------------

    def now(self) -> datetime:
        return self._clock.now()

    def emit(self, event: Event) -> None:
        if self._publish is None:
            return
        try:
            self._publish(event)
        except Exception:  # a consumer's bug must not end the stream
            log.exception("%s: publishing %s failed", self.venue, type(event).__name__)

    def status(self, stream: Stream, status: FeedStatus, detail: str = "", **more: Any) -> None:
        self._statuses[stream.sub] = status
        self.emit(
            FeedStatusChanged(
                ts=self.now(), venue=self.venue, symbol=stream.symbol, stream=stream.kind,
                status=status, detail=detail, **more,
            )
        )  # fmt: skip

    async def read(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        return await with_retries(
            call, self.config.reads, lambda: self._ex.last_response_headers, what
        )

    def last_status(self, subscription: Subscription) -> FeedStatus | None:
        return self._statuses.get(subscription)

    def _count_lost_connections(self) -> None:
        """Count every websocket ccxt.pro loses.

        ccxt.pro reconnects on the next watch call; a connection that closes while no
        watch is pending (the feed is busy delivering the last batch) raises nothing,
        so the count is how a stream learns that it may have missed data. ccxt does not
        say which subscriptions a connection carried, so every stream re-checks its gap
        (one REST read that usually finds nothing). ccxt reads the two callbacks from
        the exchange object when it opens a connection.
        """
        counted: weakref.WeakSet[Any] = weakref.WeakSet()  # a loss calls both callbacks
        for name in ("on_close", "on_error"):
            original = getattr(self._ex, name, None)
            if original is None:
                continue

            def hook(client: Any, error: Any, _original: Any = original) -> Any:
                if client not in counted:
                    counted.add(client)
                    self._lost += 1
                return _original(client, error)

            setattr(self._ex, name, hook)

    # -- the loop ---------------------------------------------------------------------

    def _start(self, sub: Subscription) -> None:
        task = self._tasks.get(sub)
        if task is None or task.done():
            name = f"live {self.venue} {sub.describe()}"
            self._tasks[sub] = asyncio.create_task(self._follow(sub), name=name)

    async def _cancel_all(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self, sub: Subscription) -> None:
        stream = STREAMS[sub.kind](self, sub)
        try:
            if await self._check_market(stream):
                await self._loop(stream)
        except asyncio.CancelledError:
            self.status(stream, FeedStatus.STOPPED, "stopped")
            raise

    async def _check_market(self, stream: Stream) -> bool:
        """Load markets (retrying while the venue is unreachable); is the symbol known?"""
        failures = 0
        while not self._ex.markets:
            try:
                await self.read("load markets", self._ex.load_markets)
            except ccxt.NetworkError as exc:
                failures += 1
                delay = self._delay(failures)
                detail = f"{self._short(exc)}; loading markets again in {delay:.1f}s"
                self.status(stream, FeedStatus.DISCONNECTED, detail, retry_in=delay)
                await asyncio.sleep(delay)
            except ccxt.BaseError as exc:
                self.status(stream, FeedStatus.FAILED, self._detail(exc, "load markets"))
                return False
        if stream.symbol not in self._ex.markets:
            self.status(
                stream, FeedStatus.FAILED,
                f"{self.venue} has no market {stream.symbol!r}; check the symbol "
                "(ccxt's unified form, e.g. BTC/USDT or BTC/USDT:USDT)",
            )  # fmt: skip
            return False
        return True

    async def _loop(self, stream: Stream) -> None:
        streaming = self.streaming(stream.kind)
        if not streaming:
            self.status(stream, FeedStatus.POLLING, self._polling_detail())
        failures, flowing = 0, False
        self._seen[stream] = self._lost
        while True:
            try:
                raw, join = await (self._next(stream) if streaming else self._poll(stream))
                if not join and flowing:
                    detail = "the venue closed a connection; reconnecting, checking for gaps"
                    self.status(stream, FeedStatus.DISCONNECTED, detail)
                    flowing = False
                await stream.deliver(raw, join=join)
            except ccxt.BaseError as exc:
                failures += 1
                delay = self._delay(failures)
                if not self._on_error(stream, exc, streaming, failures, delay):
                    return
                if isinstance(exc, ccxt.NotSupported):
                    streaming = False
                    continue
                flowing = False
                await asyncio.sleep(delay)
                continue
            failures = 0
            if not flowing and join:
                flowing = True
                if streaming:
                    self.status(stream, FeedStatus.CONNECTED, "live over websocket")
            if not streaming:
                await asyncio.sleep(self.config.poll_interval)

    def _on_error(
        self, stream: Stream, exc: BaseException, streaming: bool, failures: int, delay: float
    ) -> bool:
        """Report ``exc``; False when the stream must end (only the trader can fix it)."""
        if isinstance(exc, ccxt.InvalidNonce):  # a book gap (ChecksumError is one too)
            detail = (
                "the venue's updates skipped a sequence number; loading a fresh snapshot "
                f"in {delay:.1f}s (prices from this book are withheld until then)"
            )
            self.status(stream, FeedStatus.RESYNCING, detail, retry_in=delay)
        elif isinstance(exc, ccxt.NetworkError):
            stream.disconnected()
            self._seen[stream] = self._lost
            what = "reconnecting" if streaming else "polling again"
            detail = f"{self._short(exc)}; {what} in {delay:.1f}s (attempt {failures})"
            self.status(stream, FeedStatus.DISCONNECTED, detail, retry_in=delay)
        elif isinstance(exc, ccxt.NotSupported) and streaming:
            self.status(stream, FeedStatus.POLLING, self._polling_detail())
        else:
            self.status(stream, FeedStatus.FAILED, self._detail(exc, stream.kind.value))
            return False
        return True

    async def _poll(self, stream: Stream) -> tuple[Any, bool]:
        return await stream.poll(), True

    async def _next(self, stream: Stream) -> tuple[Any, bool]:
        """The next batch of a watch and whether it can serve as a join point.

        A batch is a join point (what comes after it is live) only when no connection
        was lost while it was awaited: otherwise it may be ccxt's cache of a connection
        that is gone. Any loss since the previous batch leaves the stream gap-pending.
        """
        issued = self._lost
        raw = await self._watch(stream)
        now = self._lost
        if now != self._seen.get(stream):
            stream.disconnected()
        self._seen[stream] = now
        return raw, now == issued

    async def _watch(self, stream: Stream) -> Any:
        """One watch call; while it waits after an outage, ``on_idle`` may ask REST."""
        task = asyncio.ensure_future(stream.watch())
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=stream.idle_timeout())
                if done:
                    return task.result()
                await stream.on_idle()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ccxt.BaseError):
                    await task

    def _delay(self, failures: int) -> float:
        return self.config.reconnect.delay(failures, None)

    def _polling_detail(self) -> str:
        return (
            f"{self.venue} has no websocket for this stream in ccxt; polling REST every "
            f"{self.config.poll_interval:g}s"
        )

    def _short(self, exc: BaseException) -> str:
        return self._detail(exc, "stream").split(" failed: ", 1)[-1]

    def _detail(self, exc: BaseException, what: str) -> str:
        return str(translate(exc, Action(self.venue, what), self._secrets))


def open_live_feed(
    exchange_id: str,
    clock: Clock,
    *,
    name: str | None = None,
    config: LiveFeedConfig | None = None,
    options: Mapping[str, Any] | None = None,
    base_url: str | None = None,
    markets: Iterable[Any] | None = None,
) -> CcxtLiveFeed:
    """A public (credential-free) live feed for ``exchange_id`` that owns its exchange.

    The exchange's known quirks (``VENUE_QUIRKS``) fill in ``watch_params`` and
    ``trade_window_ms`` where ``config`` leaves them empty. ``markets`` restores markets
    saved earlier (no ``load_markets`` request).
    """
    exchange, pro = open_exchange(exchange_id, None, options=options, base_url=base_url)
    if markets is not None:
        exchange.set_markets(list(markets))
    config = config or LiveFeedConfig()
    quirks = VENUE_QUIRKS.get(exchange_id, {})
    config = replace(
        config,
        watch_params=config.watch_params or quirks.get("watch", {}),
        trade_window_ms=config.trade_window_ms or quirks.get("trade_window_ms"),
    )
    return CcxtLiveFeed(exchange, clock, name=name, pro=pro, config=config, owns_exchange=True)


def live_feed_opener(
    clock: Clock, simulator_url: str | None = None
) -> Callable[[str], CcxtLiveFeed]:
    """Open a public live feed by venue name: any ccxt exchange id, plus ``simulator``
    (binance's dialect at ``simulator_url``, spot only), as ``history_sources`` names
    them, so live and stored data of one venue share one name."""
    from task_station.venues.simulator.ccxt_setup import SIMULATOR_EXCHANGE_ID, SPOT_ONLY_OPTIONS

    def open_feed(venue: str) -> CcxtLiveFeed:
        if venue == "simulator":
            if not simulator_url:
                raise ValidationError("no simulator_url is configured for the 'simulator' venue")
            return open_live_feed(
                SIMULATOR_EXCHANGE_ID,
                clock,
                name="simulator",
                options=SPOT_ONLY_OPTIONS,
                base_url=simulator_url,
            )
        return open_live_feed(venue, clock, name=venue)

    return open_feed
