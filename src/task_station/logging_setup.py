"""The one logging configuration, with secret redaction on every record."""

from __future__ import annotations

import logging
import re
from pathlib import Path

_PATTERNS = [
    re.compile(
        r"(?i)(password|passwd|secret|api[_-]?key|token|authorization|private[_-]?key)"
        r"(\s*[=:]\s*|\"\s*:\s*\")([^\s\",&]+)"
    ),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]{8,})"),
    re.compile(r"(?i)(://[^:/@\s]+:)([^@\s]+)(@)"),
]


def redact(text: str) -> str:
    """Mask anything that looks like a credential in ``text``."""
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}***", text)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    return _PATTERNS[2].sub(lambda m: f"{m.group(1)}***{m.group(3)}", text)


class RedactingFilter(logging.Filter):
    """Render the message once, redact it, and drop the args so nothing leaks later."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        return True


def configure_logging(level: str = "INFO", log_file: Path | None = None) -> None:
    """Install the station's handlers on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_task_station", False):
            root.removeHandler(handler)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(fmt)
        handler.addFilter(RedactingFilter())
        handler._task_station = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
