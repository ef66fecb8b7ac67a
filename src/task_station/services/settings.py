"""Station settings as the faces see them: read by anyone logged in, changed by admins.

Changes go to the settings file (``settings_file``) and take effect at the next start:
the running station was built from the settings it started with, and rebuilding the
database engine, the API server or the risk limits under running bots is not something
to do from a dialog. Secrets are never settings (the keyring holds them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from task_station import settings_file
from task_station.config import Settings
from task_station.domain.clock import Clock
from task_station.domain.errors import ValidationError
from task_station.domain.ports import AuditLog
from task_station.services.principal import Principal

#: What the Settings dialog and ``/settings`` may change, in display order.
EDITABLE: tuple[str, ...] = (
    "api_enabled",
    "api_host",
    "api_port",
    "token_ttl_minutes",
    "database_url",
    "log_level",
    "demo_pace_seconds",
    "risk_max_position",
    "risk_max_order_notional",
    "risk_max_open_orders",
    "risk_max_daily_loss",
    "risk_max_drawdown",
    "risk_max_orders_per_minute",
)


@dataclass(frozen=True, slots=True)
class SettingView:
    name: str
    value: object
    saved: object  # what the settings file holds (None: not set there)
    description: str
    kind: str  # "bool", "int", "float", "decimal", "text"
    optional: bool


def _kind(name: str) -> tuple[str, bool]:
    annotation = str(Settings.model_fields[name].annotation)
    optional = "None" in annotation
    for token, kind in (
        ("bool", "bool"),
        ("int", "int"),
        ("float", "float"),
        ("Decimal", "decimal"),
    ):
        if token in annotation:
            return kind, optional
    return "text", optional


class SettingsService:
    def __init__(self, current: Settings, audit: AuditLog, clock: Clock, path: Path | None = None):
        self._current = current
        self._audit = audit
        self._clock = clock
        self._path = path

    def list(self) -> list[SettingView]:
        saved = settings_file.load(self._path)
        views = []
        for name in EDITABLE:
            field = Settings.model_fields[name]
            kind, optional = _kind(name)
            views.append(
                SettingView(
                    name, getattr(self._current, name), saved.get(name),
                    field.description or "", kind, optional,
                )
            )  # fmt: skip
        return views

    def update(self, actor: Principal, changes: Mapping[str, object]) -> Path:
        """Save ``changes`` (a value of None or "" clears an optional setting); they apply
        at the next start. Everything is checked first; a bad value changes nothing."""
        actor.require_admin("change station settings")
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise ValidationError(
                f"{', '.join(unknown)} cannot be changed here; editable: {', '.join(EDITABLE)}"
            )
        parsed: dict[str, object] = {}
        for name, raw in changes.items():
            parsed[name] = _parse(name, raw)
        path = settings_file.save(parsed, self._path)
        summary = ", ".join(f"{k}={'(cleared)' if v is None else v}" for k, v in parsed.items())
        self._audit.record(self._clock.now(), actor.username, "settings.update", str(path), summary)
        return path


def _parse(name: str, raw: object) -> object:
    kind, optional = _kind(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if not optional and kind != "text":
            raise ValidationError(f"{name} needs a value")
        return None
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text not in ("true", "false", "1", "0", "yes", "no"):
            raise ValidationError(f"{name} must be true or false, got {raw!r}")
        return text in ("true", "1", "yes")
    if kind == "int":
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ValidationError(f"{name} must be a whole number, got {raw!r}") from None
    if kind in ("float", "decimal"):
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValidationError(f"{name} must be a number, got {raw!r}") from None
        return float(number) if kind == "float" else str(number)
    return str(raw).strip()
