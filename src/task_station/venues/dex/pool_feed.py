"""Live Uniswap V2 pool state from the pairs' own ``Sync`` and ``Swap`` logs.

Why logs and not ``getReserves`` per block: one ``eth_getLogs`` covers every followed
pair and any number of blocks, and a pair emits ``Sync`` with its new reserves on every
mint, burn and swap, so the last ``Sync`` of a block *is* the pool after that block. The
swaps come with it, which a strategy wants anyway (volume, who moved the price).

Two transports behind one async iterator:

* **Polling** (any provider, HTTP above all): every ``poll_interval`` ask
  ``eth_blockNumber``; for each new range of blocks (at most ``max_range`` per request,
  the cap most providers enforce) one ``eth_getLogs`` for all pairs, then the headers of
  the blocks that had events (their timestamps and hashes). Idle polls cost one request.
* **Subscriptions** (a persistent WebSocket provider): ``eth_subscribe`` to ``newHeads``
  and to ``logs`` filtered on the pairs. The head is the clock. Nodes do not order a
  block's log notifications against its head (geth's filter system selects between the
  two channels at random), so by default (``confirm_logs=True``) a head whose bloom may
  hold our events is followed by one ``eth_getLogs`` *by block hash* over the same
  socket, which is exact; blocks whose bloom rules the pairs out cost nothing. With
  ``confirm_logs=False`` the logs that the subscription already delivered before the head
  are used as they are (no request): only for nodes that send a block's logs before its
  head, as the dev chain does. A gap in heads, a parent that does not match, or a
  reconnect falls back to the polling path's range read, so nothing is skipped.

What the feed promises: every block after the start is read exactly once per chain
branch (``last_block`` only moves after a block's updates were yielded); a failing node
is retried with exponential backoff, logged without credentials; a reorg is noticed
through the hashes of the last ``reorg_depth`` processed blocks (a hash that changed
under a recorded height, or a new block whose parent is not the recorded hash). Then
every pair gets a fresh snapshot at the fork point, marked ``reorg=True``, and the new
branch is read from there: block numbers after the fork may come again, as other blocks.

``PoolPriceFeed`` turns those updates into the station's market-data events (a pool
price per block, a trade per swap) for ``marketdata.live``, like any exchange feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from collections.abc import AsyncGenerator, Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import urlsplit

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import AsyncHTTPProvider, AsyncWeb3, WebSocketProvider
from web3.exceptions import BlockNotFound
from web3.providers.persistent import PersistentConnectionProvider
from web3.utils.subscriptions import LogsSubscription, NewHeadsSubscription

from task_station.domain.clock import Clock, SystemClock
from task_station.domain.dex import DexSpec, PoolState, SwapEvent, SyncEvent, Token, check_address
from task_station.domain.errors import ValidationError
from task_station.domain.events import Event
from task_station.domain.market_feed import (
    FeedStatus,
    FeedStatusChanged,
    PoolPriceUpdated,
    Publish,
    StreamKind,
    Subscription,
    TradePrinted,
)
from task_station.domain.orders import OrderSide
from task_station.domain.symbols import DexPair
from task_station.venues.dex.client import UniswapV2Client
from task_station.venues.dex.contracts import abi

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Most providers refuse ``eth_getLogs`` over more blocks than this.
DEFAULT_MAX_RANGE = 500
#: Deeper than any reorg seen on a proof-of-stake chain with finality.
DEFAULT_REORG_DEPTH = 64
#: How long ``aclose`` lets the reader unsubscribe before cancelling it.
_CLOSE_TIMEOUT_S = 2.0

Transport = Literal["auto", "poll", "subscribe"]


@dataclass(frozen=True, slots=True)
class PoolUpdate:
    """One pair after one block: its reserves and the events that made them.

    ``snapshot`` updates carry no events: the first one per pair (read with
    ``getReserves`` at the start block) and, with ``reorg=True``, the one after a chain
    reorganisation (at the fork point), after which a consumer should forget what it
    derived from later blocks.
    """

    pool: PoolState
    swaps: tuple[SwapEvent, ...]
    syncs: tuple[SyncEvent, ...]
    block: int
    timestamp: datetime
    block_hash: str
    snapshot: bool = False
    reorg: bool = False

    @property
    def pair(self) -> str:
        return self.pool.pair


class ChainTracker:
    """Hashes of recently processed blocks: how a reorg is noticed and located.

    Pure bookkeeping (no I/O) so that the rules are testable without a node that can
    reorganise. Heights may be sparse (a polled range records only the blocks it read
    headers of); a fork point found among them is then conservative: a few blocks more
    than strictly needed are read again.
    """

    def __init__(self, depth: int = DEFAULT_REORG_DEPTH) -> None:
        if depth < 1:
            raise ValidationError("reorg depth must be at least one block")
        self.depth = depth
        self._hashes: dict[int, str] = {}

    def record(self, number: int, block_hash: str) -> None:
        self._hashes[number] = block_hash.lower()
        floor = number - self.depth
        for old in [n for n in self._hashes if n <= floor]:
            del self._hashes[old]

    def hash_of(self, number: int) -> str | None:
        return self._hashes.get(number)

    def extends(self, number: int, parent_hash: str) -> bool:
        """Whether block ``number`` with this parent builds on what was processed.

        An unknown parent height says nothing against it (sparse records).
        """
        known = self._hashes.get(number - 1)
        return known is None or known == parent_hash.lower()

    def newest_first(self) -> list[int]:
        return sorted(self._hashes, reverse=True)

    def fork_point(self, canonical: Mapping[int, str | None]) -> int | None:
        """The highest recorded height whose hash the node still has, given its hashes.

        ``None`` when no recorded block is canonical any more: a reorg deeper than
        ``depth``.
        """
        for number in self.newest_first():
            current = canonical.get(number)
            if current is not None and current.lower() == self._hashes[number]:
                return number
        return None

    def rewind(self, fork: int) -> None:
        """Forget the blocks after ``fork``: they belong to an abandoned branch."""
        for number in [n for n in self._hashes if n > fork]:
            del self._hashes[number]


def redact_url(url: str) -> str:
    """``scheme://host[:port]`` only: user info, API keys in paths and queries stay out."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<url>"
    tail = "/***" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{tail}"


