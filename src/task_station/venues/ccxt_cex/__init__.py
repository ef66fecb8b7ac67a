"""Any ccxt exchange as a ``Venue``. The only package, with ``venues.simulator``, that
imports ccxt."""

from task_station.venues.ccxt_cex.capabilities import CcxtFeatures, capabilities_of
from task_station.venues.ccxt_cex.factory import (
    CcxtVenueFactory,
    create_venue,
    known_exchange_ids,
    open_exchange,
    point_urls_at,
)
from task_station.venues.ccxt_cex.retry import RetryPolicy
from task_station.venues.ccxt_cex.types import BookSnapshot, PublicTrade, Ticker
from task_station.venues.ccxt_cex.venue import CcxtVenue

__all__ = [
    "BookSnapshot",
    "CcxtFeatures",
    "CcxtVenue",
    "CcxtVenueFactory",
    "PublicTrade",
    "RetryPolicy",
    "Ticker",
    "capabilities_of",
    "create_venue",
    "known_exchange_ids",
    "open_exchange",
    "point_urls_at",
]
