"""Who may call which route: the API's access policy.

The services check every action's role themselves (a viewer cannot start a bot through
any face); this table is the API's second line, checked before a request body is even
read, so a denied caller learns nothing from validation errors. Reading is the default
for ``GET`` (viewers), changing for every other method (traders); the table names the
exceptions: routes open to anyone (health, login, webhooks that sign themselves),
self-service routes for every user, and admin-only ones.

``create_app`` installs ``enforce_policy`` on every router it includes, so a new route
is covered the moment it exists; ``tests/api/test_role_matrix.py`` then insists on an
explicit expectation for it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, cast

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from task_station.domain.errors import AuthenticationError, PermissionDeniedError
from task_station.domain.users import Role
from task_station.services.bundle import Services
from task_station.services.principal import Principal


class Access(StrEnum):
    """The least a caller must be to use a route."""

    PUBLIC = "public"
    VIEWER = "viewer"
    TRADER = "trader"
    ADMIN = "admin"


_ROLE = {Access.VIEWER: Role.VIEWER, Access.TRADER: Role.TRADER, Access.ADMIN: Role.ADMIN}

#: (method, path template) -> access, where it differs from the method's default.
ROUTE_POLICY: dict[tuple[str, str], Access] = {
    # anyone: liveness for launchers, scraping, logging in, signed webhooks
    ("GET", "/health"): Access.PUBLIC,
    ("GET", "/health/live"): Access.PUBLIC,
    ("GET", "/health/ready"): Access.PUBLIC,
    ("GET", "/metrics"): Access.PUBLIC,
    ("POST", "/auth/login"): Access.PUBLIC,
    ("POST", "/auth/refresh"): Access.PUBLIC,
    ("POST", "/webhooks/{hook_id}"): Access.PUBLIC,
    # every user, about themselves
    ("POST", "/auth/logout"): Access.VIEWER,
    ("POST", "/auth/password"): Access.VIEWER,
    ("DELETE", "/auth/sessions/{session_id}"): Access.VIEWER,
    ("POST", "/notifications/read"): Access.VIEWER,
    # reads that need a POST (a body, or a probe that changes nothing)
    ("POST", "/dexes/{dex_id}/quote"): Access.VIEWER,
    ("POST", "/chains/{chain_id}/check"): Access.VIEWER,
    # reads that reach an exchange with the account's keys
    ("GET", "/accounts/{account_id}/balances"): Access.TRADER,
    # admins: users, the log, the audit trail, notification channels, the kill switch
    ("GET", "/auth/users"): Access.ADMIN,
    ("POST", "/auth/users"): Access.ADMIN,
    ("GET", "/auth/users/{username}"): Access.ADMIN,
    ("PATCH", "/auth/users/{username}"): Access.ADMIN,
    ("POST", "/auth/users/{username}/password"): Access.ADMIN,
    ("GET", "/auth/users/{username}/sessions"): Access.ADMIN,
    ("GET", "/audit"): Access.ADMIN,
    ("GET", "/audit/verify"): Access.ADMIN,
    ("GET", "/logs"): Access.ADMIN,
    ("PUT", "/notifications/channels/{name}"): Access.ADMIN,
    ("DELETE", "/notifications/channels/{name}"): Access.ADMIN,
    ("DELETE", "/risk/kill-switch"): Access.ADMIN,
}


#: How a refusal names what was refused, where the services say it the same way
#: (others name the method and path).
ROUTE_ACTIONS: dict[tuple[str, str], str] = {
    ("POST", "/bots"): "create bots",
    ("POST", "/bots/{bot_id}/start"): "start bots",
    ("POST", "/bots/{bot_id}/stop"): "stop bots",
    ("POST", "/bots/{bot_id}/resume"): "resume bots",
    ("PUT", "/bots/{bot_id}/params"): "change bot parameters",
    ("POST", "/strategies/reload"): "reload strategy files",
    ("POST", "/risk/kill-switch"): "engage the kill switch",
    ("DELETE", "/risk/kill-switch"): "release the kill switch",
    ("POST", "/tasks"): "create tasks",
    ("POST", "/tasks/{task_id}/run"): "run tasks",
    ("DELETE", "/tasks/{task_id}"): "delete tasks",
    ("PATCH", "/tasks/{task_id}"): "edit tasks",
    ("POST", "/backtest"): "run backtests",
    ("POST", "/accounts"): "add exchange accounts",
    ("GET", "/logs"): "read the station log",
    ("GET", "/audit"): "read the audit trail",
    ("GET", "/auth/users"): "list users",
    ("POST", "/auth/users"): "create users",
}


def access_for(method: str, path: str) -> Access:
    """The access a route needs: its table entry, else viewer to read, trader to change."""
    found = ROUTE_POLICY.get((method.upper(), path))
    if found is not None:
        return found
    return Access.VIEWER if method.upper() in ("GET", "HEAD") else Access.TRADER


_bearer = HTTPBearer(auto_error=False, description="The access_token from POST /auth/login.")


def authenticate(request: Request, token: str | None) -> Principal:
    """The caller of ``request``, once per request (kept on ``request.state``)."""
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    if not token:
        raise AuthenticationError("missing bearer token; log in at POST /auth/login")
    services = cast(Services, request.app.state.services)
    principal = services.auth.authenticate(token)
    request.state.principal = principal
    return principal


async def enforce_policy(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse the request unless the caller's role meets the route's access."""
    route = request.scope.get("route")
    path = getattr(route, "path_format", None) or request.url.path
    access = access_for(request.method, path)
    if access is Access.PUBLIC:
        return
    principal = authenticate(request, None if credentials is None else credentials.credentials)
    role = _ROLE[access]
    if not principal.at_least(role):
        action = ROUTE_ACTIONS.get((request.method, path), f"{request.method} {path}")
        principal.require(role, action)
        raise PermissionDeniedError(f"{principal.username} may not {action}")  # unreachable


#: Installed on every included router by ``create_app``.
POLICY = [Depends(enforce_policy)]
