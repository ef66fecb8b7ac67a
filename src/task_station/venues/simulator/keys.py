"""Typed aiohttp application keys (plain string keys warn, and warnings fail tests)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from task_station.venues.simulator.exchange import SimExchange
from task_station.venues.simulator.faults import FaultSpec


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: str
    api_secret: str


EXCHANGE = web.AppKey("exchange", SimExchange)
CREDENTIALS = web.AppKey("credentials", Credentials)
FAULTS = web.AppKey("faults", FaultSpec)
