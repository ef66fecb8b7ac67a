"""Read the station's JSON-lines log: the newest entries, by level and text.

The log is written by ``logging_setup`` (already redacted); this only reads it, from
the end, so a large file costs no more than the tail asked for. Rotated files
(``station.jsonl.1`` ...) are read when the current one holds too few entries.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from task_station.domain.errors import ValidationError
from task_station.services.principal import Principal

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: The most entries one call returns.
MAX_ENTRIES = 5000
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class LogEntry:
    time: datetime | None
    level: str
    logger: str
    message: str
    exception: str | None = None

    @property
    def text(self) -> str:
        """The message with its traceback, if any."""
        return self.message if not self.exception else f"{self.message}\n{self.exception}"


class LogService:
    """The log at ``path`` (None: the station logs to the console only)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path

    @property
    def path(self) -> Path | None:
        return self._path

    def tail(
        self,
        actor: Principal | None = None,
        *,
        limit: int = 500,
        level: str | None = None,
        search: str | None = None,
    ) -> list[LogEntry]:
        """The newest ``limit`` entries at ``level`` or above containing ``search``,
        oldest first. Admins only when an ``actor`` asks (the GUI's own window too)."""
        if actor is not None:
            actor.require_admin("read the station log")
        if not 1 <= limit <= MAX_ENTRIES:
            raise ValidationError(f"limit must be between 1 and {MAX_ENTRIES}")
        floor = _level_number(level)
        needle = (search or "").strip().lower()
        found: list[LogEntry] = []
        for entry in self._newest_first():
            if _number(entry.level) < floor:
                continue
            if needle and needle not in f"{entry.logger} {entry.text}".lower():
                continue
            found.append(entry)
            if len(found) >= limit:
                break
        found.reverse()
        return found

    def _files(self) -> list[Path]:
        if self._path is None:
            return []
        rotated = sorted(
            self._path.parent.glob(self._path.name + ".*"),
            key=lambda p: int(p.suffix[1:]) if p.suffix[1:].isdigit() else 1_000_000,
        )
        return [self._path, *rotated]

    def _newest_first(self) -> Iterator[LogEntry]:
        for file in self._files():
            if file.is_file():
                for line in _lines_backwards(file):
                    entry = _parse(line)
                    if entry is not None:
                        yield entry


def _number(name: str) -> int:
    value = logging.getLevelName(name.upper())
    return value if isinstance(value, int) else logging.NOTSET


def _level_number(level: str | None) -> int:
    if level is None or not level.strip():
        return logging.NOTSET
    if level.strip().upper() not in LEVELS:
        raise ValidationError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
    return _number(level.strip())


def _parse(line: bytes) -> LogEntry | None:
    try:
        raw = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None  # a line cut by a crash, or not ours
    if not isinstance(raw, dict):
        return None
    try:
        when = datetime.fromisoformat(str(raw.get("time")))
    except ValueError:
        when = None
    exception = raw.get("exception")
    return LogEntry(
        time=when,
        level=str(raw.get("level", "INFO")),
        logger=str(raw.get("logger", "")),
        message=str(raw.get("message", "")),
        exception=str(exception) if exception else None,
    )


def _lines_backwards(path: Path) -> Iterator[bytes]:
    """The file's non-empty lines, last first, read in chunks from the end."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        position = handle.tell()
        rest = b""
        while position > 0:
            step = min(_CHUNK, position)
            position -= step
            handle.seek(position)
            block = handle.read(step) + rest
            lines = block.split(b"\n")
            rest = lines.pop(0)  # maybe the end of a line that began earlier
            for line in reversed(lines):
                if line.strip():
                    yield line
        if rest.strip():
            yield rest
