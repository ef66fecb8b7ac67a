"""What a task's actions do: each one calls a service as the task's owner.

An action's text values may hold ``{{name}}`` placeholders, filled from the alert that
fired the run and from ``task``, ``task_id`` and ``run_id``; a placeholder nothing
fills stays as written. Actions that are asked for what is already so (start a running
bot, stop a stopped one, cancel the orders of a bot that has none) succeed and say so:
doing them again is harmless, which is what lets them be retried. Placing an order is
done once: a denied or rejected order fails the action, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from task_station.domain.bots import BotStatus
from task_station.domain.errors import ConfigurationError
from task_station.domain.orders import OrderStatus
from task_station.domain.tasks import Action, ActionFailed, ActionKind, TransientActionError
from task_station.services.bundle import Services
from task_station.services.tasks import ActionContext, Notifier

__all__ = ["ActionPerformer", "Notifier", "render"]

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")
_REFUSED = (OrderStatus.DENIED, OrderStatus.REJECTED)
Handler = Callable[[dict[str, Any], ActionContext], Awaitable[str]]


def render(value: Any, values: Mapping[str, str]) -> Any:
    """``value`` with every ``{{name}}`` in its text replaced from ``values``."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1).lower(), m.group(0)), value)
    if isinstance(value, dict):
        return {k: render(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, values) for v in value]
    return value


def _values(context: ActionContext) -> dict[str, str]:
    alert = {} if context.alert is None else context.alert.values()
    own = {"task": context.task.name, "task_id": context.task.id, "run_id": str(context.run_id)}
    return {**alert, **own}


