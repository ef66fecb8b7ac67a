"""The OpenAPI document, told the truth about errors and access.

FastAPI documents a 422 body that the station never sends (its own validation schema)
and no other error. Here every operation gets the one error body for each status it can
answer with, the public routes lose the bearer requirement, and each operation says
which role it needs, so clients (and schemathesis) can rely on the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from task_station.api.policy import Access, access_for

_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
_ERROR_SCHEMA = {
    "title": "ErrorOut",
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "title": "Error", "description": "the error's name"},
        "detail": {"type": "string", "title": "Detail", "description": "what to do next"},
    },
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}}
_COMMON = {
    "400": "the request cannot be carried out",
    "404": "no such record",
    "409": "the request clashes with the current state",
    "422": "invalid parameters or body",
    "429": "too many requests or failed logins: wait Retry-After seconds",
    "500": "the station failed; its log says why",
    "502": "an exchange or chain failed",
    "503": "a component (the vault, the database) is unavailable",
}
_PROTECTED = {
    "401": "missing, invalid, expired or revoked token",
    "403": "the role does not allow it",
}
_WITH_BODY = {"413": "the request body is too large"}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _error(description: str, status: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ERROR_REF}},
    }
    if status == "429":
        response["headers"] = _RETRY_AFTER
    return response


def _document(operation: dict[str, Any], method: str, path: str) -> None:
    access = access_for(method, path)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    errors = dict(_COMMON)
    if access is not Access.PUBLIC:
        errors.update(_PROTECTED)
    elif method != "GET":  # a login, a refresh or a webhook can fail its own credentials
        errors["401"] = "wrong credentials, refresh token or signature"
    if "requestBody" in operation:
        errors.update(_WITH_BODY)
    for status, description in errors.items():
        known = responses.get(status)
        if known is None or status == "422":
            responses[status] = _error(description, status)
        elif "content" not in known:
            known["content"] = {"application/json": {"schema": _ERROR_REF}}
    if access is Access.PUBLIC:
        operation["security"] = []
    note = f"Access: {access.value}."
    description = operation.get("description", "")
    operation["description"] = f"{description}\n\n{note}".strip()


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the corrected document (built once, on demand)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["ErrorOut"] = _ERROR_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for path, item in schema.get("paths", {}).items():
            for method in _METHODS:
                if method in item:
                    _document(item[method], method.upper(), path)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]
