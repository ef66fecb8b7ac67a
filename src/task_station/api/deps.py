"""Dependencies shared by the routers: the services bundle and the caller's identity.

Handlers are ``async``: FastAPI runs plain ``def`` handlers and dependencies in a thread
pool, but the station is single-loop (the bus publishes synchronously, repositories are
used from the loop), so every service call must happen on the event loop.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

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


async def current_principal(token: TokenDep, services: ServicesDep) -> Principal:
    """Who is calling, checked against the token's signature, expiry and session."""
    return services.auth.authenticate(token)


PrincipalDep = Annotated[Principal, Depends(current_principal)]
#: Put on every router except health and login, so no route can forget authentication.
REQUIRE_LOGIN = [Depends(current_principal)]
