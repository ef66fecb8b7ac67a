"""Checking what a trader wrote into a trigger or an action, before anything is stored.

Each check returns the configuration normalized (defaults filled in, numbers as
``Decimal`` or ``int``) or raises ``ValidationError`` naming the trigger or action, the
key and what would be accepted. Unknown keys are refused: a typo must not be ignored.
Text values of actions may hold ``{{name}}`` placeholders, filled from the alert that
fired the run (``Alert.values``) when it runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO, to_decimal
from task_station.domain.tasks import Action, ActionKind, TriggerKind

MAX_RETRIES = 5
DEFAULT_RETRIES = 2
MIN_SECRET, MAX_SECRET = 16, 256
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?#]+$")
_BOT_EVENTS = ("started", "stopped", "paused", "error", "finished", "any")
_DIRECTIONS = ("up", "down", "any")


class _Reader:
    """Reads one configuration, naming it in every message; ``done`` refuses leftovers."""

    def __init__(self, where: str, config: Mapping[str, Any]) -> None:
        if not isinstance(config, Mapping):
            raise ValidationError(f"{where}: the configuration must be an object of name: value")
        self.where = where
        self._raw = dict(config)
        self.out: dict[str, Any] = {}

    def has(self, key: str) -> bool:
        return self._raw.get(key) is not None

    def text(self, key: str, *, default: str | None = None, max_len: int = 200) -> str | None:
        value = self._raw.pop(key, None)
        if value is None:
            value = default
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"{self.where}: {key} must be non-empty text")
        if len(value) > max_len:
            raise ValidationError(f"{self.where}: {key} has at most {max_len} characters")
        self.out[key] = value.strip()
        return str(self.out[key])

    def required_text(self, key: str, *, max_len: int = 200) -> str:
        value = self.text(key, max_len=max_len)
        if value is None:
            raise ValidationError(f"{self.where}: {key} is required")
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
        value = self._raw.pop(key, None)
        if value is None:
            value = default
        if value is None:
            return None
        text = str(value).strip().lower()
        if text not in allowed and "{{" not in text:
            raise ValidationError(f"{self.where}: {key} must be one of {', '.join(allowed)}")
        self.out[key] = text
        return text

    def integer(self, key: str, *, low: int, high: int, default: int | None = None) -> int | None:
        value = self._raw.pop(key, None)
        if value is None:
            value = default
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationError(f"{self.where}: {key} must be a whole number")
        try:
            number = int(value)
        except ValueError:
            raise ValidationError(f"{self.where}: {key} must be a whole number") from None
        if not low <= number <= high:
            raise ValidationError(f"{self.where}: {key} must be between {low} and {high}")
        self.out[key] = number
        return number

    def decimal(
        self, key: str, *, positive: bool = False, below: Decimal | None = None
    ) -> Decimal | None:
        value = self._raw.pop(key, None)
        if value is None:
            return None
        number = to_decimal(value, name=f"{self.where}: {key}")
        if positive and number <= ZERO:
            raise ValidationError(f"{self.where}: {key} must be positive, got {number}")
        if below is not None and number >= below:
            raise ValidationError(f"{self.where}: {key} must be below {below}, got {number}")
        self.out[key] = number
        return number

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._raw.pop(key, default)
        if not isinstance(value, bool):
            raise ValidationError(f"{self.where}: {key} must be true or false")
        self.out[key] = value
        return value

    def symbol(self, key: str = "symbol") -> str:
        value = self.required_text(key, max_len=64)
        Instrument.from_symbol(value)
        return value

    def raw(self, key: str) -> object:
        value = self._raw.pop(key, None)
        if value is not None:
            self.out[key] = value
        return value

    def done(self) -> dict[str, Any]:
        if self._raw:
            extra = ", ".join(sorted(map(str, self._raw)))
            known = ", ".join(sorted(self.out)) or "nothing"
            raise ValidationError(f"{self.where} does not take {extra} (it took {known})")
        return self.out


# -- triggers -------------------------------------------------------------------------


def _cron(r: _Reader) -> None:
    expression = r.required_text("expression", max_len=120)
    fields = expression.split()
    if len(fields) not in (5, 6) or not all(_CRON_FIELD.match(f) for f in fields):
        raise ValidationError(
            f"{r.where}: expression must be 5 crontab fields (minute hour day month "
            f"weekday, e.g. '*/5 * * * *') or 6 with seconds first ('*/10 * * * * *')"
        )
    r.out["expression"] = " ".join(fields)
    r.text("timezone", default="UTC", max_len=64)


def _interval(r: _Reader) -> None:
    if r.integer("seconds", low=1, high=366 * 86400) is None:
        raise ValidationError(f"{r.where}: seconds (how often it runs) is required")


def _webhook(r: _Reader) -> str | None:
    secret = r._raw.pop("secret", None)
    if secret is not None and (
        not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= MAX_SECRET
    ):
        raise ValidationError(
            f"{r.where}: the secret must have {MIN_SECRET} to {MAX_SECRET} characters"
        )
    r.choice("auth", ("any", "body", "hmac"), default="any")
    if "max_age_seconds" in r._raw and r._raw["max_age_seconds"] is None:
        r._raw.pop("max_age_seconds")
        r.out["max_age_seconds"] = None  # no staleness check: the alert carries no time
    else:
        r.integer("max_age_seconds", low=5, high=86400, default=300)
    r.integer("dedup_seconds", low=1, high=7 * 86400, default=600)
    return secret


def _market(r: _Reader) -> None:
    r.symbol()
    r.text("bot_id", max_len=64)
    r.integer("cooldown_seconds", low=0, high=7 * 86400, default=0)


def _price_cross(r: _Reader) -> None:
    _market(r)
    if r.decimal("level", positive=True) is None:
        raise ValidationError(f"{r.where}: level (the price to watch) is required")
    r.choice("direction", _DIRECTIONS, default="any")


def _price_move(r: _Reader) -> None:
    _market(r)
    if r.decimal("percent", positive=True, below=Decimal(1000)) is None:
        raise ValidationError(f"{r.where}: percent (how far the price moves) is required")
    if r.integer("window_seconds", low=1, high=30 * 86400) is None:
        raise ValidationError(f"{r.where}: window_seconds (within how long) is required")
    r.choice("direction", _DIRECTIONS, default="any")


def _indicator(r: _Reader) -> None:
    _market(r)
    r.choice("indicator", ("sma", "ema", "rsi"), default="sma")
    r.integer("period", low=2, high=1000, default=14)
    r.choice(
        "condition", ("above", "below", "crosses_above", "crosses_below"), default="crosses_above"
    )
    if r.decimal("value") is None:
        raise ValidationError(
            f"{r.where}: value (the level the indicator is compared with) is required"
        )


def _bot_event(r: _Reader) -> None:
    r.choice("event", _BOT_EVENTS, default="any")
    r.text("bot_id", max_len=64)


def _bot_pnl(r: _Reader) -> None:
    r.text("bot_id", max_len=64)
    drawdown = r.decimal("drawdown_pct", positive=True, below=Decimal(100))
    below = r.decimal("pnl_below")
    above = r.decimal("pnl_above")
    if drawdown is None and below is None and above is None:
        raise ValidationError(f"{r.where}: give drawdown_pct, pnl_below or pnl_above")


def _task_result(r: _Reader) -> None:
    r.required_text("task_id", max_len=64)
    r.choice("on", ("success", "failure", "any"), default="success")


_TRIGGERS: dict[TriggerKind, Callable[[_Reader], object]] = {
    TriggerKind.CRON: _cron,
    TriggerKind.INTERVAL: _interval,
    TriggerKind.WEBHOOK: _webhook,
    TriggerKind.PRICE_CROSS: _price_cross,
    TriggerKind.PRICE_MOVE: _price_move,
    TriggerKind.INDICATOR: _indicator,
    TriggerKind.BOT_EVENT: _bot_event,
    TriggerKind.BOT_PNL: _bot_pnl,
    TriggerKind.TASK_RESULT: _task_result,
}


def trigger_kind(value: object) -> TriggerKind:
    try:
        return TriggerKind(str(value).strip().lower())
    except ValueError:
        known = ", ".join(k.value for k in TriggerKind)
        raise ValidationError(f"unknown trigger kind {value!r}; use one of {known}") from None


def check_trigger(
    kind: object, config: Mapping[str, Any], where: str = "trigger"
) -> tuple[TriggerKind, dict[str, Any], str | None]:
    """The trigger's kind, its normalized configuration and (webhooks) the new secret
    taken out of it, which must go to the vault and never be stored with the task."""
    parsed = trigger_kind(kind)
    reader = _Reader(f"{where} ({parsed.value})", config)
    secret = _TRIGGERS[parsed](reader)
    return parsed, reader.done(), secret if isinstance(secret, str) else None


# -- actions --------------------------------------------------------------------------


def _bot(r: _Reader) -> None:
    r.text("bot_id", max_len=64)  # absent: the alert's bot_id, when it runs


def _pause(r: _Reader) -> None:
    _bot(r)
    r.text("reason", max_len=200)


def _place_order(r: _Reader) -> None:
    _bot(r)
    r.choice("side", ("buy", "sell"))
    r.choice("type", ("market", "limit"))
    r.decimal("quantity", positive=True)
    r.decimal("price", positive=True)


def _run_backtest(r: _Reader) -> None:
    r.required_text("strategy", max_len=128)
    params = r.raw("params")
    if params is not None and not isinstance(params, Mapping):
        raise ValidationError(f"{r.where}: params must be an object of name: value")
    r.required_text("data", max_len=1024)
    if r.decimal("cash", positive=True) is None:
        raise ValidationError(f"{r.where}: cash (the starting quote balance) is required")
    r.decimal("fee_bps")
    r.text("symbol", max_len=64)


def _notify(r: _Reader) -> None:
    r.required_text("title", max_len=200)
    body = r.raw("body")
    if body is None:
        r.out["body"] = ""
    elif not isinstance(body, str) or len(body) > 4000:
        raise ValidationError(f"{r.where}: body must be text of at most 4000 characters")
    r.text("kind", default="task", max_len=64)


def _call_webhook(r: _Reader) -> None:
    url = r.required_text("url", max_len=2048)
    if not re.match(r"^https?://[^\s/]+", url):
        raise ValidationError(f"{r.where}: url must start with http:// or https://")
    r.choice("method", ("post", "put", "patch", "get"), default="post")
    body = r.raw("body")
    if body is not None and not isinstance(body, Mapping | list | str):
        raise ValidationError(f"{r.where}: body must be an object, a list or text")
    headers = r.raw("headers")
    if headers is not None and (
        not isinstance(headers, Mapping)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        raise ValidationError(f"{r.where}: headers must be an object of name: text")
    r.integer("timeout_seconds", low=1, high=30, default=10)


_ACTIONS: dict[ActionKind, Callable[[_Reader], None]] = {
    ActionKind.START_BOT: _bot,
    ActionKind.STOP_BOT: _bot,
    ActionKind.PAUSE_BOT: _pause,
    ActionKind.RESUME_BOT: _bot,
    ActionKind.PLACE_ORDER: _place_order,
    ActionKind.CANCEL_ORDERS: _bot,
    ActionKind.CLOSE_POSITIONS: _bot,
    ActionKind.RUN_BACKTEST: _run_backtest,
    ActionKind.NOTIFY: _notify,
    ActionKind.CALL_WEBHOOK: _call_webhook,
}


def action_kind(value: object) -> ActionKind:
    try:
        return ActionKind(str(value).strip().lower())
    except ValueError:
        known = ", ".join(k.value for k in ActionKind)
        raise ValidationError(f"unknown action kind {value!r}; use one of {known}") from None


def check_action(kind: object, config: Mapping[str, Any], where: str = "action") -> Action:
    """The action with its configuration normalized (``retries`` filled in)."""
    parsed = action_kind(kind)
    reader = _Reader(f"{where} ({parsed.value})", config)
    _ACTIONS[parsed](reader)
    default = DEFAULT_RETRIES if parsed.retry_safe else 0
    retries = reader.integer("retries", low=0, high=MAX_RETRIES, default=default)
    if retries and not parsed.retry_safe:
        raise ValidationError(
            f"{reader.where}: is never retried (doing it twice could trade twice); "
            "set retries to 0 and chain a task on its failure instead"
        )
    reader.flag("continue_on_error")
    return Action(parsed, reader.done())
