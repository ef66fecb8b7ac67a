"""Every route, for every role, against a declared policy.

The routes come from the application itself, so a new endpoint joins the matrix the
moment it exists, and fails here until its expected access is declared below. Requests
carry no body and placeholder ids: an allowed role may get 404 or 422, never 401/403
(and never a server error); a denied role gets 403 before its input is even looked at;
without a token every non-public route answers 401.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from task_station.api.options import ApiOptions
from tests.api.helpers import ADMIN_PASSWORD, Station, bearer

PUBLIC, VIEWER, TRADER, ADMIN = "public", "viewer", "trader", "admin"
RANK = {PUBLIC: -1, VIEWER: 0, TRADER: 1, ADMIN: 2}
ROLES = (VIEWER, TRADER, ADMIN)

#: The declared policy: who may call each route (the least role).
EXPECTED: dict[str, list[str]] = {
    PUBLIC: [
        "GET /health", "GET /health/live", "GET /health/ready", "GET /metrics",
        "POST /auth/login", "POST /auth/refresh", "POST /webhooks/{hook_id}",
    ],
    VIEWER: [
        # the caller's own account and sessions
        "POST /auth/logout", "GET /auth/me", "POST /auth/password", "GET /auth/sessions",
        "DELETE /auth/sessions/{session_id}",
        # bots, orders, portfolio, market, strategies, presets, risk
        "GET /bots", "GET /bots/{bot_id}", "GET /orders", "GET /fills", "GET /portfolio",
        "GET /portfolio/{bot_id}", "GET /market/candles", "GET /strategies", "GET /presets",
        "GET /presets/{name}", "GET /risk", "GET /bots/{bot_id}/mode",
        "GET /bots/{bot_id}/proposals", "GET /bots/{bot_id}/proposals/{proposal_id}",
        # accounts and DEX (reads, quotes and probes)
        "GET /accounts", "GET /chains", "POST /chains/{chain_id}/check", "GET /wallets",
        "GET /wallets/{wallet_id}/balances", "GET /dexes", "GET /dexes/{dex_id}/tokens",
        "GET /dexes/{dex_id}/pools", "POST /dexes/{dex_id}/quote",
        # backtests, tasks, jobs, notifications
        "GET /backtest", "GET /backtest/compare", "GET /backtest/{run_id}",
        "GET /backtest/{run_id}/report", "GET /tasks", "GET /tasks/{task_id}",
        "GET /tasks/{task_id}/runs", "GET /tasks/{task_id}/runs/{run_id}", "GET /jobs",
        "GET /jobs/{job_id}", "GET /notifications", "POST /notifications/read",
        "GET /notifications/channels",
        # market data (the market-data engineer's routes)
        "GET /market/data/inventory", "GET /market/data/gaps", "GET /market/data/downloads",
        "GET /market/data/downloads/{download_id}", "GET /market/data/decisions/{bot_id}",
        "GET /market/recordings", "GET /market/replays", "GET /market/replays/{replay_id}",
    ],
    TRADER: [
        "POST /bots", "PUT /bots/{bot_id}/params", "POST /bots/{bot_id}/start",
        "POST /bots/{bot_id}/stop", "POST /bots/{bot_id}/resume", "POST /strategies/reload",
        "PUT /bots/{bot_id}/mode", "POST /bots/{bot_id}/orders",
        "POST /bots/{bot_id}/proposals/{proposal_id}/approve",
        "POST /bots/{bot_id}/proposals/{proposal_id}/edit",
        "POST /bots/{bot_id}/proposals/{proposal_id}/reject", "POST /risk/kill-switch",
        "POST /accounts", "DELETE /accounts/{account_id}", "POST /accounts/{account_id}/test",
        "GET /accounts/{account_id}/balances", "POST /chains", "DELETE /chains/{chain_id}",
        "POST /wallets", "DELETE /wallets/{wallet_id}", "POST /dexes", "DELETE /dexes/{dex_id}",
        "POST /dexes/{dex_id}/tokens", "DELETE /dexes/{dex_id}/tokens/{address}",
        "POST /backtest", "POST /backtest/sweep", "POST /backtest/{run_id}/cancel",
        "POST /tasks", "PATCH /tasks/{task_id}", "DELETE /tasks/{task_id}",
        "POST /tasks/{task_id}/enable", "POST /tasks/{task_id}/disable",
        "POST /tasks/{task_id}/run", "POST /jobs/{job_id}/cancel",
        "POST /notifications/channels/{name}/test",
        "POST /market/data/downloads", "POST /market/data/downloads/{download_id}/cancel",
        "POST /market/data/import", "POST /market/recordings", "POST /market/recordings/stop",
        "POST /market/replays", "POST /market/replays/{replay_id}/pause",
        "POST /market/replays/{replay_id}/resume", "POST /market/replays/{replay_id}/step",
        "POST /market/replays/{replay_id}/seek", "POST /market/replays/{replay_id}/speed",
        "POST /market/replays/{replay_id}/stop",
    ],
    ADMIN: [
        "GET /auth/users", "POST /auth/users", "GET /auth/users/{username}",
        "PATCH /auth/users/{username}", "POST /auth/users/{username}/password",
        "GET /auth/users/{username}/sessions", "GET /audit", "GET /audit/verify", "GET /logs",
        "PUT /notifications/channels/{name}", "DELETE /notifications/channels/{name}",
        "DELETE /risk/kill-switch",
    ],
}  # fmt: skip
POLICY = {route: access for access, routes in EXPECTED.items() for route in routes}
#: Routes that end the caller's session: each call gets a fresh login.
SESSION_ENDING = {"POST /auth/logout"}


@pytest.fixture
def api_options() -> ApiOptions:
    return ApiOptions(rate_per_second=100_000, burst=100_000)


def http_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the application serves over HTTP."""
    found = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.path and context.methods:
            found.extend((method, context.path) for method in sorted(context.methods))
    return found


