"""Login, token refresh, logout, the caller's own account and sessions.

Access tokens are short-lived; a client keeps its session going by trading its refresh
token for a new pair (``POST /auth/refresh``). Every answer here is ``no-store``.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from task_station.api.auth_schemas import (
    LoginRequest,
    MeOut,
    PasswordChange,
    RefreshRequest,
    SessionOut,
    TokenOut,
)
from task_station.api.deps import ClientDep, PrincipalDep, ServicesDep, TokenDep

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login")
async def login(body: LoginRequest, client: ClientDep, services: ServicesDep) -> TokenOut:
    """Check the password and open a session. Repeated failures lock the username and
    the address out for a growing while (429 with ``Retry-After``)."""
    # bcrypt takes ~0.3 s by design: check it off the loop so bots and the GUI keep going.
    password = body.password.get_secret_value()
    result = await asyncio.to_thread(services.auth.login, body.username, password, client=client)
    return TokenOut.of(result)


@router.post("/refresh")
async def refresh(body: RefreshRequest, client: ClientDep, services: ServicesDep) -> TokenOut:
    """A new token pair for a refresh token, which then stops working. Presenting a
    used refresh token again closes its whole session (it must have leaked)."""
    return TokenOut.of(services.auth.refresh(body.refresh_token.get_secret_value(), client=client))


@router.post("/logout", status_code=204)
async def logout(token: TokenDep, services: ServicesDep) -> Response:
    """Close the token's session: its access and refresh tokens stop working at once."""
    services.auth.logout(token)
    return Response(status_code=204)


@router.get("/me")
async def me(principal: PrincipalDep) -> MeOut:
    return MeOut(
        username=principal.username, role=principal.role.value, session_id=principal.session_id
    )


@router.post("/password", status_code=204)
async def change_password(
    body: PasswordChange, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Change your own password; your other sessions are closed (this one stays)."""
    await asyncio.to_thread(
        services.users.change_password,
        principal,
        body.current_password.get_secret_value(),
        body.new_password.get_secret_value(),
    )
    return Response(status_code=204)


@router.get("/sessions")
async def list_sessions(principal: PrincipalDep, services: ServicesDep) -> list[SessionOut]:
    """Your open sessions, newest first; ``current`` marks the one you call from."""
    return [SessionOut.of(view) for view in services.auth.sessions(principal)]


@router.delete("/sessions/{session_id}", status_code=204)
async def revoke_session(
    session_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Close one of your sessions (admins: anyone's)."""
    services.auth.revoke_session(principal, session_id)
    return Response(status_code=204)
