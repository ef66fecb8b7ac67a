"""Typed, frozen settings from the environment (prefix ``TASK_``) with safe defaults."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

from platformdirs import user_data_dir
from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_data_dir() -> Path:
    return Path(user_data_dir("task-station", "TASK Station"))


class Settings(BaseSettings):
    """Everything the composition root needs to build the station.

    Secrets are never settings: they live in the keyring and settings only name them.
    """

    model_config = SettingsConfigDict(env_prefix="TASK_", extra="forbid", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then ``TASK_*`` variables, then the settings file (what the
        first-run wizard and the Settings dialog saved, see ``settings_file``)."""
        from task_station.settings_file import config_file

        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml)

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the database, market data and logs live.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. Default: SQLite in data_dir.",
    )
    api_host: str = Field(default="127.0.0.1", description="Interface the local API binds to.")
    api_port: Annotated[int, Field(ge=0, le=65535)] = Field(
        default=8765, description="API port (0: any free port)."
    )
    api_enabled: bool = Field(default=True, description="Serve the REST/WS API alongside the GUI.")
    api_allow_remote: bool = Field(
        default=False,
        description="Let the API bind to a non-loopback api_host (put TLS in front of it: "
        "see the README's 'Serving beyond this machine').",
    )
    api_cors_origins: list[str] = Field(
        default_factory=list,
        description='Browser origins allowed to call the API (CORS), e.g. ["http://localhost:3000"].',
    )
    api_rate_limit_per_second: Annotated[float, Field(gt=0, le=100_000)] = Field(
        default=20.0, description="Sustained requests per second per client (user or address)."
    )
    api_rate_limit_burst: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=100, description="Requests a client may make at once before the rate applies."
    )
    api_max_request_bytes: Annotated[int, Field(ge=1024, le=1024**3)] = Field(
        default=1024 * 1024, description="Largest request body the API accepts (413 beyond)."
    )
    token_ttl_minutes: Annotated[int, Field(ge=1, le=60 * 24)] = Field(
        default=15,
        description="Lifetime of an API access token; clients renew it with their refresh token.",
    )
    session_ttl_minutes: Annotated[int, Field(ge=5, le=60 * 24 * 90)] = Field(
        default=7 * 24 * 60,
        description="How long a login lasts: its refresh tokens stop working after this.",
    )
    bcrypt_rounds: Annotated[int, Field(ge=4, le=16)] = Field(
        default=12, description="bcrypt cost factor."
    )
    keyring_backend: str = Field(
        default="auto",
        description="'auto' (OS keyring, else encrypted file), 'cryptfile' or 'os'.",
    )
    keyring_password: str | None = Field(
        default=None,
        description="Master password of the encrypted-file keyring (headless servers); the GUI asks for it.",
        repr=False,
    )
    demo_pace_seconds: Annotated[float, Field(ge=0, le=60)] = Field(
        default=0.5, description="Seconds between bars for demo bots replaying synthetic data."
    )
    replay_fast_forward_bars: Annotated[int, Field(ge=0, le=1_000_000)] = Field(
        default=0,
        description="Bars a replayed feed plays unpaced before pacing starts (the demo uses 400).",
    )
    log_level: str = Field(default="INFO", description="Root log level.")
    log_file_max_bytes: Annotated[int, Field(ge=64 * 1024)] = Field(
        default=10 * 1024 * 1024,
        description="Size at which the JSON-lines log file in data_dir/logs is rotated.",
    )
    log_file_backups: Annotated[int, Field(ge=0, le=100)] = Field(
        default=5, description="Rotated log files kept (station.jsonl.1 is the newest)."
    )
    simulator_url: str = Field(
        default="http://127.0.0.1:8765",
        description="Where `task-station simulator` listens: the venue named 'simulator' in "
        "market-data downloads (its history is stored under that name, never as binance).",
    )
    # Station-wide risk limits, summed across all bots (unset: no limit).
    risk_max_position: Annotated[Decimal, Field(gt=0)] | None = Field(
        default=None, description="Most base units held per symbol across all bots."
    )
    risk_max_order_notional: Annotated[Decimal, Field(gt=0)] | None = Field(
        default=None, description="Largest single order, in the quote currency."
    )
    risk_max_open_orders: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Most orders open at once across all bots."
    )
    risk_max_daily_loss: Annotated[Decimal, Field(gt=0)] | None = Field(
        default=None,
        description="Most quote currency all bots together may lose since 00:00 UTC (pauses).",
    )
    risk_max_drawdown: Annotated[Decimal, Field(gt=0, lt=1)] | None = Field(
        default=None,
        description="Largest fall of total equity from its peak, as a fraction (pauses).",
    )
    risk_max_orders_per_minute: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Most orders sent per minute across all bots."
    )

    @field_validator("database_url")
    @classmethod
    def _normalize_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("simulator_url")
    @classmethod
    def _check_simulator_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")) or value[-3:] == "://":
            raise ValueError("simulator_url must look like http://127.0.0.1:8765")
        return value

    @property
    def market_data_dir(self) -> Path:
        """Where the candle, trade and order-book files live."""
        return self.data_dir / "market"

    @property
    def log_file(self) -> Path:
        """The station's JSON-lines log (rotated beside itself)."""
        return self.data_dir / "logs" / "station.jsonl"

    @property
    def sqlite_file(self) -> Path:
        """The embedded database's file (used when ``database_url`` is not set)."""
        return self.data_dir / "task-station.db"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.sqlite_file.as_posix()}"
