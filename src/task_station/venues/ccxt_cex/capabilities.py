"""What a ccxt exchange can do, read once from ``exchange.has`` and ``exchange.features``.

The venue branches on these records, never on the exchange's name: a new exchange that
ccxt supports needs no code here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from task_station.domain.orders import OrderType, TimeInForce
from task_station.venues.base import VenueCapabilities

WATCHES = ("watchTicker", "watchTrades", "watchOrderBook", "watchOHLCV", "watchOrders")


@dataclass(frozen=True, slots=True)
class CcxtFeatures:
    """The ccxt-specific details the venue needs beyond ``VenueCapabilities``."""

    time_in_force: frozenset[TimeInForce]
    post_only: bool
    client_order_id: bool
    fetch_order: bool
    fetch_open_orders: bool
    fetch_closed_orders: bool
    fetch_my_trades: bool
    fetch_order_trades: bool
    watches: frozenset[str]


def _has(has: Mapping[str, Any], key: str) -> bool:
    return bool(has.get(key))  # ccxt uses True, False, None and "emulated"


def _spot_create(features: Mapping[str, Any] | None) -> Mapping[str, Any]:
    spot = (features or {}).get("spot") or {}
    return spot.get("createOrder") or {}


def _candle_limit(features: Mapping[str, Any] | None) -> int:
    spot = (features or {}).get("spot") or {}
    limit = (spot.get("fetchOHLCV") or {}).get("limit")
    return int(limit) if limit else 500


def order_types(has: Mapping[str, Any], create: Mapping[str, Any]) -> frozenset[OrderType]:
    types = {OrderType.MARKET, OrderType.LIMIT}
    if (
        create.get("triggerPrice")
        or _has(has, "createStopOrder")
        or _has(has, "createTriggerOrder")
    ):
        types |= {OrderType.STOP_MARKET, OrderType.STOP_LIMIT}
    if _has(has, "createStopMarketOrder"):
        types.add(OrderType.STOP_MARKET)
    if _has(has, "createStopLimitOrder"):
        types.add(OrderType.STOP_LIMIT)
    return frozenset(types)


def capabilities_of(
    has: Mapping[str, Any], features: Mapping[str, Any] | None, *, pro: bool
) -> tuple[VenueCapabilities, CcxtFeatures]:
    """Both records for an exchange with these ``has`` and ``features`` tables."""
    create = _spot_create(features)
    tif = create.get("timeInForce") or {}
    watches = frozenset(w for w in WATCHES if pro and _has(has, w))
    caps = VenueCapabilities(
        order_types=order_types(has, create),
        quote_sized_market_buy=bool(create.get("marketBuyByCost"))
        or _has(has, "createMarketBuyOrderWithCost"),
        candle_driven=False,
        websocket=bool(watches),
        max_candles_per_request=_candle_limit(features),
    )
    extra = CcxtFeatures(
        time_in_force=frozenset(
            {TimeInForce.GTC}
            | {t for t, key in ((TimeInForce.IOC, "IOC"), (TimeInForce.FOK, "FOK")) if tif.get(key)}
        ),
        post_only=bool(tif.get("PO")) or _has(has, "createPostOnlyOrder"),
        client_order_id=True,  # every ccxt exchange takes params["clientOrderId"]
        fetch_order=_has(has, "fetchOrder"),
        fetch_open_orders=_has(has, "fetchOpenOrders"),
        fetch_closed_orders=_has(has, "fetchClosedOrders") or _has(has, "fetchOrders"),
        fetch_my_trades=_has(has, "fetchMyTrades"),
        fetch_order_trades=_has(has, "fetchOrderTrades"),
        watches=watches,
    )
    return caps, extra
