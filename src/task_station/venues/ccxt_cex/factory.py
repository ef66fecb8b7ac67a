"""Build ccxt exchanges and ``CcxtVenue`` objects from an exchange id and credentials.

Services receive a ``CcxtVenueFactory`` and never import ccxt. Credentials pass straight
into the exchange object and into the venue's list of strings to mask; they are never
logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro

from task_station.domain.accounts import ApiCredentials
from task_station.domain.clock import Clock
from task_station.domain.errors import ValidationError
from task_station.venues.ccxt_cex.retry import RetryPolicy
from task_station.venues.ccxt_cex.venue import CcxtVenue


def known_exchange_ids() -> frozenset[str]:
    """Every exchange id this ccxt knows (``ccxt.exchanges``)."""
    return frozenset(ccxt.exchanges)


def _rewrite(value: Any, base: str) -> Any:
    if isinstance(value, dict):
        return {k: _rewrite(v, base) for k, v in value.items()}
    if isinstance(value, str) and "://" in value:
        parts = urlsplit(value)
        target = urlsplit(base)
        scheme = target.scheme
        if parts.scheme in ("ws", "wss"):
            scheme = "ws" if target.scheme == "http" else "wss"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return f"{scheme}://{target.netloc}{path}"
    return value


def point_urls_at(exchange: Any, base_url: str) -> None:
    """Send every REST and websocket request of ``exchange`` to ``base_url`` (loopback)."""
    urls = dict(exchange.urls)
    urls["api"] = _rewrite(urls.get("api") or {}, base_url)
    exchange.urls = urls


def open_exchange(
    exchange_id: str,
    credentials: ApiCredentials | None = None,
    *,
    sandbox: bool = False,
    options: Mapping[str, Any] | None = None,
    base_url: str | None = None,
) -> tuple[Any, bool]:
    """A ccxt exchange (the ccxt.pro class where one exists) and whether it is pro."""
    if exchange_id not in ccxt.exchanges:
        raise ValidationError(f"unknown exchange {exchange_id!r}; pick one that ccxt supports")
    pro = exchange_id in ccxtpro.exchanges
    cls = getattr(ccxtpro if pro else ccxt, exchange_id)
    config: dict[str, Any] = {"enableRateLimit": True, "options": dict(options or {})}
    if credentials is not None:
        config["apiKey"] = credentials.api_key
        config["secret"] = credentials.api_secret
        if credentials.password:
            config["password"] = credentials.password
    exchange = cls(config)
    if sandbox:
        try:
            exchange.set_sandbox_mode(True)
        except ccxt.NotSupported:
            raise ValidationError(f"{exchange_id} has no sandbox (testnet)") from None
    if base_url:
        point_urls_at(exchange, base_url)
    return exchange, pro


def create_venue(
    exchange_id: str,
    credentials: ApiCredentials | None,
    clock: Clock,
    *,
    name: str | None = None,
    sandbox: bool = False,
    options: Mapping[str, Any] | None = None,
    base_url: str | None = None,
    retry: RetryPolicy | None = None,
) -> CcxtVenue:
    """A ``CcxtVenue`` for ``exchange_id``; call ``close()`` when done with it."""
    exchange, pro = open_exchange(
        exchange_id, credentials, sandbox=sandbox, options=options, base_url=base_url
    )
    secrets = () if credentials is None else credentials.values()
    return CcxtVenue(exchange, clock, name=name, secrets=secrets, retry=retry, pro=pro)


class CcxtVenueFactory:
    """Builds venues for accounts; what the composition root hands the account service.

    ``base_url`` points every venue at a loopback server (the simulator, or a closed port
    in tests) so that nothing leaves the machine.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self._clock = clock
        self._base_url = base_url
        self._retry = retry
        self._options = dict(options or {})

    def known_exchange_ids(self) -> frozenset[str]:
        return known_exchange_ids()

    def open(
        self, exchange_id: str, credentials: ApiCredentials, *, sandbox: bool, name: str
    ) -> CcxtVenue:
        return create_venue(
            exchange_id,
            credentials,
            self._clock,
            name=name,
            sandbox=sandbox,
            options=self._options.get(exchange_id),
            base_url=self._base_url,
            retry=self._retry,
        )
