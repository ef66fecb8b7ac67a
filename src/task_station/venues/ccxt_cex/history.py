"""Candle history from any ccxt exchange: the ``CandleSource`` that
``marketdata.history`` pages through.

Only public endpoints are used, so no credentials are involved. ccxt's own rate limiter
is on (``enableRateLimit``) and every request is retried with back-off on rate limits
(``RateLimitExceeded``, ``DDoSProtection``, honouring ``Retry-After``), 5xx and network
errors (``retry.py``); what still fails leaves here translated (``errors.py``).

A venue name is a ccxt exchange id (``binance``) or a configured ``ExchangeRoute``: the
loopback simulator is ``simulator``, binance's dialect at the simulator's URL.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ccxt.async_support as ccxt

from task_station.domain.errors import ValidationError
from task_station.venues.ccxt_cex.capabilities import capabilities_of
from task_station.venues.ccxt_cex.errors import Action, detail, translate
from task_station.venues.ccxt_cex.factory import point_urls_at
from task_station.venues.ccxt_cex.retry import RetryPolicy, with_retries
from task_station.venues.simulator.ccxt_setup import SIMULATOR_EXCHANGE_ID, SPOT_ONLY_OPTIONS

T = TypeVar("T")
#: History downloads can wait: more attempts and longer pauses than order reads.
HISTORY_RETRY = RetryPolicy(attempts=6, base_delay=1.0, max_delay=30.0)


@dataclass(frozen=True, slots=True)
class ExchangeRoute:
    """How a venue name reaches an exchange: its ccxt id, another base URL (a loopback
    server) and ccxt options."""

    exchange_id: str
    base_url: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    #: Least ms between requests (ccxt's ``rateLimit``); None keeps the exchange's own.
    rate_limit_ms: int | None = None


class CcxtCandleSource:
    """OHLCV pages of one exchange under the station's venue name ``venue``."""

    def __init__(
        self, venue: str, exchange: Any, *, retry: RetryPolicy, page_limit: int | None = None
    ) -> None:
        self._venue = venue
        self._ex = exchange
        self._retry = retry
        caps, _ = capabilities_of(exchange.has, getattr(exchange, "features", None), pro=False)
        self._page_limit = page_limit or caps.max_candles_per_request

    @property
    def venue(self) -> str:
        return self._venue

    @property
    def page_limit(self) -> int:
        return self._page_limit

    async def _read(self, action: Action, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await with_retries(
                call, self._retry, lambda: self._ex.last_response_headers, action.describe()
            )
        except (ccxt.BadSymbol, ccxt.BadRequest) as exc:
            raise ValidationError(
                f"{action.describe()} failed: {detail(exc, ())} (check the symbol and timeframe)"
            ) from None
        except ccxt.BaseError as exc:
            raise translate(exc, action, ()) from None

    async def prepare(self, symbol: str, timeframe: str) -> None:
        """Load the markets; refuse a symbol or timeframe the exchange does not have."""
        if not self._ex.has.get("fetchOHLCV"):
            raise ValidationError(f"{self._venue} offers no candle history (fetchOHLCV)")
        if not self._ex.markets:
            await self._read(Action(self._venue, "load markets"), self._ex.load_markets)
        markets = self._ex.markets or {}
        if symbol not in markets:
            close = difflib.get_close_matches(symbol, list(markets), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValidationError(f"{self._venue} has no market {symbol!r}{hint}")
        timeframes = dict(self._ex.timeframes or {})
        if timeframes and timeframe not in timeframes:
            raise ValidationError(
                f"{self._venue} has no {timeframe!r} candles; it offers {', '.join(timeframes)}"
            )

    async def fetch_candles(
        self, symbol: str, timeframe: str, since_ms: int, limit: int
    ) -> Sequence[Sequence[float | int | None]]:
        """Up to ``limit`` bars ``[ts, open, high, low, close, volume]`` from ``since_ms``."""
        action = Action(self._venue, f"fetch {timeframe} candles of", symbol)
        rows: list[list[float | int | None]] = await self._read(
            action, lambda: self._ex.fetch_ohlcv(symbol, timeframe, since_ms, limit)
        )
        return rows

    async def close(self) -> None:
        await self._ex.close()


class CcxtHistorySources:
    """Opens a ``CcxtCandleSource`` per venue name; what the composition root hands the
    market-data service."""

    def __init__(
        self,
        routes: Mapping[str, ExchangeRoute] | None = None,
        *,
        retry: RetryPolicy = HISTORY_RETRY,
        page_limit: int | None = None,
    ) -> None:
        self._routes = dict(routes or {})
        self._retry = retry
        self._page_limit = page_limit

    def configured_venues(self) -> list[str]:
        """Venue names beyond the ccxt exchange ids (e.g. ``simulator``)."""
        return sorted(self._routes)

    def open(self, venue: str) -> CcxtCandleSource:
        """A source for ``venue``; close it when done."""
        route = self._routes.get(venue)
        if route is None:
            if venue not in ccxt.exchanges:
                extra = self.configured_venues()
                also = f", or a configured venue ({', '.join(extra)})" if extra else ""
                raise ValidationError(
                    f"unknown venue {venue!r}: use a ccxt exchange id such as binance, "
                    f"kraken or coinbase{also}"
                )
            route = ExchangeRoute(venue)
        return CcxtCandleSource(venue, open_rest_exchange(route), retry=self._retry,
                                page_limit=self._page_limit)  # fmt: skip


def history_sources(simulator_url: str | None = None, **kwargs: Any) -> CcxtHistorySources:
    """Every ccxt exchange by its id, plus ``simulator`` (binance's dialect at
    ``simulator_url``, loopback, so a short pause between requests is enough)."""
    routes = {}
    if simulator_url:
        routes["simulator"] = ExchangeRoute(
            SIMULATOR_EXCHANGE_ID, simulator_url, SPOT_ONLY_OPTIONS, rate_limit_ms=10
        )
    return CcxtHistorySources(routes, **kwargs)


def open_rest_exchange(route: ExchangeRoute) -> Any:
    """The plain async ccxt class (no websockets: history is REST only), rate-limited."""
    config: dict[str, Any] = {"enableRateLimit": True, "options": dict(route.options)}
    if route.rate_limit_ms is not None:
        config["rateLimit"] = route.rate_limit_ms
    exchange = getattr(ccxt, route.exchange_id)(config)
    if route.base_url:
        point_urls_at(exchange, route.base_url)
    return exchange