_URL = re.compile(r"(?i)\b(?:https?|wss?)://[^\s'\"<>]+")


def scrub(text: str) -> str:
    """Redact every URL inside an error message before it reaches a log."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


def bloom_may_contain(bloom: bytes | int, item: bytes) -> bool:
    """The Ethereum 2048-bit log bloom test (false positives possible, never negatives)."""
    value = bloom if isinstance(bloom, int) else int.from_bytes(bytes(bloom), "big")
    digest = keccak(item)
    for i in (0, 2, 4):
        bit = ((digest[i] << 8) | digest[i + 1]) & 2047
        if not (value >> bit) & 1:
            return False
    return True


class _Stopped(Exception):
    """``stop()`` was called while the feed was waiting."""


class _Inconsistent(Exception):
    """Answers that do not fit together: the chain moved between two requests."""


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value).lower()


def _when(timestamp: int) -> datetime:
    return datetime.fromtimestamp(int(timestamp), tz=UTC)


class PoolFeed:
    """Follows Uniswap V2 pairs and yields a ``PoolUpdate`` per pair per block with events.

    ``async with PoolFeed(client, [pair]) as feed: async for update in feed: ...``: the
    first updates are the snapshots at the start block, one per pair. ``stop()`` from any
    task ends the iteration once the reader reaches its next wait; ``live`` is set while
    it follows the head. The feed reads through ``client`` (its web3 and token cache) and
    leaves a caller's provider as it found it (a WebSocket one must be connected); the
    ``over_http`` / ``over_websocket`` feeds own theirs and close them on exit.
    """

    def __init__(
        self,
        client: UniswapV2Client,
        pairs: Iterable[str],
        *,
        start_block: int | None = None,
        transport: Transport = "auto",
        poll_interval: float = 1.0,
        max_range: int = DEFAULT_MAX_RANGE,
        reorg_depth: int = DEFAULT_REORG_DEPTH,
        max_backoff: float = 30.0,
        confirm_logs: bool = True,
        buffer: int = 10_000,
    ) -> None:
        self.client = client
        self.w3: AsyncWeb3[Any] = client.w3
        self.pairs: tuple[ChecksumAddress, ...] = tuple(
            dict.fromkeys(client.checksum(p) for p in pairs)
        )
        if not self.pairs:
            raise ValidationError("a pool feed needs at least one pair")
        if poll_interval <= 0 or max_backoff <= 0:
            raise ValidationError("poll interval and backoff must be positive")
        if max_range < 1:
            raise ValidationError("max_range must be at least one block")
        persistent = isinstance(self.w3.provider, PersistentConnectionProvider)
        if transport == "subscribe" and not persistent:
            raise ValidationError("subscriptions need a persistent (WebSocket) provider")
        self.subscribing = transport == "subscribe" or (transport == "auto" and persistent)
        self.poll_interval = poll_interval
        self.max_range = max_range
        self.max_backoff = max_backoff
        self.confirm_logs = confirm_logs
        self._start_block = start_block
        self._tracker = ChainTracker(reorg_depth)
        self._pools: dict[str, PoolState] = {}
        self._last = -1
        events = self.w3.eth.contract(abi=abi("pair")).events
        self._swap_event = events.Swap()
        self._sync_event = events.Sync()
        self._swap_topic = _hex(events.Swap.topic)
        self._sync_topic = _hex(events.Sync.topic)
        self._stopping = False
        self._stop_signal: asyncio.Future[None] | None = None
        self._owns_provider = False
        self._producer: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[PoolUpdate] = asyncio.Queue(maxsize=buffer)
        self._provider_closed = False
        #: Set while the feed follows the head (subscribed or polling, caught up).
        self.live = asyncio.Event()
        self._needs_reconnect = False
        self._header_reads = asyncio.Semaphore(8)  # polite to rate-limited providers

    # -- construction for callers that only have a URL --

    @classmethod
    def over_http(
        cls, rpc_url: str, dex: DexSpec, pairs: Iterable[str], *, timeout: float = 10.0, **kw: Any
    ) -> PoolFeed:
        """A polling feed that owns its HTTP provider (closed by ``aclose``/``async with``).

        web3's own retries are off: the feed retries whole polls with its backoff.
        """
        if not rpc_url.startswith(("http://", "https://")):
            raise ValidationError(f"{redact_url(rpc_url)} is not an HTTP(S) RPC URL")
        provider = AsyncHTTPProvider(
            rpc_url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
        )
        feed = cls(UniswapV2Client(AsyncWeb3(provider), dex), pairs, **kw)
        feed._owns_provider = True
        return feed

    @classmethod
    def over_websocket(cls, ws_url: str, dex: DexSpec, pairs: Iterable[str], **kw: Any) -> PoolFeed:
        """A subscribing feed that owns its WebSocket (connected by ``async with``)."""
        if not ws_url.startswith(("ws://", "wss://")):
            raise ValidationError(f"{redact_url(ws_url)} is not a WebSocket RPC URL")
        # One connection attempt per try: the feed's own backoff paces reconnects.
        provider = WebSocketProvider(ws_url, max_connection_retries=1)
        feed = cls(UniswapV2Client(AsyncWeb3(provider), dex), pairs, **kw)
        feed._owns_provider = True
        return feed

    # -- lifecycle --

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Begin reading in a background task (``async with`` and iteration call it).

        The reader runs ahead of the consumer (into a bounded queue) so subscriptions
        are live and polls keep their pace while a strategy is busy with an update.
        """
        if self._producer is not None:
            return
        # An owned socket is opened by the reader, under its retries: a node that is
        # down when the bot starts is waited for, not an error.
        self._needs_reconnect = self._owns_provider and self.subscribing
        self._stop_signal = asyncio.get_running_loop().create_future()
        if self._stopping:
            self._stop_signal.set_result(None)
        self._producer = asyncio.create_task(self._produce(), name="pool-feed")

    async def stop(self) -> None:
        """End the stream at the reader's next wait (a poll, a backoff, a node answer)."""
        self._stopping = True
        if self._stop_signal is not None and not self._stop_signal.done():
            self._stop_signal.set_result(None)

    async def aclose(self) -> None:
        """Stop, wait for the reader to leave (unsubscribing), close an owned provider."""
        await self.stop()
        producer = self._producer
        if producer is not None:
            if not producer.done():
                await asyncio.wait({producer}, timeout=_CLOSE_TIMEOUT_S)
            if not producer.done():
                producer.cancel()
                await asyncio.wait({producer})
            if not producer.cancelled():
                producer.exception()  # retrieved; the consumer saw it, if it was reading
        if self._owns_provider and not self._provider_closed:
            self._provider_closed = True
            await self.w3.provider.disconnect()

    @property
    def last_block(self) -> int:
        """The last block whose updates were all read and queued (-1 before the start)."""
        return self._last

    @property
    def pools(self) -> dict[str, PoolState]:
        """The latest state of each followed pair."""
        return dict(self._pools)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> PoolUpdate:
        if self._producer is None:
            await self.start()
        producer = self._producer
        assert producer is not None
        while True:
            if not self._queue.empty():
                return self._queue.get_nowait()
            if producer.done():
                error = None if producer.cancelled() else producer.exception()
                if error is not None:
                    raise error
                raise StopAsyncIteration
            getter = asyncio.ensure_future(self._queue.get())
            try:
                waiting: set[asyncio.Future[Any]] = {getter, producer}
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not getter.done():
                    getter.cancel()
                    await asyncio.wait({getter})
            if not getter.cancelled():
                return getter.result()

    # -- the stream --

    async def _produce(self) -> None:
        async with contextlib.aclosing(self._run()) as stream:
            async for update in stream:
                try:
                    await self._guard(self._queue.put(update))
                except _Stopped:
                    return

    async def _run(self) -> AsyncGenerator[PoolUpdate, None]:
        try:
            for update in await self._retrying("reading the start snapshot", self._snapshot):
                yield update
            follow = self._follow_subscriptions() if self.subscribing else self._follow_polls()
            async with contextlib.aclosing(follow) as updates:
                async for update in updates:
                    yield update
        except _Stopped:
            return
        finally:
            self.live.clear()

    async def _snapshot(self) -> list[PoolUpdate]:
        start = self._start_block
        if start is None:
            start = int(await self._guard(self.w3.eth.block_number))
        updates = await self._snapshots_at(start, reorg=False)
        self._last = start
        return updates

    async def _snapshots_at(self, number: int, *, reorg: bool) -> list[PoolUpdate]:
        header = await self._guard(self.w3.eth.get_block(number))
        block_hash = _hex(header["hash"])
        updates = []
        for pair in self.pairs:
            pool = await self._guard(self.client.pool(pair, block=number))
            self._pools[pair] = pool
            updates.append(
                PoolUpdate(
                    pool=pool,
                    swaps=(),
                    syncs=(),
                    block=number,
                    timestamp=_when(header["timestamp"]),
                    block_hash=block_hash,
                    snapshot=True,
                    reorg=reorg,
                )
            )
        self._tracker.record(number, block_hash)
        return updates

    # -- polling --

    async def _follow_polls(self) -> AsyncGenerator[PoolUpdate, None]:
        failures = 0
        while True:
            try:
                async with contextlib.aclosing(self._poll_once()) as updates:
                    async for update in updates:
                        yield update
            except _Stopped:
                raise
            except Exception as exc:
                self.live.clear()
                failures += 1
                delay = self._backoff(failures)
                self._log_failure("polling", exc, failures, delay)
            else:
                self.live.set()
                failures = 0
                delay = self.poll_interval
            await self._sleep(delay)

    async def _poll_once(self, *, check_fork: bool = False) -> AsyncGenerator[PoolUpdate, None]:
        """Read up to the node's head; ``check_fork`` also when the height did not move."""
        head = int(await self._guard(self.w3.eth.block_number))
        if head < self._last or (head == self._last and not check_fork):
            # Idle (one request), or a node behind the one we read before (a load
            # balancer): a reorg onto a shorter branch shows once the chain grows past.
            return
        for update in await self._check_fork():
            yield update
        while self._last < head:
            to = min(head, self._last + self.max_range)
            updates = await self._read_range(self._last + 1, to)
            for i, update in enumerate(updates):
                # ``last_block`` follows the yields: a block counts once its last update is out
                done = i + 1 == len(updates) or updates[i + 1].block != update.block
                self._last = update.block if done else update.block - 1
                yield update
            self._last = to

    async def _header(self, number: int) -> Mapping[str, Any] | None:
        try:
            header: Mapping[str, Any] = await self._guard(self.w3.eth.get_block(number))
        except BlockNotFound:
            return None
        return header

    async def _read_header(self, number: int) -> Any:
        async with self._header_reads:
            return await self.w3.eth.get_block(number)

    async def _check_fork(self) -> list[PoolUpdate]:
        """Snapshots at the fork point if the last processed block left the chain."""
        recorded = self._tracker.hash_of(self._last)
        if recorded is None:
            return []
        header = await self._header(self._last)
        if header is None:
            raise _Inconsistent(f"the node does not know block {self._last} yet")
        if _hex(header["hash"]) == recorded:
            return []
        canonical: dict[int, str | None] = {self._last: _hex(header["hash"])}
        fork = None
        for number in self._tracker.newest_first():
            if number not in canonical:
                found = await self._header(number)
                canonical[number] = _hex(found["hash"]) if found is not None else None
            fork = self._tracker.fork_point(canonical)
            if fork is not None:
                break
        if fork is None:
            oldest = min(self._tracker.newest_first())
            fork = max(oldest - 1, 0)
            log.error(
                "pool feed: reorg deeper than %d blocks; re-reading from block %d",
                self._tracker.depth,
                fork,
            )
        log.warning("pool feed: chain reorganised after block %d; re-reading", fork)
        self._tracker.rewind(fork)
        self._last = fork
        return await self._snapshots_at(fork, reorg=True)

    async def _read_range(self, first: int, last: int) -> list[PoolUpdate]:
        """Every update of blocks ``first..last`` from one ``eth_getLogs`` and their headers."""
        logs = await self._guard(
            self.w3.eth.get_logs(
                {
                    "fromBlock": first,
                    "toBlock": last,
                    "address": list(self.pairs),
                    "topics": [[self._swap_topic, self._sync_topic]],
                }
            )
        )
        by_block: dict[int, list[Any]] = {}
        for entry in sorted(logs, key=lambda e: (int(e["blockNumber"]), int(e["logIndex"]))):
            by_block.setdefault(int(entry["blockNumber"]), []).append(entry)
        numbers = sorted(set(by_block) | {last})
        headers = await self._guard(asyncio.gather(*(self._read_header(n) for n in numbers)))
        header_of = {int(h["number"]): h for h in headers}
        for number, entries in by_block.items():
            block_hash = _hex(header_of[number]["hash"])
            if any(_hex(e["blockHash"]) != block_hash for e in entries):
                raise _Inconsistent(f"block {number} changed while it was being read")
        if first in header_of and not self._tracker.extends(
            first, _hex(header_of[first]["parentHash"])
        ):
            raise _Inconsistent(f"block {first} does not build on the block read before it")
        updates: list[PoolUpdate] = []
        for number in numbers:
            header = header_of[number]
            updates.extend(
                self._block_updates(
                    number, _hex(header["hash"]), header["timestamp"], by_block.get(number, [])
                )
            )
            self._tracker.record(number, _hex(header["hash"]))
        return updates

    def _block_updates(
        self, number: int, block_hash: str, timestamp: int, entries: Sequence[Any]
    ) -> list[PoolUpdate]:
        """One update per pair that had events in this block, in the order of its first log."""
        per_pair: dict[ChecksumAddress, tuple[list[SwapEvent], list[SyncEvent]]] = {}
        for entry in sorted(entries, key=lambda e: int(e["logIndex"])):
            pair = self.client.checksum(str(entry["address"]))
            if pair not in self.pairs or not entry["topics"]:
                continue
            swaps, syncs = per_pair.setdefault(pair, ([], []))
            topic = _hex(entry["topics"][0])
            tx_hash = _hex(entry["transactionHash"])
            index = int(entry["logIndex"])
            if topic == self._sync_topic:
                args = self._sync_event.process_log(entry)["args"]
                syncs.append(
                    SyncEvent(
                        pair=pair,
                        block=number,
                        tx_hash=tx_hash,
                        log_index=index,
                        reserve0=int(args["reserve0"]),
                        reserve1=int(args["reserve1"]),
                    )
                )
            elif topic == self._swap_topic:
                args = self._swap_event.process_log(entry)["args"]
                swaps.append(
                    SwapEvent(
                        pair=pair,
                        block=number,
                        tx_hash=tx_hash,
                        log_index=index,
                        sender=str(args["sender"]),
                        to=str(args["to"]),
                        amount0_in=int(args["amount0In"]),
                        amount1_in=int(args["amount1In"]),
                        amount0_out=int(args["amount0Out"]),
                        amount1_out=int(args["amount1Out"]),
                    )
                )
        updates = []
        for pair, (swaps, syncs) in per_pair.items():
            pool = self._pools[pair]
            if syncs:
                pool = dataclasses.replace(
                    pool, reserve0=syncs[-1].reserve0, reserve1=syncs[-1].reserve1, block=number
                )
            else:
                pool = dataclasses.replace(pool, block=number)
            self._pools[pair] = pool
            updates.append(
                PoolUpdate(
                    pool=pool,
                    swaps=tuple(swaps),
                    syncs=tuple(syncs),
                    block=number,
                    timestamp=_when(timestamp),
                    block_hash=block_hash,
                )
            )
        return updates

    # -- subscriptions --

    async def _follow_subscriptions(self) -> AsyncGenerator[PoolUpdate, None]:
        failures = 0
        while True:
            try:
                await self._reconnect_if_needed()
                async with contextlib.aclosing(self._subscribed()) as updates:
                    async for update in updates:
                        failures = 0
                        yield update
                raise ConnectionError("the node closed the subscription stream")
            except _Stopped:
                raise
            except Exception as exc:
                self.live.clear()
                self._needs_reconnect = True
                failures += 1
                delay = self._backoff(failures)
                self._log_failure("following subscriptions", exc, failures, delay)
            await self._sleep(delay)

    async def _reconnect_if_needed(self) -> None:
        """A new socket after a failure: web3 does not reconnect a dropped one by itself."""
        provider = self.w3.provider
        if self._needs_reconnect and isinstance(provider, PersistentConnectionProvider):
            await self._guard(provider.disconnect())
            await self._guard(provider.connect())
        self._needs_reconnect = False

    async def _subscribed(self) -> AsyncGenerator[PoolUpdate, None]:
        """One connection's life: subscribe, catch up by range reads, then follow heads."""
        manager = self.w3.subscription_manager
        heads = NewHeadsSubscription()
        logs = LogsSubscription(
            address=list(self.pairs),
            topics=[[self._swap_topic, self._sync_topic]],
        )
        await self._guard(manager.subscribe([heads, logs]))
        try:
            # What was mined before the subscriptions began (or while disconnected).
            for update in await self._catch_up(check_fork=False):
                yield update
            self.live.set()
            pending: dict[str, list[Any]] = {}  # block hash -> its logs, as delivered
            stream = self.w3.socket.process_subscriptions()
            while True:
                try:
                    message = await self._guard(stream.__anext__())
                except StopAsyncIteration:
                    return
                result = message["result"]
                if message["subscription"] == logs.id:
                    self._note_log(pending, result)
                elif message["subscription"] == heads.id:
                    for update in await self._on_head(result, pending):
                        yield update
        finally:
            await self._unsubscribe(heads, logs)

    def _note_log(self, pending: dict[str, list[Any]], entry: Mapping[str, Any]) -> None:
        block_hash = _hex(entry["blockHash"])
        if entry.get("removed"):
            kept = [e for e in pending.get(block_hash, []) if e["logIndex"] != entry["logIndex"]]
            pending[block_hash] = kept
        elif int(entry["blockNumber"]) > self._last:
            pending.setdefault(block_hash, []).append(entry)

    async def _on_head(
        self, head: Mapping[str, Any], pending: dict[str, list[Any]]
    ) -> list[PoolUpdate]:
        number = int(head["number"])
        block_hash = _hex(head["hash"])
        if number <= self._last:
            known = self._tracker.hash_of(number)
            if known is None or known == block_hash:
                return []  # read already (by a catch-up)
            return await self._catch_up()  # another branch at a height we read
        if number != self._last + 1 or not self._tracker.extends(number, _hex(head["parentHash"])):
            return await self._catch_up()  # a gap, or a parent we did not read
        entries = pending.pop(block_hash, [])
        for stale in [
            h for h, es in pending.items() if not es or int(es[0]["blockNumber"]) <= number
        ]:
            del pending[stale]
        if not self._bloom_may_hold_events(head.get("logsBloom")):
            entries = []
        elif self.confirm_logs or not entries:
            entries = list(
                await self._guard(
                    self.w3.eth.get_logs(
                        {
                            "blockHash": head["hash"],
                            "address": list(self.pairs),
                            "topics": [[self._swap_topic, self._sync_topic]],
                        }
                    )
                )
            )
        updates = self._block_updates(number, block_hash, int(head["timestamp"]), entries)
        self._tracker.record(number, block_hash)
        self._last = number
        return updates

    async def _catch_up(self, *, check_fork: bool = True) -> list[PoolUpdate]:
        """The exact path (fork check and range reads), as a poll would take it."""
        async with contextlib.aclosing(self._poll_once(check_fork=check_fork)) as updates:
            return [update async for update in updates]

    def _bloom_may_hold_events(self, bloom: Any) -> bool:
        if bloom is None:
            return True  # a node that leaves the bloom out: ask
        topics = (bytes.fromhex(self._swap_topic[2:]), bytes.fromhex(self._sync_topic[2:]))
        return any(
            bloom_may_contain(bloom, bytes.fromhex(pair[2:]))
            and any(bloom_may_contain(bloom, t) for t in topics)
            for pair in self.pairs
        )

    async def _unsubscribe(self, *subscriptions: Any) -> None:
        """Leave a shared connection clean; on a dead one there is nothing to undo."""
        manager = self.w3.subscription_manager
        live = [s for s in subscriptions if s in manager.subscriptions]
        if not live:
            return
        try:
            await asyncio.wait_for(manager.unsubscribe(live), 2.0)
        except Exception as exc:
            log.debug("pool feed: unsubscribing failed (%s)", type(exc).__name__)
            for sub in live:  # the connection is gone: so are they, server side
                if sub in manager.subscriptions:
                    manager._remove_subscription(sub)

    # -- waiting, retrying, logging --

    async def _guard(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` unless ``stop()`` comes first (then raise ``_Stopped``)."""
        signal = self._stop_signal
        if self._stopping or signal is None:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()  # never started: no "never awaited" warning
            raise _Stopped
        task = asyncio.ensure_future(awaitable)
        try:
            waiting: set[asyncio.Future[Any]] = {task, signal}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: asyncio must not report it as lost
        if task.cancelled():
            raise _Stopped
        return task.result()

    async def _sleep(self, seconds: float) -> None:
        signal = self._stop_signal
        if self._stopping or signal is None:
            raise _Stopped
        await asyncio.wait({signal}, timeout=seconds)
        if self._stopping:
            raise _Stopped

    async def _retrying(self, what: str, step: Any) -> Any:
        failures = 0
        while True:
            try:
                await self._reconnect_if_needed()
                return await step()
            except _Stopped:
                raise
            except Exception as exc:
                self._needs_reconnect = self.subscribing
                failures += 1
                delay = self._backoff(failures)
                self._log_failure(what, exc, failures, delay)
                await self._sleep(delay)

    def _backoff(self, failures: int) -> float:
        return float(min(self.max_backoff, self.poll_interval * 2**failures))

    def _log_failure(self, what: str, exc: BaseException, failures: int, delay: float) -> None:
        endpoint = str(getattr(self.w3.provider, "endpoint_uri", "") or "")
        log.warning(
            "pool feed: %s at %s failed (%s: %s); attempt %d, retrying in %.2fs",
            what,
            redact_url(endpoint) if endpoint else "the node",
            type(exc).__name__,
            scrub(str(exc))[:300],
            failures,
            delay,
        )


# -- market-data events for the station's live data (``MarketDataFeed``) ------------------


def checksum_address(value: str) -> str:
    """The EIP-55 form of an EVM address; a mixed-case address must already be it.

    All-lower and all-upper hex carry no checksum and are accepted; mixed case that
    does not match is refused (a typo in one character of a copied address).
    """
    check_address(value)
    fixed = to_checksum_address(value)
    body = value[2:]
    if body != body.lower() and body != body.upper() and value != fixed:
        raise ValidationError(
            f"address {value} fails its EIP-55 checksum (a mistyped character?); "
            f"copy it again from the block explorer"
        )
    return str(fixed)


def swap_trade(
    update: PoolUpdate, swap: SwapEvent, base: Token, quote: Token
) -> tuple[OrderSide, Decimal, Decimal]:
    """``(taker side, base amount, quote amount)`` of a swap, from the base's view."""
    base_is_0 = update.pool.token0.address.lower() == base.address.lower()
    base_in, base_out = (
        (swap.amount0_in, swap.amount0_out) if base_is_0 else (swap.amount1_in, swap.amount1_out)
    )
    quote_in, quote_out = (
        (swap.amount1_in, swap.amount1_out) if base_is_0 else (swap.amount0_in, swap.amount0_out)
    )
    if base_out > base_in:  # base left the pool: the taker bought it
        return (
            OrderSide.BUY,
            base.from_units(base_out - base_in),
            quote.from_units(quote_in - quote_out),
        )
    return (
        OrderSide.SELL,
        base.from_units(base_in - base_out),
        quote.from_units(quote_out - quote_in),
    )


class PoolPriceFeed:
    """Uniswap V2 pools as ``MarketDataFeed`` events, read through a ``PoolFeed``.

    Each pair is registered as a market (``DexPair``: its pool, base and quote
    addresses and ``venue:BASE/QUOTE``). A ``pool`` subscription publishes
    ``PoolPriceUpdated`` after every block that moved the pool (and the snapshot at the
    start); a ``trades`` subscription publishes each swap as a ``TradePrinted`` (id
    ``tx_hash:log_index``, price = quote paid or received per base, to 28 significant
    digits). A block's swaps come before the pool price they left. A chain reorganisation is reported as ``RESYNCING`` and followed by the
    pool's state at the fork point.
    """

    def __init__(
        self, feed: PoolFeed, pairs: Iterable[DexPair], *, venue: str, clock: Clock | None = None
    ) -> None:
        self._feed = feed
        self.venue = venue
        self._clock: Clock = clock or SystemClock()
        self._pairs: dict[str, DexPair] = {}
        for pair in pairs:
            if pair.symbol.venue != venue:
                raise ValidationError(f"{pair.symbol} is not a market of {venue}")
            self._pairs[pair.pair_address.lower()] = pair
        self._wanted: set[tuple[StreamKind, str]] = set()
        self._publish: Publish | None = None

    def subscribe(self, subscription: Subscription) -> None:
        if subscription.kind not in (StreamKind.POOL, StreamKind.TRADES):
            raise ValidationError(f"{self.venue} pools offer pool prices and swaps (trades) only")
        if all(p.symbol.pair != subscription.symbol for p in self._pairs.values()):
            known = ", ".join(sorted(p.symbol.pair for p in self._pairs.values()))
            raise ValidationError(
                f"{self.venue} follows no pool for {subscription.symbol!r} (known: {known})"
            )
        self._wanted.add((subscription.kind, subscription.symbol))

    async def run(self, publish: Publish) -> None:
        self._publish = publish
        connected: set[str] = set()
        try:
            async for update in self._feed:
                pair = self._pairs.get(update.pool.pair.lower())
                if pair is None:
                    continue
                if pair.pair_address not in connected:
                    connected.add(pair.pair_address)
                    self._status(pair, FeedStatus.CONNECTED, f"following from block {update.block}")
                self._on_update(pair, update)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the feed retries node errors itself: this is fatal
            for pair in self._pairs.values():
                self._status(pair, FeedStatus.FAILED, f"the pool feed stopped: {scrub(str(exc))}")
        finally:
            self._publish = None

    async def stop(self) -> None:
        await self._feed.aclose()

    def _on_update(self, pair: DexPair, update: PoolUpdate) -> None:
        base = update.pool.token(pair.base_address)
        quote = update.pool.token(pair.quote_address)
        symbol = pair.symbol.pair
        if update.reorg:
            detail = f"chain reorganisation: back to block {update.block}; later prices replaced"
            self._status(pair, FeedStatus.RESYNCING, detail)
        if (StreamKind.TRADES, symbol) in self._wanted:
            for swap in update.swaps:
                side, amount, cost = swap_trade(update, swap, base, quote)
                if amount <= 0 or cost <= 0:
                    continue  # not a trade: only one token moved (a donation, a flash loan)
                self._emit(
                    TradePrinted(
                        ts=update.timestamp, venue=self.venue, symbol=symbol,
                        trade_id=f"{swap.tx_hash}:{swap.log_index}", price=cost / amount,
                        amount=amount, side=side,
                    )
                )  # fmt: skip
        if (StreamKind.POOL, symbol) in self._wanted and update.pool.reserve0 > 0:
            r_base, r_quote = update.pool.reserves_for(base.address)
            self._emit(
                PoolPriceUpdated(
                    ts=update.timestamp, venue=self.venue, symbol=symbol, pool=pair.pair_address,
                    price=update.pool.mid_price(base), base_reserve=base.from_units(r_base),
                    quote_reserve=quote.from_units(r_quote), block=update.block,
                    reorg=update.reorg,
                )
            )  # fmt: skip

    def _status(self, pair: DexPair, status: FeedStatus, detail: str) -> None:
        for kind, symbol in self._wanted:
            if symbol == pair.symbol.pair:
                self._emit(
                    FeedStatusChanged(
                        ts=self._clock.now(), venue=self.venue, symbol=symbol, stream=kind,
                        status=status, detail=detail,
                    )
                )  # fmt: skip

    def _emit(self, event: Event) -> None:
        if self._publish is not None:
            try:
                self._publish(event)
            except Exception:
                log.exception("%s: publishing %s failed", self.venue, type(event).__name__)
