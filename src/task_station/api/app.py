"""The FastAPI application over the services bundle.

``create_app`` receives the already-built services (the container is the composition
root; faces never build their own), so the API and the GUI share the same objects on
the same event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from task_station import __version__
from task_station.api import ws
from task_station.api.errors import install_error_handlers
from task_station.api.hub import EventHub
from task_station.api.routers import (
    accounts,
    auth,
    backtests,
    bots,
    dex,
    health,
    market,
    orders,
    portfolio,
    presets,
    proposals,
    risk,
    strategies,
)
from task_station.services.bundle import Services


def create_app(services: Services, *, ws_queue_size: int = 1024) -> FastAPI:
    """Build the REST + WebSocket application.

    Parameters
    ----------
    services
        The bundle every route calls.
    ws_queue_size
        Messages buffered per WebSocket client before the oldest are dropped.
    """
    hub = EventHub(services.events, ws_queue_size)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Subscribe on the serving loop, and let go of the bus when the server stops.
        hub.start()
        try:
            yield
        finally:
            hub.stop()

    app = FastAPI(
        title="TASK Station",
        version=__version__,
        description="Create, run and watch trading bots.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.hub = hub
    install_error_handlers(app)
    for module in (health, auth, bots, orders, portfolio, market, strategies, accounts, dex, ws):
        app.include_router(module.router)
    app.include_router(proposals.router)
    app.include_router(risk.router)
    app.include_router(presets.router)
    app.include_router(backtests.router)
    return app
