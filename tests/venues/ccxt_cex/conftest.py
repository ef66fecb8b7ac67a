"""Fixtures for the ccxt venue: real ccxt exchanges, never the internet.

Venues built here point at a closed loopback port, so any request fails fast with a
network error and nothing leaves the machine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from task_station.domain.accounts import ApiCredentials
from task_station.domain.clock import ManualClock
from task_station.venues.base import VenueReport
from task_station.venues.ccxt_cex import CcxtVenue, RetryPolicy, create_venue

CLOSED_PORT_URL = "http://127.0.0.1:9"
API_KEY = "KEY-7f3c-DISTINCTIVE-apikey-91ab"
API_SECRET = "SECRET-c0ffee-DISTINCTIVE-secret-42d7"

#: A unified ccxt market as ``load_markets`` would save it (binance BTC/USDT, TICK_SIZE).
BTC_USDT: dict[str, Any] = {
    "id": "BTCUSDT",
    "symbol": "BTC/USDT",
    "base": "BTC",
    "quote": "USDT",
    "baseId": "BTC",
    "quoteId": "USDT",
    "type": "spot",
    "spot": True,
    "active": True,
    "margin": False,
    "swap": False,
    "future": False,
    "option": False,
    "contract": False,
    "linear": None,
    "inverse": None,
    "settle": None,
    "settleId": None,
    "contractSize": None,
    "precision": {"amount": 0.00001, "price": 0.01},
    "limits": {
        "amount": {"min": 0.00001, "max": 9000.0},
        "price": {"min": 0.01, "max": 1e6},
        "cost": {"min": 5.0, "max": None},
        "leverage": {"min": None, "max": None},
    },
    "info": {
        "symbol": "BTCUSDT",
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
    },
}


class Recorder:
    def __init__(self) -> None:
        self.reports: list[VenueReport] = []

    def on_venue_report(self, report: VenueReport) -> None:
        self.reports.append(report)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))


@pytest.fixture
async def offline_venue(clock: ManualClock) -> AsyncIterator[Callable[..., CcxtVenue]]:
    """Build venues on a closed port; every one is closed after the test."""
    made: list[CcxtVenue] = []

    def make(exchange_id: str = "binance", **kwargs: Any) -> CcxtVenue:
        venue = create_venue(
            exchange_id,
            ApiCredentials(API_KEY, API_SECRET, "PASS-DISTINCTIVE-99"),
            clock,
            base_url=CLOSED_PORT_URL,
            retry=RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.002),
            **kwargs,
        )
        made.append(venue)
        return venue

    yield make
    for venue in made:
        await venue.close()
