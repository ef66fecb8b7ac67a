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
from task_station.api.hub import EventHub, HealthBeacon
from task_station.api.middleware import install_hardening
from task_station.api.openapi import install_openapi
from task_station.api.options import ApiOptions
from task_station.api.policy import POLICY
from task_station.api.routers import (
    accounts,
    audit,
    auth,
    backtests,
    bots,
    dex,
    health,
    jobs,
    market,
    market_data,
    metrics,
    notifications,
    orders,
    portfolio,
    presets,
    proposals,
    risk,
    strategies,
    tasks,
    users,
    webhooks,
)
from task_station.services.bundle import Services


def create_app(
    services: Services, *, ws_queue_size: int | None = None, options: ApiOptions | None = None
) -> FastAPI:
    """Build the REST + WebSocket application.

    Parameters
    ----------
    services
        The bundle every route calls.
    ws_queue_size
        Messages buffered per WebSocket client before the oldest are dropped.
    options
        CORS origins, rate limit and body limit (``ApiOptions.from_settings``).
    """
    options = options or ApiOptions()
    hub = EventHub(services.events, ws_queue_size or options.ws_queue_size)
    beacon = HealthBeacon(hub, services.health.ready, interval=options.ws_health_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Subscribe on the serving loop, and let go of the bus when the server stops.
        hub.start()
        beacon.start()
        try:
            yield
        finally:
            await beacon.stop()
            hub.stop()

    app = FastAPI(
        title="TASK Station",
        version=__version__,
        description="Create, run and watch trading bots.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.hub = hub
    app.state.options = options
    install_error_handlers(app)
    app.include_router(ws.router)  # authenticates itself (a token in the URL or message)
    # Every HTTP route gets the access policy (``policy.py``); include new routers here.
    for module in (health, auth, users, audit, bots, orders, portfolio, market, strategies):
        app.include_router(module.router, dependencies=POLICY)
    app.include_router(accounts.router, dependencies=POLICY)
    app.include_router(dex.router, dependencies=POLICY)
    app.include_router(proposals.router, dependencies=POLICY)
    app.include_router(risk.router, dependencies=POLICY)
    app.include_router(presets.router, dependencies=POLICY)
    app.include_router(backtests.router, dependencies=POLICY)
    app.include_router(tasks.router, dependencies=POLICY)
    app.include_router(webhooks.router, dependencies=POLICY)
    app.include_router(jobs.router, dependencies=POLICY)
    app.include_router(notifications.router, dependencies=POLICY)
    app.include_router(metrics.router, dependencies=POLICY)
    app.include_router(market_data.router, dependencies=POLICY)
    install_openapi(app)
    install_hardening(app, services, options)
    return app
