"""``/backtest`` over real loopback HTTP and WebSocket, with real worker processes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import websockets

from task_station.api.hub import Outbox
from task_station.api.messages import CONVERTERS, DEFAULT_TOPICS, conflation_key, encode
from task_station.domain.events import BacktestFinished, BacktestProgress
from tests.api.helpers import ADMIN_PASSWORD, Station, bearer, login
from tests.jobs.backtest_files import add_user_strategies, candle_file

TIMEOUT = 60.0


async def _recv(ws: Any) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert isinstance(message, dict)
    return message


async def _until_finished(ws: Any, run_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Backtest messages per run, in the order received, until every run finished."""
    heard: dict[str, list[dict[str, Any]]] = {run_id: [] for run_id in run_ids}
    waiting = set(run_ids)
    while waiting:
        message = await _recv(ws)
        if message["type"] in ("backtest_progress", "backtest_finished"):
            run_id = message["data"]["run_id"]
            heard[run_id].append(message)
            if message["type"] == "backtest_finished":
                waiting.discard(run_id)
    return heard


def body(data: Path, **changes: Any) -> dict[str, Any]:
    return {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "data": str(data),
            "cash": "10000", "fee_bps": "10", **changes}  # fmt: skip


async def test_runs_submitted_over_http_report_on_ws_and_are_fetched_compared_and_reported(
    station: Station, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    token = await login(client, "admin", ADMIN_PASSWORD)
    auth = bearer(token)
    data = candle_file(tmp_path, bars=500)
    async with websockets.connect(station.ws_url(token)) as ws:
        hello = await _recv(ws)
        assert "backtest" in hello["topics"]
        first = await client.post("/backtest", json=body(data), headers=auth)
        second = await client.post(
            "/backtest", json=body(data, params={"fast": 10, "slow": 40}), headers=auth
        )
        assert first.status_code == second.status_code == 202, first.text
        ids = [first.json()["id"], second.json()["id"]]
        assert first.json()["status"] in ("queued", "running")
        heard = await _until_finished(ws, set(ids))

    run = (await client.get(f"/backtest/{ids[0]}", headers=auth)).json()
    assert run["status"] == "finished" and run["progress"] == 1.0
    assert run["bars"] == 500 and run["symbol"] == "BTC/USDT" and run["cash"] == "10000"
    finished = heard[ids[0]][-1]
    assert finished["type"] == "backtest_finished"
    assert finished["data"] == {
        "run_id": ids[0], "status": "finished", "final_equity": run["final_equity"], "error": None
    }  # fmt: skip
    progress = [m["data"] for m in heard[ids[0]][:-1]]
    assert progress[0]["done"] == 0 and progress[-1]["done"] == progress[-1]["total"] == 500
    assert len(run["result"]["trades"]) == run["trade_count"]
    assert "report_files" not in run["result"]  # the station's paths stay private

    listed = (await client.get("/backtest", headers=auth)).json()
    assert sorted(r["id"] for r in listed) == sorted(ids) and "result" not in listed[0]

    compared = await client.get(f"/backtest/compare?ids={ids[0]},{ids[1]}", headers=auth)
    assert compared.status_code == 200, compared.text
    rows = {(r["section"], r["name"]): r["values"] for r in compared.json()["rows"]}
    assert rows[("param", "fast")] == [5, 10] and rows[("param", "slow")] == [20, 40]
    assert rows[("result", "final_equity")][0] == run["final_equity"]
    assert rows[("metric", "sharpe")][0] == run["metrics"]["sharpe"]

    html = await client.get(run["report"], headers=auth)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<html" in html.text.lower()
    as_json = await client.get(f"{run['report']}?format=json", headers=auth)
    assert as_json.status_code == 200 and isinstance(as_json.json(), dict)
    csv = await client.get(f"{run['report']}?format=csv", headers=auth)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    bad = await client.get(f"{run['report']}?format=pdf", headers=auth)
    assert bad.status_code == 422 and "html, json or csv" in bad.json()["detail"]


async def test_bad_submissions_and_unknown_runs_answer_clearly_and_store_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str], tmp_path: Path
) -> None:
    data = candle_file(tmp_path, bars=50)
    cases = [
        (body(data, strategy="nope"), "unknown strategy 'nope'"),
        (body(tmp_path / "missing.parquet"), "does not exist"),
        (body(data, cash="-1"), "starting cash must be positive"),
        (body(data, cash="lots"), "cash"),
        (body(data, fee_bps="10000"), "fee_bps must be between 0 and 10000"),
        (body(data, surprise=1), "surprise"),
    ]
    for request, detail in cases:
        response = await client.post("/backtest", json=request, headers=admin_headers)
        assert response.status_code == 422, response.text
        assert detail in response.json()["detail"]
    assert (await client.get("/backtest", headers=admin_headers)).json() == []
    for method, path in [
        ("GET", "/backtest/nope"),
        ("POST", "/backtest/nope/cancel"),
        ("GET", "/backtest/nope/report"),
        ("GET", "/backtest/compare?ids=nope"),
    ]:
        response = await client.request(method, path, headers=admin_headers)
        assert response.status_code == 404, (path, response.text)
        assert "backtest run nope does not exist" in response.json()["detail"]
    assert (await client.get("/backtest")).status_code == 401


