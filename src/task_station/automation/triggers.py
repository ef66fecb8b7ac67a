"""Triggers fired by events on the bus: the market, bots and other tasks' runs.

- ``price_cross``: a closed bar's price crosses ``level`` (``up``, ``down`` or ``any``).
- ``price_move``: the price moved ``percent`` within ``window_seconds`` (from the
  window's low for ``up``, its high for ``down``); the window starts again after.
- ``indicator``: an SMA, EMA or RSI of the closes goes ``above`` or ``below``
  ``value`` (fires when it becomes so) or ``crosses_above``/``crosses_below`` it (only
  from the other side).
- ``bot_event``: a bot started, stopped, paused, failed or finished.
- ``bot_pnl``: a bot's P&L (realized + unrealized) falls below or rises above a
  threshold, or its drawdown from peak equity passes ``drawdown_pct``; each fires when
  crossed and again only after coming back.
- ``task_result``: another task's run succeeded or failed (chaining).

Each market series is watched per bot (every bot replays its own), with an optional
``bot_id`` filter, and ``cooldown_seconds`` of market time between two firings. The
bar events are only subscribed to while some trigger watches the market: a replay at
full speed otherwise skips building them.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from task_station.domain.bots import BotStatus
from task_station.domain.events import BarClosed, BotStatusChanged, Event, PortfolioChanged
from task_station.domain.tasks import Alert, RunStatus, Task, TaskRunChanged, Trigger, TriggerKind
from task_station.engine.bus import EventBus
from task_station.services.tasks import TaskService
from task_station.strategies.ta import EMA, RSI, SMA

log = logging.getLogger(__name__)

MARKET = (TriggerKind.PRICE_CROSS, TriggerKind.PRICE_MOVE, TriggerKind.INDICATOR)
EVENTFUL = (*MARKET, TriggerKind.BOT_EVENT, TriggerKind.BOT_PNL, TriggerKind.TASK_RESULT)
_BOT_EVENT = {
    BotStatus.RUNNING: "started",
    BotStatus.STOPPED: "stopped",
    BotStatus.PAUSED: "paused",
    BotStatus.ERROR: "error",
    BotStatus.FINISHED: "finished",
}
_INDICATORS: dict[str, Callable[[int], Any]] = {"sma": SMA, "ema": EMA, "rsi": RSI}

#: What a watcher found: the alert fields, and the chain depth for ``task_result``.
Hit = tuple[dict[str, str], int]


def _side_of(value: Decimal, level: Decimal) -> int:
    return (value > level) - (value < level)


@dataclass
class _Watch:
    """One trigger's state; ``observe`` returns a hit when the trigger fires."""

    task_id: str
    trigger: Trigger
    last_fired: dict[str, datetime] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        return self.trigger.config

    def observe(self, event: Event) -> Hit | None:
        raise NotImplementedError

    def _market_key(self, event: BarClosed) -> str | None:
        """The series a bar belongs to, or None when this trigger does not watch it."""
        wanted = self.config.get("bot_id")
        if event.symbol != self.config["symbol"] or (wanted and event.bot_id != wanted):
            return None
        return f"{event.bot_id}|{event.venue}"

    def _cooled(self, key: str, when: datetime) -> bool:
        last = self.last_fired.get(key)
        cooldown = timedelta(seconds=int(self.config.get("cooldown_seconds") or 0))
        return last is None or when - last >= cooldown

    def _hit(self, key: str, event: BarClosed, **extra: str) -> Hit | None:
        if not self._cooled(key, event.ts):
            return None
        self.last_fired[key] = event.ts
        fields = {"symbol": event.symbol, "price": format(event.candle.close, "f")}
        if event.bot_id:
            fields["bot_id"] = event.bot_id
        return {**fields, **extra}, 0


@dataclass
class _PriceCross(_Watch):
    last: dict[str, Decimal] = field(default_factory=dict)

    def observe(self, event: Event) -> Hit | None:
        if not isinstance(event, BarClosed) or (key := self._market_key(event)) is None:
            return None
        price, level = event.candle.close, Decimal(str(self.config["level"]))
        before, self.last[key] = self.last.get(key), price
        if before is None:
            return None
        up = before < level <= price
        down = before > level >= price
        direction = str(self.config.get("direction", "any"))
        if (up and direction != "down") or (down and direction != "up"):
            return self._hit(key, event, direction="up" if up else "down")
        return None


