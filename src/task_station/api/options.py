"""The API's hardening options, taken from the ``TASK_API_*`` settings."""

from __future__ import annotations

from dataclasses import dataclass

from task_station.config import Settings


@dataclass(frozen=True, slots=True)
class ApiOptions:
    """CORS origins, the per-client rate limit and the largest request body."""

    cors_origins: tuple[str, ...] = ()
    rate_per_second: float = 20.0
    burst: int = 100
    max_request_bytes: int = 1024 * 1024
    ws_queue_size: int = 1024
    #: How often a WebSocket re-checks its session (a revoked one is closed).
    ws_recheck_seconds: float = 15.0
    #: How often the ``health`` topic's readiness is checked (sent on change).
    ws_health_seconds: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiOptions:
        return cls(
            cors_origins=tuple(settings.api_cors_origins),
            rate_per_second=settings.api_rate_limit_per_second,
            burst=settings.api_rate_limit_burst,
            max_request_bytes=settings.api_max_request_bytes,
        )
