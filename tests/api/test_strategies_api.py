"""The strategies routes over real HTTP: the list with each strategy's origin, and
``POST /strategies/reload`` picking up the trader's files (traders only)."""

from __future__ import annotations

import httpx

from tests.api.helpers import Station, bearer, bot_body, login
from tests.support.user_strategy import BROKEN, hold, write_strategy


def _by_name(strategies: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(s["name"]): s for s in strategies}


async def test_the_list_names_each_strategy_origin(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert (await client.get("/strategies")).status_code == 401
    response = await client.get("/strategies", headers=admin_headers)
    assert response.status_code == 200, response.text
    sma = _by_name(response.json())["sma_cross"]
    assert (sma["origin"], sma["file"]) == ("builtin", None)
    assert [p["name"] for p in sma["params"]] == ["fast", "slow"]  # type: ignore[union-attr]


async def test_reload_offers_a_new_file_and_reports_a_broken_one(
    station: Station, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    folder = station.container.settings.data_dir / "strategies"
    write_strategy(folder, hold())
    write_strategy(folder, BROKEN, "broken.py")
    response = await client.post("/strategies/reload", headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "added": ["my_hold"],
        "updated": [],
        "removed": [],
        "errors": ["broken.py:4: syntax error: expected ':'"],
        "changed": True,
    }
    listed = _by_name((await client.get("/strategies", headers=admin_headers)).json())
    assert (listed["my_hold"]["origin"], listed["my_hold"]["file"]) == ("user", "my_hold.py")
    assert "broken" not in listed
    created = await client.post(
        "/bots", json=bot_body(strategy="my_hold", params={"delay": 2}), headers=admin_headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["params"] == {"delay": 2}

    again = await client.post("/strategies/reload", headers=admin_headers)
    assert again.json()["changed"] is False and again.json()["errors"] == [
        "broken.py:4: syntax error: expected ':'"
    ]


async def test_reload_needs_the_trader_role(station: Station, client: httpx.AsyncClient) -> None:
    station.add_user("vera", "viewer-password", "viewer")
    viewer = bearer(await login(client, "vera", "viewer-password"))
    assert (await client.get("/strategies", headers=viewer)).status_code == 200
    refused = await client.post("/strategies/reload", headers=viewer)
    assert refused.status_code == 403, refused.text
    assert "may not reload strategy files" in refused.text