@dataclass
class _PriceMove(_Watch):
    window: dict[str, deque[tuple[datetime, Decimal]]] = field(default_factory=dict)

    def observe(self, event: Event) -> Hit | None:
        if not isinstance(event, BarClosed) or (key := self._market_key(event)) is None:
            return None
        price, span = event.candle.close, timedelta(seconds=int(self.config["window_seconds"]))
        points = self.window.setdefault(key, deque())
        while points and event.ts - points[0][0] > span:
            points.popleft()
        points.append((event.ts, price))
        low, high = min(p for _, p in points), max(p for _, p in points)
        share = Decimal(str(self.config["percent"])) / 100
        direction = str(self.config.get("direction", "any"))
        up = direction != "down" and low > 0 and price >= low * (1 + share)
        down = direction != "up" and price <= high * (1 - share)
        if not (up or down):
            return None
        base = low if up else high
        move = (price - base) / base * 100 if base else Decimal(0)
        points.clear()
        points.append((event.ts, price))
        return self._hit(key, event, move_pct=format(move.quantize(Decimal("0.01")), "f"))


@dataclass
class _Indicator(_Watch):
    state: dict[str, tuple[Any, int | None]] = field(default_factory=dict)

    def observe(self, event: Event) -> Hit | None:
        if not isinstance(event, BarClosed) or (key := self._market_key(event)) is None:
            return None
        config = self.config
        indicator, before = self.state.get(key) or (
            _INDICATORS[str(config.get("indicator", "sma"))](int(config.get("period", 14))),
            None,
        )
        indicator.update(event.candle.close)
        if not indicator.ready:
            self.state[key] = (indicator, before)
            return None
        value = Decimal(repr(indicator.value))
        side = _side_of(value, Decimal(str(config["value"])))
        self.state[key] = (indicator, side)
        condition = str(config.get("condition", "crosses_above"))
        wanted = 1 if condition.endswith("above") else -1
        crossed = side == wanted and before is not None and before != wanted
        became = side == wanted and before != wanted
        if crossed or (became and not condition.startswith("crosses")):
            return self._hit(key, event, indicator=format(value.quantize(Decimal("0.0001")), "f"))
        return None


@dataclass
class _BotEvent(_Watch):
    last: dict[str, str] = field(default_factory=dict)

    def observe(self, event: Event) -> Hit | None:
        if not isinstance(event, BotStatusChanged):
            return None
        wanted = self.config.get("bot_id")
        name = _BOT_EVENT.get(event.status)
        if name is None or (wanted and event.bot_id != wanted):
            return None
        if self.last.get(event.bot_id) == name:
            return None  # the same status again (a resumed bot says it runs)
        self.last[event.bot_id] = name
        if self.config.get("event", "any") not in ("any", name):
            return None
        fields = {"bot_id": event.bot_id, "bot": event.name, "event": name}
        if event.error:
            fields["error"] = event.error
        return fields, 0


@dataclass
class _BotPnl(_Watch):
    peaks: dict[str, Decimal] = field(default_factory=dict)
    armed: dict[tuple[str, str], bool] = field(default_factory=dict)

    def observe(self, event: Event) -> Hit | None:
        if not isinstance(event, PortfolioChanged) or event.bot_id is None:
            return None
        wanted = self.config.get("bot_id")
        if wanted and event.bot_id != wanted:
            return None
        pnl = event.realized_pnl + event.unrealized_pnl
        peak = self.peaks[event.bot_id] = max(
            self.peaks.get(event.bot_id, event.equity), event.equity
        )
        drawdown = (peak - event.equity) / peak * 100 if peak > 0 else Decimal(0)
        measured = {"drawdown_pct": drawdown, "pnl_below": -pnl, "pnl_above": pnl}
        for name, value in measured.items():
            limit = self.config.get(name)
            if limit is None:
                continue
            key = (event.bot_id, name)
            threshold = Decimal(str(limit))
            if value >= (-threshold if name == "pnl_below" else threshold):
                if self.armed.get(key, True):
                    self.armed[key] = False
                    return {
                        "bot_id": event.bot_id, "threshold": name,
                        "pnl": format(pnl, "f"), "equity": format(event.equity, "f"),
                        "drawdown_pct": format(drawdown.quantize(Decimal("0.01")), "f"),
                    }, 0  # fmt: skip
            else:
                self.armed[key] = True
        return None


