"""Checking a webhook alert before it may run anything: its proof, its age, its identity.

The proof is the trigger's secret: in the body (TradingView cannot sign) or as an
``X-Signature: sha256=<hex>`` HMAC-SHA256 of the raw body; both are compared in
constant time. The age comes from the alert's own time (``{{timenow}}``). The identity
(``fingerprint``) is the same for the same alert however its bytes are spaced, and
differs per hook; the task service stores it to run each alert once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from task_station.domain.errors import AuthenticationError, ValidationError
from task_station.domain.tasks import Alert

#: The largest webhook body read; TradingView alerts are a few hundred bytes.
MAX_WEBHOOK_BYTES = 64 * 1024
SIGNATURE_HEADERS = ("x-signature", "x-hub-signature-256", "x-task-signature")


def authenticate(
    mode: str, secret: str | None, body: bytes, alert: Alert, headers: Mapping[str, str]
) -> None:
    """Refuse the alert unless it proves ``secret`` (``mode``: any, body or hmac).
    ``headers`` have lower-case names."""
    if not secret:
        raise AuthenticationError(
            "this webhook has no secret in the station's vault; set a new one on its trigger"
        )
    signature = next((headers[h] for h in SIGNATURE_HEADERS if h in headers), None)
    if signature is not None and mode != "body":
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        given = signature.strip().removeprefix("sha256=").lower()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise AuthenticationError("the signature does not match the body and secret")
        return
    if mode == "hmac":
        raise AuthenticationError("this webhook needs an X-Signature (HMAC-SHA256) header")
    if not hmac.compare_digest((alert.secret or "").encode(), secret.encode()):
        raise AuthenticationError("wrong or missing secret in the alert")


def check_age(alert: Alert, max_age: object, now: datetime) -> None:
    """Refuse an alert older (or further ahead) than ``max_age`` seconds (None: any)."""
    if max_age is None:
        return
    if alert.timestamp is None:
        raise ValidationError(
            'the alert carries no time: add "time": "{{timenow}}" to the TradingView message '
            "(or time=... to a text alert), or turn the trigger's staleness check off"
        )
    age = (now - alert.timestamp).total_seconds()
    if abs(age) > float(str(max_age)):
        when = "old" if age > 0 else "ahead of the station's clock"
        raise ValidationError(
            f"the alert is stale: its time {alert.timestamp.isoformat()} is {abs(age):.0f} s "
            f"{when}, more than the {max_age} s allowed; check the sender's clock"
        )


def fingerprint(hook_id: str, alert: Alert) -> str:
    return hashlib.sha256(f"{hook_id}:{alert.fingerprint()}".encode()).hexdigest()
