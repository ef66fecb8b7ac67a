"""Bus events as WebSocket messages.

Every event message is ``{"type": TYPE, "ts": ISO-8601, "data": {...}}`` with the same
field names and string-encoded money as the REST responses, so a client parses a fill
from ``/ws`` and from ``GET /fills`` with one model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from task_station.api.market_schemas import MARKET_DATA_CONVERTERS, market_data_conflation_key
from task_station.api.proposal_schemas import proposal_out
from task_station.api.schemas import CandleOut, FillOut, OrderOut, format_money
from task_station.domain.events import (
    ArbitrageAlert,
    ArbitrageTradeCompleted,
    BacktestFinished,
    BacktestProgress,
    BarClosed,
    BotControlChanged,
    BotStatusChanged,
    Event,
    KillSwitchChanged,
    OrderDenied,
    OrderFilled,
    OrderUpdated,
    PortfolioChanged,
    ProposalCreated,
    ProposalDecided,
    RiskBreached,
)
from task_station.domain.jobs import JobChanged, JobProgressed
from task_station.domain.notifications import NotificationRaised
from task_station.domain.tasks import TaskChanged, TaskRunChanged

#: Topics every connection receives; ``bars`` must be asked for (one message per bar).
DEFAULT_TOPICS = frozenset(
    {"bot_status", "order", "fill", "portfolio", "proposal", "risk", "arbitrage", "backtest"}
    | {"job", "notification", "task"}
    | {"health"}  # the station's readiness, sent on change (see ``hub.HealthBeacon``)
    | {"market_data"}  # downloads, recordings and replays (``market_schemas``)
)
OPTIONAL_TOPICS = frozenset({"bars"})

Message = dict[str, Any]


def _envelope(kind: str, event: Event, data: Message) -> Message:
    return {"type": kind, "ts": event.ts.isoformat(), "data": data}


def _bot_status(event: BotStatusChanged) -> Message:
    data = {"bot_id": event.bot_id, "name": event.name, "status": event.status.value}
    return _envelope("bot_status", event, {**data, "error": event.error})


def _order(event: OrderUpdated) -> Message:
    data = OrderOut.model_validate(event.order).model_dump(mode="json")
    return _envelope("order", event, data)


def _order_denied(event: OrderDenied) -> Message:
    data = OrderOut.model_validate(event.order).model_dump(mode="json")
    return _envelope("order", event, {**data, "reason": event.reason})


def _fill(event: OrderFilled) -> Message:
    data = FillOut.model_validate(event.fill).model_dump(mode="json")
    return _envelope("fill", event, {**data, "order_status": event.order.status.value})


def _portfolio(event: PortfolioChanged) -> Message:
    return _envelope(
        "portfolio",
        event,
        {
            "bot_id": event.bot_id,
            "equity": format_money(event.equity),
            "cash": format_money(event.cash),
            "realized_pnl": format_money(event.realized_pnl),
            "unrealized_pnl": format_money(event.unrealized_pnl),
        },
    )


def _bar(event: BarClosed) -> Message:
    candle = CandleOut.model_validate(event.candle).model_dump(mode="json")
    data = {"bot_id": event.bot_id, "venue": event.venue, "symbol": event.symbol}
    return _envelope("bar", event, {**data, "timeframe": event.timeframe, "candle": candle})


def _proposal(event: ProposalCreated | ProposalDecided) -> Message:
    data = proposal_out(event.proposal).model_dump(mode="json")
    return _envelope("proposal", event, data)


def _bot_control(event: BotControlChanged) -> Message:
    data = {"bot_id": event.bot_id, "mode": event.mode.value, "actor": event.actor}
    return _envelope("bot_mode", event, data)


def _risk_breach(event: RiskBreached) -> Message:
    data = {
        "bot_id": event.bot_id,
        "limit": event.limit,
        "scope": event.scope,
        "message": event.message,
        "paused": event.paused,
    }
    return _envelope("risk_breach", event, data)


def _kill_switch(event: KillSwitchChanged) -> Message:
    data = {"engaged": event.engaged, "actor": event.actor, "reason": event.reason}
    return _envelope("kill_switch", event, data)


def _arbitrage_alert(event: ArbitrageAlert) -> Message:
    data = {
        "bot_id": event.bot_id,
        "strategy": event.strategy,
        "message": event.message,
        "paused": event.paused,
    }
    return _envelope("arbitrage_alert", event, data)


def _arbitrage_trade(event: ArbitrageTradeCompleted) -> Message:
    data = {
        "bot_id": event.bot_id,
        "strategy": event.strategy,
        "outcome": event.outcome,
        "legs": event.legs,
        "realized_pnl": format_money(event.realized_pnl),
        "fees": format_money(event.fees),
        "gas": format_money(event.gas),
        "quote_asset": event.quote_asset,
        "reason": event.reason,
    }
    return _envelope("arbitrage_trade", event, data)


def _backtest_progress(event: BacktestProgress) -> Message:
    data = {"run_id": event.run_id, "done": event.done, "total": event.total}
    return _envelope("backtest_progress", event, data)


def _backtest_finished(event: BacktestFinished) -> Message:
    equity = None if event.final_equity is None else format_money(event.final_equity)
    data = {"run_id": event.run_id, "status": event.status, "final_equity": equity}
    return _envelope("backtest_finished", event, {**data, "error": event.error})


def _job(event: JobChanged) -> Message:
    data = {"job_id": event.job_id, "kind": event.kind, "title": event.title}
    attempts = {"attempts": event.attempts, "max_attempts": event.max_attempts}
    return _envelope("job", event, {**data, "state": event.state, **attempts, "error": event.error})


def _job_progress(event: JobProgressed) -> Message:
    data = {"job_id": event.job_id, "kind": event.kind, "done": event.done, "total": event.total}
    return _envelope("job_progress", event, {**data, "message": event.message})


def _notification(event: NotificationRaised) -> Message:
    data = {"id": event.notification_id, "kind": event.kind, "severity": event.severity}
    return _envelope("notification", event, {**data, "title": event.title, "body": event.body})


def _task(event: TaskChanged) -> Message:
    data = {"task_id": event.task_id, "name": event.name, "change": event.change}
    return _envelope("task", event, data)


def _task_run(event: TaskRunChanged) -> Message:
    data = {"task_id": event.task_id, "name": event.task_name, "run_id": event.run_id}
    return _envelope(
        "task_run", event, {**data, "status": event.status.value, "error": event.error}
    )


#: event class -> (topic, converter). The hub subscribes to exactly these classes.
CONVERTERS: dict[type[Event], tuple[str, Callable[[Any], Message]]] = {
    BotStatusChanged: ("bot_status", _bot_status),
    OrderUpdated: ("order", _order),
    OrderDenied: ("order", _order_denied),
    OrderFilled: ("fill", _fill),
    PortfolioChanged: ("portfolio", _portfolio),
    BarClosed: ("bars", _bar),
    ProposalCreated: ("proposal", _proposal),
    ProposalDecided: ("proposal", _proposal),
    BotControlChanged: ("bot_status", _bot_control),
    RiskBreached: ("risk", _risk_breach),
    KillSwitchChanged: ("risk", _kill_switch),
    ArbitrageAlert: ("arbitrage", _arbitrage_alert),
    ArbitrageTradeCompleted: ("arbitrage", _arbitrage_trade),
    BacktestProgress: ("backtest", _backtest_progress),
    BacktestFinished: ("backtest", _backtest_finished),
    JobChanged: ("job", _job),
    JobProgressed: ("job", _job_progress),
    NotificationRaised: ("notification", _notification),
    TaskChanged: ("task", _task),
    TaskRunChanged: ("task", _task_run),
    **MARKET_DATA_CONVERTERS,
}


def conflation_key(event: Event) -> str | None:
    """Events that are state snapshots: only the newest unsent one per key matters."""
    if isinstance(event, PortfolioChanged):
        return f"portfolio:{event.bot_id}"
    if isinstance(event, BacktestProgress):
        return f"backtest:{event.run_id}"
    if isinstance(event, JobProgressed):
        return f"job:{event.job_id}"
    return market_data_conflation_key(event)


def encode(message: Message) -> str:
    return json.dumps(message, separators=(",", ":"))


def hello(username: str, role: str, topics: frozenset[str]) -> Message:
    return {
        "type": "hello",
        "user": {"username": username, "role": role},
        "topics": sorted(topics),
        "optional_topics": sorted(OPTIONAL_TOPICS),
    }
