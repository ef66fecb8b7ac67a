"""Binance's request signing, verified the way the exchange does it.

The signature is HMAC-SHA256 of the query string followed by the request body (both
exactly as sent, the ``signature`` parameter removed), keyed with the API secret.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl

Json = dict[str, object]

BAD_SIGNATURE: Json = {"code": -1022, "msg": "Signature for this request is not valid."}
BAD_KEY: Json = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}


def strip_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` without its ``signature=`` parameter, and that signature."""
    parts = raw.split("&") if raw else []
    kept = [p for p in parts if not p.startswith("signature=")]
    sigs = [p.partition("=")[2] for p in parts if p.startswith("signature=")]
    return "&".join(kept), (sigs[0] if sigs else None)


def check_signature(
    query: str, body: str, api_key_header: str | None, api_key: str, api_secret: str
) -> Json | None:
    """None if the request is signed by our key, else Binance's error JSON."""
    if api_key_header is None or not hmac.compare_digest(api_key_header, api_key):
        return BAD_KEY
    q, sig_q = strip_signature(query)
    b, sig_b = strip_signature(body)
    signature = sig_q or sig_b
    if signature is None:
        return {"code": -1102, "msg": "Mandatory parameter 'signature' was not sent."}
    expected = hmac.new(api_secret.encode(), (q + b).encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, signature.lower()) else BAD_SIGNATURE


def params_of(query: str, body: str) -> dict[str, str]:
    """All request parameters, query and form body merged (body wins)."""
    merged = dict(parse_qsl(query, keep_blank_values=True))
    merged.update(parse_qsl(body, keep_blank_values=True))
    merged.pop("signature", None)
    return merged
