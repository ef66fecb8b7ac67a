"""Reading webhook alerts: TradingView alert JSON, 3Commas-style signals, key=value text.

Pure functions: bytes in, an ``Alert`` out, or ``ValidationError`` saying what is wrong
with the body (never echoing a secret). Whatever the format, the same names are
recognised (``action``/``side``, ``qty``/``contracts``, ``ticker``/``pair``, ``time``...)
and every field is kept as text for templates and the run's record; the secret
(``secret``, ``passphrase``, ``token``, 3Commas' ``email_token``) is taken out.

TradingView sends the alert message as typed, with its placeholders filled, e.g.
``{"secret": "...", "action": "{{strategy.order.action}}", "ticker": "{{ticker}}",
"qty": "{{strategy.order.contracts}}", "price": "{{close}}", "time": "{{timenow}}"}``.
3Commas signals look like ``{"message_type": "bot", "bot_id": 123, "email_token":
"...", "delay_seconds": 0, "pair": "USDT_BTC", "action": "enter_long"}``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote_plus

from task_station.domain.errors import ValidationError
from task_station.domain.tasks import Alert

MAX_FIELDS = 200
MAX_DEPTH = 5
MAX_KEY, MAX_VALUE = 100, 4000

SECRET_KEYS = ("secret", "passphrase", "token", "email_token", "webhook_secret")
TIME_KEYS = ("time", "timenow", "timestamp", "ts", "alert_time")
SIDE_KEYS = ("side", "strategy.order.action", "order_action", "action", "direction")
COMMAND_KEYS = ("action", "command", "signal")
QUANTITY_KEYS = ("quantity", "qty", "contracts", "strategy.order.contracts", "amount", "size")
PRICE_KEYS = ("price", "limit_price", "order_price", "strategy.order.price", "close")
SYMBOL_KEYS = ("symbol", "ticker", "pair")
BOT_KEYS = ("bot_id", "bot")
TYPE_KEYS = ("order_type", "type")
THREE_COMMAS_KEYS = ("message_type", "email_token", "delay_seconds")

_BUY = {"buy", "long", "enter_long", "exit_short", "close_short", "cover"}
_SELL = {"sell", "short", "enter_short", "exit_long", "close_long"}
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_TOKENS = re.compile(r"[\s&;,]+")


def parse_alert(body: bytes, content_type: str | None = None) -> Alert:
    """Read an alert in any of the supported formats."""
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValidationError("the alert is not UTF-8 text") from None
    if not text:
        raise ValidationError("the alert is empty")
    if text.startswith(("{", "[")) or "json" in (content_type or "").lower():
        raw = _json_fields(text)
        fmt = "3commas" if any(k in raw for k in THREE_COMMAS_KEYS) else "tradingview"
    else:
        raw, fmt = _text_fields(text), "text"
    return _alert(fmt, raw)


def _json_fields(text: str) -> dict[str, str]:
    try:
        document = json.loads(text, parse_float=str, parse_int=str, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise ValidationError(f"the alert is not valid JSON: {reason}") from None
    if not isinstance(document, dict):
        raise ValidationError("the alert must be a JSON object of name: value")
    fields: dict[str, str] = {}
    _flatten(document, "", fields, 0)
    return fields


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number the station accepts")


def _flatten(value: Any, prefix: str, out: dict[str, str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValidationError(f"the alert nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}{_key(str(key))}.", out, depth + 1)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}{index}.", out, depth + 1)
        return
    if value is None:
        return
    _put(out, prefix[:-1], "true" if value is True else "false" if value is False else str(value))


def _text_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for token in _TOKENS.split(text):
        if not token:
            continue
        key, sep, value = token.partition("=")
        if not sep:
            shown = token if len(token) <= 20 else token[:20] + "..."
            raise ValidationError(
                f"the alert is neither JSON nor key=value text: {shown!r} has no '='"
            )
        _put(fields, _key(unquote_plus(key)), unquote_plus(value))
    return fields


def _key(key: str) -> str:
    if not _KEY.match(key) or len(key) > MAX_KEY:
        shown = key if len(key) <= 20 else key[:20] + "..."
        raise ValidationError(
            f"the alert has a field named {shown!r}: names are letters, digits, _ . -"
        )
    return key


def _put(fields: dict[str, str], key: str, value: str) -> None:
    if len(value) > MAX_VALUE:
        raise ValidationError(f"the alert's field {key!r} is longer than {MAX_VALUE} characters")
    fields[key.lower()] = value
    if len(fields) > MAX_FIELDS:
        raise ValidationError(f"the alert has more than {MAX_FIELDS} fields")


def _alert(fmt: str, raw: dict[str, str]) -> Alert:
    secret = next((raw.pop(k) for k in SECRET_KEYS if k in raw), None)
    for key in SECRET_KEYS:  # a second secret field must not reach the record either
        raw.pop(key, None)
    side_word = _first(raw, SIDE_KEYS)
    return Alert(
        format=fmt,
        fields=raw,
        secret=secret,
        timestamp=_timestamp(raw),
        side=_side(side_word),
        quantity=_number(raw, QUANTITY_KEYS),
        price=_number(raw, PRICE_KEYS),
        symbol=_symbol(_first(raw, SYMBOL_KEYS)),
        bot_id=_first(raw, BOT_KEYS),
        order_type=_order_type(_first(raw, TYPE_KEYS)),
        command=_first(raw, COMMAND_KEYS),
    )


def _first(raw: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((raw[k].strip() for k in keys if raw.get(k, "").strip()), None)


def _side(word: str | None) -> str | None:
    if word is None:
        return None
    lowered = word.lower()
    return "buy" if lowered in _BUY else "sell" if lowered in _SELL else None


def _number(raw: dict[str, str], keys: tuple[str, ...]) -> Decimal | None:
    key = next((k for k in keys if raw.get(k, "").strip()), None)
    if key is None:
        return None
    try:
        value = Decimal(raw[key].strip())
    except InvalidOperation:
        raise ValidationError(f"the alert's {key} {raw[key][:30]!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValidationError(f"the alert's {key} must be a number of 0 or more")
    return value


def _timestamp(raw: dict[str, str]) -> datetime | None:
    key = next((k for k in TIME_KEYS if raw.get(k, "").strip()), None)
    if key is None:
        return None
    text = raw[key].strip()
    try:
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
            return datetime.fromtimestamp(seconds / 1000 if seconds > 1e11 else seconds, UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise ValidationError(
            f"the alert's {key} {text[:40]!r} is not a time: send ISO 8601 "
            "(TradingView's {{timenow}}) or seconds since 1970"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _symbol(text: str | None) -> str | None:
    """``BINANCE:BTCUSDT`` -> ``BTCUSDT``; 3Commas' ``USDT_BTC`` -> ``BTC/USDT``."""
    if text is None:
        return None
    name = text.split(":")[-1].upper()
    if "_" in name and "/" not in name:
        quote, _, base = name.partition("_")
        return f"{base}/{quote}" if base and quote else name
    return name


def _order_type(text: str | None) -> str | None:
    lowered = None if text is None else text.lower()
    return lowered if lowered in ("market", "limit") else None
