"""Alert parsers: TradingView JSON, 3Commas-style signals and key=value text read into one
``Alert``; anything else is refused with a ``ValidationError`` (fuzzed with hypothesis)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from task_station.automation.payloads import parse_alert
from task_station.domain.errors import ValidationError

TRADINGVIEW = {
    "secret": "s3cret-value-0123456789",
    "action": "buy",
    "ticker": "BINANCE:BTCUSDT",
    "qty": "0.015",
    "price": 65000.5,
    "time": "2024-05-01T12:30:00Z",
    "strategy": {"order": {"id": "Long", "comment": "breakout"}},
}


def test_tradingview_alert_is_read_and_its_secret_kept_apart() -> None:
    alert = parse_alert(json.dumps(TRADINGVIEW).encode(), "application/json")
    assert alert.format == "tradingview"
    assert alert.secret == "s3cret-value-0123456789"
    assert "secret" not in alert.fields and "s3cret" not in repr(alert)
    assert (alert.side, alert.quantity, alert.price) == (
        "buy",
        Decimal("0.015"),
        Decimal("65000.5"),
    )
    assert alert.symbol == "BTCUSDT"
    assert alert.timestamp == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert alert.fields["strategy.order.comment"] == "breakout"
    assert alert.values()["quantity"] == "0.015"


def test_three_commas_signal_maps_pair_action_and_email_token() -> None:
    signal = {
        "message_type": "bot", "bot_id": 4658234, "email_token": "tok-0123456789abcdef",
        "delay_seconds": 0, "pair": "USDT_ETH", "action": "exit_long", "timestamp": 1714566600,
    }  # fmt: skip
    alert = parse_alert(json.dumps(signal).encode())
    assert alert.format == "3commas" and alert.secret == "tok-0123456789abcdef"
    assert (alert.side, alert.command, alert.symbol) == ("sell", "exit_long", "ETH/USDT")
    assert alert.bot_id == "4658234"
    assert alert.timestamp == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def test_key_value_text_is_read_with_url_escapes() -> None:
    body = b"secret=abc0123456789xyz action=sell qty=2\nsymbol=ETH%2FUSDT&type=limit price=3100 time=1714566600000"
    alert = parse_alert(body, "text/plain")
    assert alert.format == "text" and alert.secret == "abc0123456789xyz"
    assert (alert.side, alert.quantity, alert.symbol) == ("sell", Decimal(2), "ETH/USDT")
    assert (alert.order_type, alert.price) == ("limit", Decimal(3100))
    assert alert.timestamp == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)  # milliseconds


def test_the_same_alert_spaced_differently_has_the_same_fingerprint() -> None:
    compact = parse_alert(json.dumps(TRADINGVIEW, separators=(",", ":")).encode())
    spaced = parse_alert(json.dumps(TRADINGVIEW, indent=4).encode())
    other = parse_alert(json.dumps({**TRADINGVIEW, "qty": "0.016"}).encode())
    assert compact.fingerprint() == spaced.fingerprint() != other.fingerprint()
    resent = parse_alert(json.dumps({**TRADINGVIEW, "secret": "another-secret-123456"}).encode())
    assert resent.fingerprint() == compact.fingerprint()  # the secret is not the alert


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"qty": "lots"}', "qty 'lots' is not a number"),
        (b'{"qty": "-1"}', "0 or more"),
        (b'{"time": "yesterday"}', "is not a time"),
        (b'{"price": NaN}', "not valid JSON"),
        (b"buy now please", "has no '='"),
        (b'{"a b": 1}', "names are letters"),
        (b'{"x": ' + b'{"x": ' * 7 + b"1" + b"}" * 8, "deeper than"),
    ],
)
def test_malformed_alerts_are_refused_saying_why(body: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_alert(body)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([None, "application/json", "text/plain"]))
def test_any_bytes_parse_or_fail_with_a_validation_error(
    body: bytes, content_type: str | None
) -> None:
    try:
        alert = parse_alert(body, content_type)
    except ValidationError:
        return
    assert alert.secret is None or alert.secret not in alert.fields.values()


_names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda n: n not in ("secret", "passphrase", "token", "email_token", "webhook_secret")
)
_scalars = st.one_of(
    st.text(max_size=20), st.integers(), st.booleans(), st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)  # fmt: skip
_documents = st.recursive(
    st.dictionaries(_names, _scalars, max_size=5),
    lambda inner: st.dictionaries(
        _names, st.one_of(_scalars, inner, st.lists(_scalars, max_size=3)), max_size=4
    ),
    max_leaves=20,
)


@settings(max_examples=80, deadline=None)
@given(_documents)
def test_any_json_object_is_read_or_refused_cleanly(document: dict[str, object]) -> None:
    body = json.dumps(document).encode()
    try:
        alert = parse_alert(body)
    except ValidationError:
        return  # e.g. a field called qty that is no number
    again = parse_alert(json.dumps(document, indent=2, sort_keys=True).encode())
    assert again.fingerprint() == alert.fingerprint()


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        _names, st.from_regex(r"[A-Za-z0-9._:/-]{1,12}", fullmatch=True), min_size=1, max_size=8
    )
)
def test_key_value_text_round_trips_its_fields(fields: dict[str, str]) -> None:
    text = " ".join(f"{k}={v}" for k, v in fields.items())
    try:
        alert = parse_alert(text.encode(), "text/plain")
    except ValidationError:
        return  # a qty, price or time that is not one
    assert alert.fields == fields