def _safe_url(url: str) -> str:
    """The URL without its query or credentials (a token often rides there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class ActionPerformer:
    """Performs actions through ``services``; ``notifier`` sends notifications."""

    def __init__(
        self,
        services: Services,
        notifier: Notifier | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._services = services
        self._notifier = notifier
        self._http = http
        self._own_http = http is None
        self._handlers: dict[ActionKind, Handler] = {
            ActionKind.START_BOT: self._start_bot,
            ActionKind.STOP_BOT: self._stop_bot,
            ActionKind.PAUSE_BOT: self._pause_bot,
            ActionKind.RESUME_BOT: self._resume_bot,
            ActionKind.PLACE_ORDER: self._place_order,
            ActionKind.CANCEL_ORDERS: self._cancel_orders,
            ActionKind.CLOSE_POSITIONS: self._close_positions,
            ActionKind.RUN_BACKTEST: self._run_backtest,
            ActionKind.NOTIFY: self._notify,
            ActionKind.CALL_WEBHOOK: self._call_webhook,
        }

    async def perform(self, action: Action, context: ActionContext) -> str:
        params = render(dict(action.config), _values(context))
        return await self._handlers[action.kind](params, context)

    async def aclose(self) -> None:
        if self._http is not None and self._own_http:
            await self._http.aclose()
            self._http = None

    # -- bots ----------------------------------------------------------------------------

    def _bot_id(self, params: Mapping[str, Any], context: ActionContext) -> str:
        bot_id = params.get("bot_id") or (context.alert.bot_id if context.alert else None)
        if not bot_id:
            raise ActionFailed("no bot given: set bot_id on the action or send bot_id in the alert")
        return str(self._services.bots.get(str(bot_id)).id)

    async def _start_bot(self, params: dict[str, Any], context: ActionContext) -> str:
        bots = self._services.bots
        bot = bots.get(self._bot_id(params, context))
        if bots.is_running(bot.id):
            return f"bot {bot.name!r} was already running"
        started = await bots.start(context.actor, bot.id)
        return f"started bot {bot.name!r} ({started.status.value})"

    async def _stop_bot(self, params: dict[str, Any], context: ActionContext) -> str:
        bots = self._services.bots
        bot = bots.get(self._bot_id(params, context))
        if not bots.is_running(bot.id):
            return f"bot {bot.name!r} was not running ({bot.status.value})"
        stopped = await bots.stop(context.actor, bot.id)
        return f"stopped bot {bot.name!r} ({stopped.status.value})"

    async def _pause_bot(self, params: dict[str, Any], context: ActionContext) -> str:
        bots = self._services.bots
        bot = bots.get(self._bot_id(params, context))
        if bot.status is BotStatus.PAUSED:
            return f"bot {bot.name!r} was already paused"
        reason = params.get("reason") or f"task {context.task.name!r}"
        bots.pause(context.actor, bot.id, str(reason))
        return f"paused bot {bot.name!r}"

    async def _resume_bot(self, params: dict[str, Any], context: ActionContext) -> str:
        bots = self._services.bots
        bot = bots.get(self._bot_id(params, context))
        if bot.status is BotStatus.RUNNING:
            return f"bot {bot.name!r} was already running"
        bots.resume(context.actor, bot.id)
        return f"resumed bot {bot.name!r}"

    async def _cancel_orders(self, params: dict[str, Any], context: ActionContext) -> str:
        bots = self._services.bots
        bot = bots.get(self._bot_id(params, context))
        if not bots.is_running(bot.id):
            return f"bot {bot.name!r} is not running: it has no open orders"
        count = await bots.cancel_orders(context.actor, bot.id)
        return f"asked to cancel {count} open orders of bot {bot.name!r}"

    async def _close_positions(self, params: dict[str, Any], context: ActionContext) -> str:
        bot_id = params.get("bot_id") or (context.alert.bot_id if context.alert else None)
        target = None if not bot_id else self._bot_id(params, context)
        orders = await self._services.bots.close_positions(context.actor, target)
        if not orders:
            return "no open position to close"
        sent = "; ".join(
            f"{o.side.value} {o.quantity} {o.symbol} -> {o.status.value}" for o in orders
        )
        refused = [o for o in orders if o.status in _REFUSED]
        if refused:
            raise ActionFailed(f"closing orders refused: {sent}")
        return f"closing orders sent: {sent}"

    # -- orders ----------------------------------------------------------------------------

    async def _place_order(self, params: dict[str, Any], context: ActionContext) -> str:
        alert = context.alert
        side = params.get("side") or (alert.side if alert else None)
        quantity = params.get("quantity") or (alert.quantity if alert else None)
        if side not in ("buy", "sell"):
            raise ActionFailed(
                "place_order needs a side, buy or sell: set it on the action or send it "
                'in the alert ("action": "buy")'
            )
        if quantity is None:
            raise ActionFailed(
                'place_order needs a quantity: set it on the action or send it in the alert ("qty": ...)'
            )
        kind = params.get("type") or (alert.order_type if alert else None) or "market"
        price = params.get("price") or (alert.price if alert and kind == "limit" else None)
        order = await self._services.proposals.place_manual_order(
            context.actor, self._bot_id(params, context), side, Decimal(str(quantity)), kind, price
        )
        text = f"order {order.client_order_id}: {side} {order.quantity} {order.symbol} {kind}"
        if order.status in _REFUSED:
            raise ActionFailed(f"{text} was {order.status.value}: {order.reason}")
        return f"{text} -> {order.status.value}"

    async def _run_backtest(self, params: dict[str, Any], context: ActionContext) -> str:
        run = await self._services.backtests.submit(
            context.actor,
            strategy=str(params["strategy"]),
            params=dict(params.get("params") or {}),
            data=str(params["data"]),
            cash=params["cash"],
            fee_bps=params.get("fee_bps") or Decimal(0),
            symbol=params.get("symbol"),
        )
        return f"backtest run {run.id} queued ({run.strategy} on {run.symbol}, {run.bars} bars)"

    # -- messages out --------------------------------------------------------------------

    async def _notify(self, params: dict[str, Any], context: ActionContext) -> str:
        if self._notifier is None:
            raise ConfigurationError(
                "this station has no notification service: the notify action cannot send"
            )
        data: dict[str, object] = {"task_id": context.task.id, "run_id": context.run_id}
        await self._notifier.notify(
            str(params.get("kind") or "task"),
            str(params["title"]),
            str(params.get("body") or ""),
            data=data,
        )
        return f"notified: {params['title']}"

    async def _call_webhook(self, params: dict[str, Any], context: ActionContext) -> str:
        url, method = str(params["url"]), str(params.get("method") or "post").upper()
        body = params.get("body")
        options: dict[str, Any] = {"headers": dict(params.get("headers") or {})}
        if isinstance(body, dict | list):
            options["json"] = body
        elif body is not None:
            options["content"] = str(body).encode("utf-8")
        shown = f"{method} {_safe_url(url)}"
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False)
        try:
            response = await self._http.request(
                method, url, timeout=float(params.get("timeout_seconds") or 10), **options
            )
        except httpx.TimeoutException:
            raise TransientActionError(f"{shown} timed out") from None
        except httpx.HTTPError as exc:
            raise TransientActionError(f"{shown} failed: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientActionError(f"{shown} answered {response.status_code}")
        if response.status_code >= 400:
            raise ActionFailed(f"{shown} answered {response.status_code}: {response.text[:200]}")
        return f"{shown} -> {response.status_code}"
