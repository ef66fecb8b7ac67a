"""``CcxtVenue``: any ccxt exchange behind the project's ``Venue`` protocol.

Reads are retried with back-off; order creation never is. When a create fails in a way
that leaves its outcome unknown (timeout, dropped connection), the venue asks the
exchange what became of the client order id before reporting anything.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt

from task_station.domain.balances import Balance
from task_station.domain.candles import Candle
from task_station.domain.clock import Clock, datetime_to_ms
from task_station.domain.errors import NotFoundError, ValidationError, VenueError
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Fill, Order, OrderStatus
from task_station.venues.base import (
    FillReport,
    OrderAcceptedReport,
    OrderCanceledReport,
    OrderRejectedReport,
    VenueListener,
    VenueOrderState,
    VenueReport,
)
from task_station.venues.ccxt_cex import convert, logsafe, streams
from task_station.venues.ccxt_cex.capabilities import capabilities_of
from task_station.venues.ccxt_cex.errors import (
    ORDER_REFUSED,
    UNKNOWN_OUTCOME,
    Action,
    rejection_reason,
    translate,
)
from task_station.venues.ccxt_cex.requests import OrderRequest, Rounder, build_request
from task_station.venues.ccxt_cex.resolve import find_by_client_id
from task_station.venues.ccxt_cex.retry import RetryPolicy, with_retries
from task_station.venues.ccxt_cex.types import BookSnapshot, PublicTrade, Ticker

log = logging.getLogger(__name__)

#: Trades asked for per request when paging through the account's executions.
TRADES_PAGE = 500
Raw = dict[str, Any]


class CcxtVenue:
    """A spot account on one ccxt exchange (REST through async ccxt, streams through ccxt.pro)."""

    def __init__(
        self,
        exchange: Any,
        clock: Clock,
        *,
        name: str | None = None,
        secrets: Iterable[str] = (),
        retry: RetryPolicy | None = None,
        pro: bool = False,
        poll_interval: float = 2.0,
    ) -> None:
        self._ex = exchange
        self._clock = clock
        self.name: str = name or str(exchange.id)
        self.capabilities, self.features = capabilities_of(
            exchange.has, getattr(exchange, "features", None), pro=pro
        )
        self._secrets = tuple(s for s in secrets if s)
        logsafe.register(self._secrets)
        self._retry = retry or RetryPolicy()
        self._poll = poll_interval
        self._listener: VenueListener | None = None
        self._cids: dict[str, str] = {}  # venue order id -> client order id
        self._seen: set[str] = set()  # trade ids already reported

    # -- plumbing ---------------------------------------------------------------

    def set_listener(self, listener: VenueListener) -> None:
        self._listener = listener

    def _emit(self, report: VenueReport) -> None:
        if self._listener is not None:
            self._listener.on_venue_report(report)

    def action(self, what: str, symbol: str | None = None, **more: Any) -> Action:
        return Action(self.name, what, symbol, **more)

    def _order_action(self, what: str, order: Order) -> Action:
        amount = order.quantity if order.quantity is not None else order.quote_quantity
        price = order.price if order.price is not None else order.trigger_price
        return Action(self.name, what, order.symbol, order.side.value, amount, price)

    async def _read(self, action: Action, call: Callable[[], Awaitable[Any]]) -> Any:
        """A retried read whose ccxt errors come out translated."""
        try:
            return await with_retries(
                call, self._retry, lambda: self._ex.last_response_headers, action.describe()
            )
        except ccxt.BaseError as exc:
            raise translate(exc, action, self._secrets) from None

    # -- markets ----------------------------------------------------------------

    async def load_markets(self) -> None:
        """Load the exchange's markets once; later calls use the cache."""
        if not self._ex.markets:
            await self._read(self.action("load markets"), self._ex.load_markets)

    def set_markets(self, markets: Mapping[str, Any] | list[Any]) -> None:
        """Restore markets saved from an earlier ``load_markets`` (no network)."""
        values = list(markets.values()) if isinstance(markets, Mapping) else list(markets)
        self._ex.set_markets(values)

    @property
    def markets(self) -> dict[str, Any]:
        return dict(self._ex.markets or {})

    def instrument(self, symbol: str) -> Instrument:
        market = (self._ex.markets or {}).get(symbol)
        if market is None:
            raise ValidationError(
                f"{self.name} has no market {symbol!r} (or its markets are not loaded yet)"
            )
        return convert.instrument_from_market(self.name, market, int(self._ex.precisionMode))

    # -- orders -----------------------------------------------------------------

    async def submit_order(self, order: Order) -> None:
        """Send ``order``; refusals and unknown outcomes end as reports, never retries."""
        await self.load_markets()
        try:
            request = build_request(
                self.name,
                order,
                self.instrument(order.symbol),
                Rounder(self._ex),
                self.capabilities,
                self.features,
            )
        except ValidationError as exc:
            self._emit(OrderRejectedReport(order.client_order_id, str(exc), self._clock.now()))
            return
        try:
            raw = await self._create(request)
        except UNKNOWN_OUTCOME as exc:
            log.warning(
                "%s: outcome unknown (%s); asking the exchange",
                self._order_action("create", order).describe(),
                type(exc).__name__,
            )
            found = await self._resolve(order)
            if found is None:
                reason = f"not placed: {rejection_reason(exc, self._secrets)}"
                self._emit(OrderRejectedReport(order.client_order_id, reason, self._clock.now()))
                return
            raw = found
        except ORDER_REFUSED as exc:
            reason = rejection_reason(exc, self._secrets)
            self._emit(OrderRejectedReport(order.client_order_id, reason, self._clock.now()))
            return
        except ccxt.BaseError as exc:
            raise translate(exc, self._order_action("create", order), self._secrets) from None
        await self._report(order, raw, accepted=True)

    async def _create(self, r: OrderRequest) -> Raw:
        if r.cost is not None:
            result = await self._ex.create_market_buy_order_with_cost(
                r.symbol, str(r.cost), r.params
            )
        else:
            price = str(r.price) if r.price is not None else None
            result = await self._ex.create_order(
                r.symbol, r.type, r.side, str(r.amount), price, r.params
            )
        return dict(result)

    async def _resolve(self, order: Order) -> Raw | None:
        """What became of ``order`` after a create with an unknown outcome."""
        try:
            return await self._lookup(order, "resolve")
        except ccxt.BaseError as exc:
            raise VenueError(
                f"{self._order_action('create', order).describe()}: outcome unknown and the "
                f"exchange cannot be asked ({type(exc).__name__}); reconciliation will settle "
                "it, do not resend"
            ) from None

    async def _report(self, order: Order, raw: Raw, *, accepted: bool) -> None:
        """Emit what ``raw`` (a ccxt order) says about ``order``."""
        now = self._clock.now()
        status = convert.order_status(raw)
        if status is OrderStatus.REJECTED:
            self._emit(OrderRejectedReport(order.client_order_id, "rejected by the exchange", now))
            return
        venue_id = str(raw.get("id") or "")
        self._cids[venue_id] = order.client_order_id
        if accepted:
            self._emit(OrderAcceptedReport(order.client_order_id, venue_id, now))
        fills = [f for f in await self._fills_of(order, raw) if f.trade_id not in self._seen]
        for i, fill in enumerate(fills):
            self._seen.add(fill.trade_id)
            done = status is OrderStatus.FILLED and i == len(fills) - 1
            self._emit(FillReport(fill, order_complete=done))
        if status in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
            self._emit(OrderCanceledReport(order.client_order_id, now, status.value))

    async def _fills_of(self, order: Order, raw: Raw) -> list[Fill]:
        when = convert.timestamp(raw.get("timestamp"), self._clock.now())
        trades = raw.get("trades") or []
        if trades:
            return [
                convert.fill_from_trade(t, order.client_order_id, when, order.bot_id, order.side)
                for t in trades
            ]
        if convert.dec0(raw.get("filled")) == 0 or not self.features.fetch_my_trades:
            return []
        return await self.fetch_fills(order, venue_order_id=str(raw.get("id")))

    async def sync_order(self, order: Order) -> None:
        """Poll ``order`` and report fills and cancels not reported yet."""
        raw = await self._fetch_raw_order(order)
        if raw is not None:
            await self._report(order, raw, accepted=False)

    async def cancel_order(self, order: Order) -> None:
        params = {} if order.venue_order_id else {"clientOrderId": order.client_order_id}
        action = self._order_action("cancel", order)
        try:
            await self._read(
                action,
                lambda: self._ex.cancel_order(order.venue_order_id, order.symbol, params),
            )
        except NotFoundError:  # it filled or was canceled meanwhile: find out which
            log.info("%s: not found; checking the order", action.describe())
            await self.sync_order(order)
            return
        self._emit(OrderCanceledReport(order.client_order_id, self._clock.now()))

    # -- reads for reconciliation and accounts ----------------------------------

    async def _lookup(
        self, order: Order, what: str, venue_order_id: str | None = None
    ) -> Raw | None:
        """Find ``order`` at the exchange by client id (reads retried); ccxt errors pass."""
        return await find_by_client_id(
            self._ex,
            self.features,
            order.symbol,
            order.client_order_id,
            since_ms=datetime_to_ms(order.created_at) - 60_000,
            read=lambda call: with_retries(
                call, self._retry, lambda: self._ex.last_response_headers, what
            ),
            venue_order_id=venue_order_id,
        )

    async def _fetch_raw_order(self, order: Order) -> Raw | None:
        await self.load_markets()
        try:
            return await self._lookup(order, "fetch order", order.venue_order_id)
        except ccxt.BaseError as exc:
            raise translate(exc, self._order_action("fetch", order), self._secrets) from None

    async def fetch_order_state(self, order: Order) -> VenueOrderState | None:
        raw = await self._fetch_raw_order(order)
        if raw is None:
            return None
        return self._state(raw, order.client_order_id)

    def _state(self, raw: Raw, cid: str | None = None) -> VenueOrderState:
        venue_id = str(raw.get("id") or "")
        client = cid or self._cids.get(venue_id) or str(raw.get("clientOrderId") or venue_id)
        return VenueOrderState(
            client, venue_id, convert.order_status(raw), convert.dec0(raw.get("filled"))
        )

    async def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrderState]:
        await self.load_markets()
        raws = await self._read(
            self.action("fetch open orders", symbol), lambda: self._ex.fetch_open_orders(symbol)
        )
        return [self._state(dict(r)) for r in raws]

    async def fetch_fills(self, order: Order, venue_order_id: str | None = None) -> list[Fill]:
        """Every execution of ``order`` the exchange reports, oldest first.

        Asks by order where the exchange can (no page limit can hide a fill); otherwise
        pages through the account's trades since the order was created.
        """
        wanted = venue_order_id or order.venue_order_id
        if wanted and self.features.fetch_order_trades:
            await self.load_markets()
            self._cids[wanted] = order.client_order_id
            raws = await self._read(
                self._order_action("fetch trades of", order),
                lambda: self._ex.fetch_order_trades(wanted, order.symbol),
            )
            now = self._clock.now()
            fills = [
                convert.fill_from_trade(t, order.client_order_id, now, order.bot_id) for t in raws
            ]
            return sorted(fills, key=lambda f: f.ts)
        since = order.created_at
        fills = await self.fetch_my_trades(order.symbol, since, bot_id=order.bot_id)
        return [
            f
            for f in fills
            if f.client_order_id == order.client_order_id
            or (wanted is not None and self._cids.get(wanted) == f.client_order_id)
        ]

    async def fetch_my_trades(
        self, symbol: str, since: datetime | None = None, *, bot_id: str | None = None
    ) -> list[Fill]:
        """Our executions on ``symbol`` since ``since`` as domain fills, oldest first.

        The client order id comes from orders this venue placed; an execution of an order
        it does not know carries ``venue:<order id>`` instead.
        """
        await self.load_markets()
        since_ms = datetime_to_ms(since) if since is not None else None
        raws: list[Any] = []
        seen: set[str] = set()
        while True:  # page until a page adds nothing new
            page = await self._read(
                self.action("fetch my trades", symbol), self._trades_page(symbol, since_ms)
            )
            fresh = [t for t in page if str(t.get("id")) not in seen]
            raws.extend(fresh)
            seen.update(str(t.get("id")) for t in fresh)
            if len(page) < TRADES_PAGE or not fresh:
                break
            since_ms = max(int(t.get("timestamp") or 0) for t in page)
        now = self._clock.now()
        out = []
        for t in raws:
            venue_id = str(t.get("order") or "")
            cid = self._cids.get(venue_id, f"venue:{venue_id}")
            out.append(convert.fill_from_trade(t, cid, now, bot_id))
        return sorted(out, key=lambda f: f.ts)

    def _trades_page(self, symbol: str, since_ms: int | None) -> Callable[[], Awaitable[Any]]:
        return lambda: self._ex.fetch_my_trades(symbol, since_ms, TRADES_PAGE)

    async def fetch_balance_details(self) -> dict[str, Balance]:
        raw = await self._read(self.action("fetch balances"), self._ex.fetch_balance)
        return convert.balances_from(raw)

    async def fetch_balances(self) -> dict[str, Decimal]:
        """Total holdings per asset (free plus locked), zero balances left out."""
        details = await self.fetch_balance_details()
        return {a: b.total for a, b in details.items() if b.total != 0}

    # -- market data streams ----------------------------------------------------

    def watch_ticker(self, symbol: str) -> AsyncIterator[Ticker]:
        return streams.tickers(self, self._ex, symbol)

    def watch_trades(self, symbol: str) -> AsyncIterator[PublicTrade]:
        return streams.trades(self, self._ex, symbol)

    def watch_order_book(
        self, symbol: str, limit: int | None = None
    ) -> AsyncIterator[BookSnapshot]:
        return streams.books(self, self._ex, symbol, limit)

    def watch_ohlcv(self, symbol: str, timeframe: str = "1m") -> AsyncIterator[Candle]:
        return streams.candles(self, self._ex, symbol, timeframe)

    @property
    def poll_interval(self) -> float:
        return self._poll

    def now(self) -> datetime:
        return self._clock.now()

    async def read(self, action: Action, call: Callable[[], Awaitable[Any]]) -> Any:
        """A retried, translated read (for the stream helpers)."""
        return await self._read(action, call)

    async def close(self) -> None:
        """Close the exchange's HTTP session and websockets."""
        try:
            await self._ex.close()
        finally:
            logsafe.unregister(self._secrets)
