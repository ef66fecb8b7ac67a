"""User management (admins): list, create, change role or disable, reset passwords."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from task_station.api.auth_schemas import (
    PasswordReset,
    SessionOut,
    UserCreate,
    UserDetail,
    UserUpdate,
)
from task_station.api.deps import PrincipalDep, ServicesDep
from task_station.api.pagination import PageDep, paginate

router = APIRouter(prefix="/auth/users", tags=["users"])


@router.get("")
async def list_users(
    principal: PrincipalDep,
    services: ServicesDep,
    page: PageDep,
    request: Request,
    response: Response,
) -> list[UserDetail]:
    users = services.users.list(principal)
    return [UserDetail.of(u) for u in paginate(users, page, request, response, total=len(users))]


@router.post("", status_code=201)
async def create_user(
    body: UserCreate, principal: PrincipalDep, services: ServicesDep
) -> UserDetail:
    user = await asyncio.to_thread(
        services.users.create, body.username, body.password.get_secret_value(), body.role, principal
    )
    return UserDetail.of(user)


@router.get("/{username}")
async def get_user(username: str, principal: PrincipalDep, services: ServicesDep) -> UserDetail:
    return UserDetail.of(services.users.get(principal, username))


@router.patch("/{username}")
async def update_user(
    username: str, body: UserUpdate, principal: PrincipalDep, services: ServicesDep
) -> UserDetail:
    """Change the role or enable/disable the user; disabling closes their sessions."""
    user = services.users.update(principal, username, role=body.role, active=body.active)
    return UserDetail.of(user)


@router.post("/{username}/password", status_code=204)
async def reset_password(
    username: str, body: PasswordReset, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Set the user's password; all of their sessions are closed."""
    await asyncio.to_thread(
        services.users.reset_password, principal, username, body.new_password.get_secret_value()
    )
    return Response(status_code=204)


@router.get("/{username}/sessions")
async def user_sessions(
    username: str, principal: PrincipalDep, services: ServicesDep
) -> list[SessionOut]:
    return [SessionOut.of(view) for view in services.auth.sessions(principal, username)]