@dataclass
class _TaskResult(_Watch):
    def observe(self, event: Event) -> Hit | None:
        if not isinstance(event, TaskRunChanged) or event.task_id != self.config["task_id"]:
            return None
        outcome = {RunStatus.SUCCEEDED: "success", RunStatus.FAILED: "failure"}.get(event.status)
        if outcome is None or self.config.get("on", "success") not in ("any", outcome):
            return None
        fields = {"task": event.task_name, "run_id": str(event.run_id), "outcome": outcome}
        return fields, event.depth + 1


_KINDS: dict[TriggerKind, Callable[[str, Trigger], _Watch]] = {
    TriggerKind.PRICE_CROSS: _PriceCross,
    TriggerKind.PRICE_MOVE: _PriceMove,
    TriggerKind.INDICATOR: _Indicator,
    TriggerKind.BOT_EVENT: _BotEvent,
    TriggerKind.BOT_PNL: _BotPnl,
    TriggerKind.TASK_RESULT: _TaskResult,
}
_EVENTS: dict[TriggerKind, type[Event]] = {
    TriggerKind.PRICE_CROSS: BarClosed,
    TriggerKind.PRICE_MOVE: BarClosed,
    TriggerKind.INDICATOR: BarClosed,
    TriggerKind.BOT_EVENT: BotStatusChanged,
    TriggerKind.BOT_PNL: PortfolioChanged,
    TriggerKind.TASK_RESULT: TaskRunChanged,
}


class EventTriggers:
    """Watches the bus for the event triggers of every enabled task."""

    def __init__(self, tasks: TaskService, bus: EventBus) -> None:
        self._tasks = tasks
        self._bus = bus
        self._watches: dict[str, list[_Watch]] = {}
        self._subscriptions: dict[type[Event], Callable[[], None]] = {}
        self._running = False

    def start(self) -> None:
        self._running = True
        for task in self._tasks.list():
            self.task_changed(task, task.id)

    def stop(self) -> None:
        self._running = False
        self._watches.clear()
        self._resubscribe()

    def task_changed(self, task: Task | None, task_id: str) -> None:
        """Watch the task's event triggers afresh (none when it is disabled or gone)."""
        if not self._running:
            return
        triggers = [] if task is None else task.active_triggers(*EVENTFUL)
        watches = [_KINDS[t.kind](task_id, t) for t in triggers]
        if watches:
            self._watches[task_id] = watches
        else:
            self._watches.pop(task_id, None)
        self._resubscribe()

    @property
    def watching(self) -> set[type[Event]]:
        return set(self._subscriptions)

    def _resubscribe(self) -> None:
        wanted = {_EVENTS[w.trigger.kind] for ws in self._watches.values() for w in ws}
        for event_type in set(self._subscriptions) - wanted:
            self._subscriptions.pop(event_type)()
        for event_type in wanted - set(self._subscriptions):
            self._subscriptions[event_type] = self._bus.subscribe(event_type, self._on_event)

    def _on_event(self, event: Event) -> None:
        for task_id, watches in list(self._watches.items()):
            for watch in watches:
                if not isinstance(event, _EVENTS[watch.trigger.kind]):
                    continue
                hit = watch.observe(event)
                if hit is not None:
                    self._fire(task_id, watch.trigger, *hit)

    def _fire(self, task_id: str, trigger: Trigger, fields: dict[str, str], depth: int) -> None:
        alert = Alert(
            format="event",
            fields={"event": trigger.kind.value, **fields},
            symbol=fields.get("symbol"),
            bot_id=fields.get("bot_id"),
            price=Decimal(fields["price"]) if "price" in fields else None,
        )
        cause = f"event:{trigger.kind.value}"
        if trigger.kind is TriggerKind.TASK_RESULT:
            cause = f"chain:{fields['run_id']}"
        log.info("task %s fires on %s", task_id, cause)
        self._tasks.fire(task_id, trigger.id, cause, alert=alert, depth=depth)
