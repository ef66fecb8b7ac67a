"""Login and logout: bearer tokens backed by server-side sessions."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from task_station.api.deps import REQUIRE_LOGIN, ServicesDep, TokenDep
from task_station.api.schemas import LoginRequest, TokenOut, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login")
async def login(body: LoginRequest, services: ServicesDep) -> TokenOut:
    # bcrypt takes ~0.3 s by design: check it off the loop so bots and the GUI keep going.
    result = await asyncio.to_thread(services.auth.login, body.username, body.password)
    user = UserOut(username=result.principal.username, role=result.principal.role.value)
    return TokenOut(access_token=result.token, expires_at=result.expires_at, user=user)


@router.post("/logout", status_code=204, dependencies=REQUIRE_LOGIN)
async def logout(token: TokenDep, services: ServicesDep) -> Response:
    """Close the token's session: the token stops working everywhere at once."""
    services.auth.logout(token)
    return Response(status_code=204)
