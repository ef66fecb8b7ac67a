"""The one logging configuration, with secret redaction on every record."""

from __future__ import annotations

import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path

# The masking rules live in ``redaction`` (the audit trail and the API use them too).
from task_station.redaction import redact

__all__ = ["JsonLinesFormatter", "RedactingFilter", "configure_logging", "redact"]


class RedactingFilter(logging.Filter):
    """Render the message once, redact it, and drop the args so nothing leaks later."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse ``exc_text``: render the traceback once, masked.
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()


#: Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonLinesFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, and the
    exception and ``extra=`` fields when present, all redacted like the message."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = redact(value if isinstance(value, str) else repr(value))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    level: str = "INFO",
    log_file: Path | None = None,
    *,
    max_bytes: int = 10 * 1024 * 1024,
    backups: int = 5,
) -> None:
    """Install the station's handlers on the root logger (idempotent).

    The console gets plain text; ``log_file`` (if given) gets JSON lines, rotated at
    ``max_bytes`` with ``backups`` older files kept (``.1`` the newest).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_task_station", False):
            root.removeHandler(handler)
            handler.close()
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handlers: list[logging.Handler] = [console]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        rotating.setFormatter(JsonLinesFormatter())
        handlers.append(rotating)
    for handler in handlers:
        handler.addFilter(RedactingFilter())
        handler._task_station = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
