"""Dependencies shared by the routers: the services bundle and the caller's identity.

Handlers are ``async``: FastAPI runs plain ``def`` handlers and dependencies in a thread
pool, but the station is single-loop (the bus publishes synchronously, repositories are
used from the loop), so every service call must happen on the event loop.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection, Request

from task_station.api.policy import authenticate, enforce_policy
from task_station.domain.errors import AuthenticationError
from task_station.services.bundle import Services
from task_station.services.principal import Principal

_bearer = HTTPBearer(auto_error=False, description="The access_token from POST /auth/login.")


async def get_services(conn: HTTPConnection) -> Services:
    """The bundle ``create_app`` stored on the application."""
    return cast(Services, conn.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The raw bearer token; a missing one is an ``AuthenticationError`` (401)."""
    if credentials is None or not credentials.credentials:
        raise AuthenticationError("missing bearer token; log in at POST /auth/login")
    return credentials.credentials


TokenDep = Annotated[str, Depends(bearer_token)]


async def current_principal(request: Request, token: TokenDep) -> Principal:
    """Who is calling, checked against the token's signature, expiry and session
    (once per request: the route policy may already have done it)."""
    return authenticate(request, token)


PrincipalDep = Annotated[Principal, Depends(current_principal)]
#: Kept for routers that still name it; ``create_app`` checks every route's policy.
REQUIRE_LOGIN = [Depends(enforce_policy)]


def client_address(conn: HTTPConnection) -> str | None:
    """The peer's address (the proxy's, behind one: see the README on TLS)."""
    return None if conn.client is None else conn.client.host


ClientDep = Annotated[str | None, Depends(client_address)]
