"""Secret redaction, shared by the log handlers, the audit trail and the API's errors.

Two nets catch a secret before it leaves the process:

* **patterns**: anything that *looks* like a credential (``password=...``, a bearer
  token, a JWT, the password in a URL) is masked wherever it appears;
* **known secrets**: the vault registers every secret value it stores or reads
  (``remember_secret``), and any later occurrence of that exact string is masked, whatever
  its shape. A secret is therefore masked even when it travels in free text that no
  pattern recognizes (an exception message, a strategy's log line).

It lives at the package root beside ``logging_setup`` because persistence (the audit
trail) and security (the vault) both use it, and neither may import the other.
"""

from __future__ import annotations

import re
import threading

MASK = "***"
#: Shorter values are not remembered: masking every "1234" in the logs helps no one.
MIN_SECRET_LENGTH = 8
#: An upper bound on remembered secrets, so a runaway caller cannot grow it forever.
MAX_SECRETS = 10_000

_PATTERNS = [
    re.compile(
        r"(?i)(password|passwd|secret|api[_-]?key|token|authorization|private[_-]?key)"
        r"(\s*[=:]\s*|\"\s*:\s*\")([^\s\",&]+)"
    ),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]{8,})"),
    re.compile(r"(?i)(://[^:/@\s]+:)([^@\s]+)(@)"),
]
#: A compact JWT (three base64url parts, the first one starting like ``{"``).
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")

_lock = threading.Lock()
_known: set[str] = set()
_known_pattern: re.Pattern[str] | None = None


def remember_secret(value: str | None) -> None:
    """Mask ``value`` from now on wherever ``redact`` runs (the vault calls this)."""
    global _known_pattern
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _known or len(_known) >= MAX_SECRETS:
            return
        _known.add(value)
        # Longest first, so a secret containing another one is masked whole.
        ordered = sorted(_known, key=len, reverse=True)
        _known_pattern = re.compile("|".join(re.escape(v) for v in ordered))


def forget_secrets() -> None:
    """Forget every remembered secret (tests that start a fresh station)."""
    global _known_pattern
    with _lock:
        _known.clear()
        _known_pattern = None


def redact(text: str) -> str:
    """Mask anything in ``text`` that looks like, or is known to be, a secret."""
    known = _known_pattern
    if known is not None:
        text = known.sub(MASK, text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _JWT.sub(MASK, text)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return _PATTERNS[2].sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
