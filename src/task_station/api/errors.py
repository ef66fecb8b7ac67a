"""One place that turns the station's errors into HTTP answers.

Each class of the error tree is a policy, and each policy has one status code here, so
every route answers the same way without a try/except of its own. Bodies are always
``{"error": <class name>, "detail": <message>}`` and never echo the request: a login
body carries a password. Details pass through the redactor, so a secret that found its
way into an error message is masked; an unexpected exception answers 500 with a generic
detail (the traceback goes to the log, redacted).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from task_station.domain.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    SecretStoreError,
    TaskStationError,
    TooManyRequestsError,
    ValidationError,
    VenueError,
)
from task_station.redaction import redact

#: Most specific first: the first class in an error's MRO found here wins.
STATUS_BY_ERROR: dict[type[TaskStationError], int] = {
    ValidationError: 422,
    NotFoundError: 404,
    ConflictError: 409,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    SecretStoreError: 503,
    TooManyRequestsError: 429,
    VenueError: 502,  # the exchange, not the station, failed (credentials included)
    TaskStationError: 400,
}

log = logging.getLogger(__name__)
_BEARER = {"WWW-Authenticate": "Bearer"}


def status_for(exc: TaskStationError) -> int:
    """The HTTP status of a station error (400 for any class without its own policy)."""
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def error_response(
    status: int, error: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one error body: ``{"error": NAME, "detail": MESSAGE}`` (detail redacted)."""
    body = {"error": error, "detail": redact(detail)}
    return JSONResponse(body, status_code=status, headers=headers)


def error_name(status: int) -> str:
    """``Too Many Requests`` -> ``TooManyRequests``: the ``error`` of a plain HTTP error."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "HTTPError"
    return phrase.replace(" ", "").replace("-", "")


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """Name each bad field and what is wrong with it, without repeating its value."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "invalid JSON")
            parts.append(f"the request body is not valid JSON: {reason}")
            continue
        where = ".".join(loc) or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid value')}")
    return "; ".join(parts) or "invalid request"


async def _station_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TaskStationError)
    status = status_for(exc)
    headers = _BEARER if status == 401 else None
    if isinstance(exc, TooManyRequestsError):
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    return error_response(status, type(exc).__name__, str(exc), headers)


async def _request_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "ValidationError", describe_validation_errors(exc.errors()))


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, error_name(exc.status_code), str(exc.detail), headers)


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error in an API request", exc_info=exc)
    return error_response(
        500, "InternalError", "the station failed on this request; its log says why"
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(TaskStationError, _station_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
