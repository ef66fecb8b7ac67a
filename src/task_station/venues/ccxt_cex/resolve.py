"""Find one of our orders at the exchange by its client order id.

Used after a create whose outcome is unknown, and by reconciliation. Exchanges differ in
how they look an order up, so this tries, in order and as the capabilities allow: a
direct ``fetch_order`` (by venue id, or by ``clientOrderId`` in params, which ccxt maps
to each exchange's own field, e.g. binance's ``origClientOrderId``), then a scan of
open orders, then a scan of recent closed orders.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import ccxt.async_support as ccxt

from task_station.venues.ccxt_cex.capabilities import CcxtFeatures

Raw = dict[str, Any]
Reader = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


def client_id_of(raw: Any) -> str | None:
    """The client order id of a ccxt order, from the unified field or the raw payload."""
    cid = raw.get("clientOrderId")
    if cid:
        return str(cid)
    info = raw.get("info") or {}
    for key in (
        "clientOrderId",
        "origClientOrderId",
        "newClientOrderId",
        "clOrdId",
        "client_oid",
        "orderLinkId",
        "userref",
    ):
        if info.get(key):
            return str(info[key])
    return None


def _match(raws: Any, cid: str) -> Raw | None:
    for raw in raws or []:
        if client_id_of(raw) == cid:
            return dict(raw)
    return None


async def _direct(
    ex: Any, symbol: str, cid: str, venue_order_id: str | None, read: Reader
) -> Raw | None:
    params = {} if venue_order_id else {"clientOrderId": cid}
    try:
        raw = await read(lambda: ex.fetch_order(venue_order_id, symbol, params))
    except ccxt.NetworkError:
        raise
    except ccxt.BaseError:  # not found, or this exchange cannot look up by client id
        return None
    found = dict(raw) if raw else None
    if found is not None and venue_order_id is None and client_id_of(found) not in (None, cid):
        return None
    return found


async def find_by_client_id(
    ex: Any,
    features: CcxtFeatures,
    symbol: str,
    cid: str,
    *,
    since_ms: int,
    read: Reader,
    venue_order_id: str | None = None,
) -> Raw | None:
    """The ccxt order for ``cid`` on ``symbol``, or None if the exchange never saw it.

    Network errors propagate: "cannot ask" is not "not found".
    """
    if features.fetch_order:
        found = await _direct(ex, symbol, cid, venue_order_id, read)
        if found is not None:
            return found
    if features.fetch_open_orders:
        found = _match(await read(lambda: ex.fetch_open_orders(symbol)), cid)
        if found is not None:
            return found
    if features.fetch_closed_orders:
        fetch = ex.fetch_closed_orders if ex.has.get("fetchClosedOrders") else ex.fetch_orders
        return _match(await read(lambda: fetch(symbol, since_ms)), cid)
    return None
