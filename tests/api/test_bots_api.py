"""Creating, starting and stopping bots: validation, conflicts and money as strings."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.api.helpers import bot_body


async def _bot_count(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await client.get("/bots", headers=headers)
    assert response.status_code == 200
    return len(response.json())


async def test_create_bot_returns_201_with_money_as_strings(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/bots", json=bot_body(quote_budget="123.4500", fee_bps=7.5), headers=admin_headers
    )
    assert response.status_code == 201, response.text
    bot = response.json()
    assert bot["quote_budget"] == "123.4500"
    assert bot["fee_bps"] == "7.5"
    assert bot["status"] == "created"
    assert bot["symbol"] == "BTC/USDT"
    assert bot["params"] == {"fast": 3, "slow": 8}
    fetched = await client.get(f"/bots/{bot['id']}", headers=admin_headers)
    assert fetched.json()["id"] == bot["id"]


async def test_numeric_budget_returns_exact_string_without_float_artefacts(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post("/bots", json=bot_body(quote_budget=0.1), headers=admin_headers)
    assert response.status_code == 201, response.text
    assert response.json()["quote_budget"] == "0.1"


async def test_malformed_json_returns_422_and_creates_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/bots",
        content=b'{"name": "broken", "strategy": ',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"] == "ValidationError"
    assert "JSON" in response.json()["detail"]
    assert await _bot_count(client, admin_headers) == 0


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"strategy": "moon_shot"}, "moon_shot"),
        ({"params": {"fast": 3, "slow": 8, "turbo": 1}}, "turbo"),
        ({"params": {"fast": 9, "slow": 8}}, "fast"),
        ({"quote_budget": "-5"}, "quote_budget"),
        ({"quote_budget": "lots"}, "quote_budget"),
        ({"quote_budget": True}, "quote_budget"),
        ({"fee_bps": "NaN"}, "fee_bps"),
        ({"name": 42}, "name"),
        ({"colour": "red"}, "colour"),
        ({"data_source": "nowhere"}, "nowhere"),
    ],
)
async def test_invalid_bot_returns_422_naming_problem_and_creates_nothing(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    overrides: dict[str, object],
    named: str,
) -> None:
    response = await client.post("/bots", json=bot_body(**overrides), headers=admin_headers)
    assert response.status_code == 422, response.text
    assert named in response.json()["detail"]
    assert await _bot_count(client, admin_headers) == 0


async def test_missing_field_returns_422_naming_field(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = bot_body()
    del body["quote_budget"]
    response = await client.post("/bots", json=body, headers=admin_headers)
    assert response.status_code == 422
    assert "quote_budget" in response.json()["detail"]


async def test_start_twice_returns_409_then_stop_returns_stopped(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bot_id = (await client.post("/bots", json=bot_body(), headers=admin_headers)).json()["id"]
    first = await client.post(f"/bots/{bot_id}/start", headers=admin_headers)
    assert first.status_code == 200, first.text
    second = await client.post(f"/bots/{bot_id}/start", headers=admin_headers)
    assert second.status_code == 409
    assert second.json()["error"] == "ConflictError"
    stopped = await client.post(f"/bots/{bot_id}/stop", headers=admin_headers)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] in ("stopped", "finished")


async def test_stop_idle_bot_returns_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bot_id = (await client.post("/bots", json=bot_body(), headers=admin_headers)).json()["id"]
    response = await client.post(f"/bots/{bot_id}/stop", headers=admin_headers)
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/bots/nope"),
        ("POST", "/bots/nope/start"),
        ("POST", "/bots/nope/stop"),
        ("GET", "/portfolio/nope"),
    ],
)
async def test_unknown_bot_returns_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str], method: str, path: str
) -> None:
    response = await client.request(method, path, headers=admin_headers)
    assert response.status_code == 404
    assert response.json() == {"error": "NotFoundError", "detail": "no bot with id 'nope'"}


async def test_new_bot_portfolio_returns_budget_as_cash(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = bot_body(quote_budget="250.50")
    bot_id = (await client.post("/bots", json=body, headers=admin_headers)).json()["id"]
    book = (await client.get(f"/portfolio/{bot_id}", headers=admin_headers)).json()
    # Strings, compared as numbers: the store keeps the value, not its trailing zeros.
    assert isinstance(book["cash"], str)
    assert Decimal(book["cash"]) == Decimal(book["equity"]) == Decimal("250.50")
    assert {k: Decimal(v) for k, v in book["balances"].items()} == {"USDT": Decimal("250.50")}
    assert Decimal(book["realized_pnl"]) == 0