def _app(station: Station) -> FastAPI:
    from task_station.api.app import create_app

    return create_app(station.services)


def _url(path: str) -> str:
    return path.replace("{", "").replace("}", "-x")  # /bots/{bot_id} -> /bots/bot_id-x


def test_every_route_has_a_declared_policy(station: Station) -> None:
    routes = http_routes(_app(station))
    assert len(routes) > 80
    undeclared = [f"{m} {p}" for m, p in routes if f"{m} {p}" not in POLICY]
    assert not undeclared, f"declare the access of these routes in EXPECTED: {undeclared}"


async def test_every_route_for_every_role_follows_the_policy(
    station: Station, client: httpx.AsyncClient
) -> None:
    for role in (TRADER, VIEWER):
        station.add_user(role, f"{role}-password-1", role)

    def token(role: str) -> str:
        password = ADMIN_PASSWORD if role == ADMIN else f"{role}-password-1"
        return station.services.auth.login(role, password).token

    tokens = {role: token(role) for role in ROLES}
    problems: list[str] = []
    for method, path in http_routes(_app(station)):
        key = f"{method} {path}"
        access = POLICY[key]
        anonymous = await client.request(method, _url(path))
        if access != PUBLIC and anonymous.status_code != 401:
            problems.append(f"{key} without a token: {anonymous.status_code}")
        for role in ROLES:
            auth = token(role) if key in SESSION_ENDING else tokens[role]
            answer = await client.request(method, _url(path), headers=bearer(auth))
            status = answer.status_code
            allowed = RANK[role] >= RANK[access]
            if status >= 500:
                problems.append(f"{key} as {role}: server error {status} {answer.text[:200]}")
            elif allowed and status in (401, 403):
                problems.append(f"{key} as {role}: refused ({status}) but {access} may")
            elif not allowed and status != 403:
                problems.append(f"{key} as {role}: {status}, expected 403 ({access} only)")
            elif not allowed and set(answer.json()) != {"error", "detail"}:
                problems.append(f"{key} as {role}: 403 without the error body")
    assert not problems, "\n".join(problems)