async def test_cancel_over_http_answers_once_the_run_is_cancelled_and_viewers_may_not(
    station: Station, client: httpx.AsyncClient, admin_headers: dict[str, str], tmp_path: Path
) -> None:
    add_user_strategies(station.container.settings.data_dir / "strategies")
    assert (await client.post("/strategies/reload", headers=admin_headers)).status_code == 200
    data = candle_file(tmp_path, bars=50_000)
    slow = {"strategy": "slow", "data": str(data), "cash": "1000"}
    submitted = await client.post("/backtest", json=slow, headers=admin_headers)
    assert submitted.status_code == 202, submitted.text
    run_id = submitted.json()["id"]
    station.add_user("vera", "viewer-pw-Correct-1", "viewer")
    viewer = bearer(await login(client, "vera", "viewer-pw-Correct-1"))
    assert (await client.post("/backtest", json=slow, headers=viewer)).status_code == 403
    assert (await client.post(f"/backtest/{run_id}/cancel", headers=viewer)).status_code == 403
    assert (await client.get(f"/backtest/{run_id}", headers=viewer)).status_code == 200
    cancelled = await client.post(f"/backtest/{run_id}/cancel", headers=admin_headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await client.post(f"/backtest/{run_id}/cancel", headers=admin_headers)
    assert again.status_code == 409
    report = await client.get(f"/backtest/{run_id}/report", headers=admin_headers)
    assert report.status_code == 404 and "it is cancelled" in report.json()["detail"]


def test_backtest_events_are_ws_messages_with_exact_equity_and_progress_conflated() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    topic, convert = CONVERTERS[BacktestFinished]
    done = convert(BacktestFinished(t0, "r1", "finished", Decimal("10250.1250000001"), None))
    assert topic == "backtest" and topic in DEFAULT_TOPICS
    assert done == {
        "type": "backtest_finished", "ts": t0.isoformat(),
        "data": {"run_id": "r1", "status": "finished", "final_equity": "10250.1250000001",
                 "error": None},
    }  # fmt: skip
    failed = convert(BacktestFinished(t0, "r2", "failed", None, "the file is gone"))
    assert failed["data"]["final_equity"] is None and failed["data"]["error"] == "the file is gone"
    # a slow client keeps only the newest progress of each run, never losing the end
    outbox = Outbox(16)
    topic, convert = CONVERTERS[BacktestProgress]
    for done_bars in (0, 100, 200):
        event = BacktestProgress(t0, "r1", done_bars, 300)
        outbox.put(encode(convert(event)), conflation_key(event))
    end = BacktestFinished(t0, "r1", "finished", Decimal(1), None)
    outbox.put(encode(CONVERTERS[BacktestFinished][1](end)), conflation_key(end))
    assert len(outbox) == 2


async def test_a_parameter_sweep_over_http_ranks_every_combination_and_refuses_bad_grids(
    client: httpx.AsyncClient, admin_headers: dict[str, str], tmp_path: Path
) -> None:
    data = candle_file(tmp_path, bars=800)
    request = {
        "strategy": "sma_cross",
        "grid": {"fast": [5, 10], "slow": [20, 40]},
        "data": str(data),
        "cash": "10000",
        "fee_bps": "10",
        "sort_by": "sharpe",
        "top": 3,
    }
    response = await client.post("/backtest/sweep", json=request, headers=admin_headers)
    assert response.status_code == 200, response.text
    rows = response.json()
    assert len(rows) == 3  # the best 3 of 4
    sharpes = [r["sharpe"] for r in rows]
    assert sharpes == sorted(sharpes, reverse=True)
    assert all(r["engine"] == "vectorized" and r["error"] is None for r in rows)
    assert {(r["params"]["fast"], r["params"]["slow"]) for r in rows} <= {
        (5, 20), (5, 40), (10, 20), (10, 40)
    }  # fmt: skip
    for bad, detail in [
        ({"strategy": "nope"}, "unknown strategy 'nope'"),
        ({"sort_by": "luck"}, "cannot rank by 'luck'"),
        ({"grid": {"fast": []}}, "no combination"),
        ({"cash": "0"}, "starting cash must be positive"),
    ]:
        refused = await client.post(
            "/backtest/sweep", json={**request, **bad}, headers=admin_headers
        )
        assert refused.status_code == 422, refused.text
        assert detail in refused.json()["detail"]
