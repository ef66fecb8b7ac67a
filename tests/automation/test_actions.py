"""Actions over the real services: an outgoing webhook to a loopback aiohttp server
(retried on server errors, not on client errors; timeouts), the bot actions on a
running bot (orders, pause, resume, close positions, stop) and a backtest run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from task_station.domain.bots import BotStatus
from task_station.domain.orders import OrderStatus
from task_station.domain.tasks import ActionKind, RunStatus, TaskRun
from task_station.security.vault import SecretsVault
from tests.automation.support import (
    Station,
    open_station,
    shared_vault_fixture,  # noqa: F401 - a fixture
    until,
)
from tests.jobs.backtest_files import candle_file

YEARLY = [{"kind": "cron", "config": {"expression": "0 0 1 1 *"}}]


@dataclass
class Receiver:
    """A loopback HTTP server keeping every request; ``plan`` lists statuses to answer
    first (then 200); ``delay`` seconds before each answer."""

    port: int = 0
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    plan: list[int] = field(default_factory=list)
    delay: float = 0.0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((request.path_qs, dict(request.headers), await request.read()))
        await asyncio.sleep(self.delay)
        status = self.plan.pop(0) if self.plan else 200
        return web.json_response({"ok": status < 400}, status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = runner.addresses[0][1]
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
async def station(tmp_path: Path, shared_vault: SecretsVault) -> AsyncIterator[Station]:
    built = open_station(tmp_path / "station", shared_vault)
    built.services.tasks.runner.retry_delay = 0.01
    yield built
    await built.container.aclose()


async def run_task(station: Station, name: str, actions: list[dict[str, Any]]) -> TaskRun:
    tasks = station.services.tasks
    task = tasks.create(station.admin, name=name, triggers=YEARLY, actions=actions)
    return await tasks.run_now(station.admin, task.id)


async def test_outgoing_webhook_posts_the_rendered_body_and_retries_server_errors(
    station: Station, receiver: Receiver
) -> None:
    receiver.plan = [503, 502]
    call = {
        "url": receiver.url("/hook?token=do-not-log-me"),
        "body": {"text": "{{task}} run {{run_id}}", "price": "{{price}}"},
        "headers": {"X-Source": "task-station"},
    }
    run = await run_task(station, "ping", [{"kind": "call_webhook", "config": call}])
    assert run.status is RunStatus.SUCCEEDED
    outcome = run.outcomes[0]
    assert (
        outcome.attempts == 3
        and outcome.detail == f"POST http://127.0.0.1:{receiver.port}/hook -> 200"
    )
    assert len(receiver.received) == 3
    path, headers, body = receiver.received[-1]
    assert path == "/hook?token=do-not-log-me" and headers["X-Source"] == "task-station"
    assert json.loads(body) == {"text": f"ping run {run.id}", "price": "{{price}}"}
    assert not any("do-not-log-me" in line for line in run.logs)


async def test_outgoing_webhook_client_errors_and_timeouts_fail_the_run(
    station: Station, receiver: Receiver
) -> None:
    receiver.plan = [404]
    refused = await run_task(
        station, "refused", [{"kind": "call_webhook", "config": {"url": receiver.url("/x")}}]
    )
    assert refused.status is RunStatus.FAILED and refused.outcomes[0].attempts == 1
    assert "answered 404" in (refused.error or "")
    receiver.delay = 1.5
    slow = {"url": receiver.url("/slow"), "timeout_seconds": 1, "retries": 0}
    late = await run_task(station, "late", [{"kind": "call_webhook", "config": slow}])
    assert late.status is RunStatus.FAILED and "timed out" in (late.error or "")


async def test_bot_actions_trade_pause_resume_close_and_stop_a_running_bot(
    station: Station,
) -> None:
    bot = station.bot(control_mode="manual")
    buy = await run_task(
        station,
        "buy",
        [
            {"kind": "start_bot", "config": {"bot_id": bot.id}},
            {
                "kind": "place_order",
                "config": {"bot_id": bot.id, "side": "buy", "quantity": "0.01"},
            },
        ],
    )
    assert buy.status is RunStatus.SUCCEEDED, buy.error
    orders = station.services.orders
    await until(lambda: any(o.status is OrderStatus.FILLED for o in orders.list(bot_id=bot.id)))
    flat = await run_task(
        station,
        "flatten",
        [
            {"kind": "pause_bot", "config": {"bot_id": bot.id, "reason": "news"}},
            {"kind": "cancel_orders", "config": {"bot_id": bot.id}},
            {"kind": "close_positions", "config": {"bot_id": bot.id}},
            {"kind": "resume_bot", "config": {"bot_id": bot.id}},
            {"kind": "stop_bot", "config": {"bot_id": bot.id}},
            {"kind": "stop_bot", "config": {"bot_id": bot.id}},
        ],
    )
    assert flat.status is RunStatus.SUCCEEDED, flat.error
    details = [o.detail for o in flat.outcomes]
    assert details[0] == "paused bot 'sma'"
    assert details[1] == "asked to cancel 0 open orders of bot 'sma'"
    assert details[2].startswith("closing orders sent: sell 0.01 BTC/USDT")
    assert details[3] == "resumed bot 'sma'"
    assert details[5] == "bot 'sma' was not running (stopped)"
    assert station.services.bots.get(bot.id).status is BotStatus.STOPPED
    sells = [o for o in orders.list(bot_id=bot.id) if o.tag == "close positions"]
    assert len(sells) == 1 and sells[0].quantity == Decimal("0.01")
    assert buy.outcomes[1].kind is ActionKind.PLACE_ORDER


async def test_run_backtest_action_queues_a_stored_run(station: Station, tmp_path: Path) -> None:
    data = candle_file(tmp_path / "data", bars=300)
    config = {"strategy": "sma_cross", "params": {"fast": 3, "slow": 8}, "data": str(data),
              "cash": "10000"}  # fmt: skip
    run = await run_task(station, "nightly backtest", [{"kind": "run_backtest", "config": config}])
    assert run.status is RunStatus.SUCCEEDED, run.error
    queued = station.services.backtests.list()
    assert len(queued) == 1 and queued[0].created_by == "admin"
    assert run.outcomes[0].detail.startswith(f"backtest run {queued[0].id} queued")
